{#- Customers' partner functions per sales organisation (KNVP); VE is the owning sales rep. -#}
with

partners as (
    {{ erp_latest('knvp', ['kunnr', 'vkorg', 'parvw']) }}
),

final as (
    select
        kunnr || '-' || vkorg || '-' || parvw as customer_partner_id,
        kunnr as customer_id,
        vkorg as sales_org,
        parvw as partner_function,
        nullif(pernr, '') as personnel_number
    from partners
)

select * from final
