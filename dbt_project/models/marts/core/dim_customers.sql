with

customers as (select * from {{ ref('int_customers') }}),

final as (
    select
        customer_id,
        customer_name,
        customer_name_zh,
        country_code,
        region_code,
        city,
        payment_terms_code,
        credit_limit,
        credit_limit_currency_code,
        owner_rep_id,
        created_date,
        is_deleted
    from customers
)

select * from final
