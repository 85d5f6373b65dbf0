{#- Customers, general data (KNA1), as known at the cutoff. -#}
with

customers as (
    {{ erp_latest('kna1', ['kunnr']) }}
),

final as (
    select
        kunnr as customer_id,
        name1 as customer_name,
        name2 as customer_name_zh,
        land1 as country_code,
        regio as region_code,
        ort01 as city,
        spras as language_key,
        -- KNA1-KONZS, the group key: the parent customer of a group (on the parent and its affiliates)
        nullif(trim(konzs), '') as group_customer_id,
        {{ sap_date('erdat') }} as created_date,
        coalesce(loevm = 'X', false) as is_deleted
    from customers
)

select * from final
