with

customers as (
    {{ erp_latest('kna1', ['kunnr']) }}
),

company as (
    {{ erp_latest('knb1', ['kunnr', 'bukrs']) }}
),

credit as (
    {{ erp_latest('knkk', ['kunnr', 'kkber']) }}
),

partners as (
    select * from ({{ erp_latest('knvp', ['kunnr', 'vkorg', 'parvw']) }}) as knvp
    where parvw = 'VE'
),

final as (
    select
        customers.kunnr as customer_id,
        customers.name1 as customer_name,
        customers.name2 as customer_name_zh,
        customers.land1 as country_code,
        customers.regio as region_code,
        customers.ort01 as city,
        company.zterm as payment_terms_code,
        cast(credit.klimk as numeric) as credit_limit,
        credit.waers as credit_limit_currency_code,
        partners.pernr as owner_rep_id,
        {{ sap_date('customers.erdat') }} as created_date,
        coalesce(customers.loevm = 'X', false) as is_deleted
    from customers
    left join company on customers.kunnr = company.kunnr and company.bukrs = '1000'
    left join credit on customers.kunnr = credit.kunnr and credit.kkber = '1000'
    left join partners on customers.kunnr = partners.kunnr
)

select * from final
