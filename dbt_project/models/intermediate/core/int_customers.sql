{#- One row per customer (grain: customer_id) with its company code 1000 payment terms, credit limit in
    control area 1000 and owning sales rep (partner function VE in sales org 1000), at the cutoff. -#}
with

customers as (select * from {{ ref('stg_erp__customers') }}),

company_codes as (
    select * from {{ ref('stg_erp__customer_company_codes') }}
    where company_code = '1000'
),

credit_limits as (
    select * from {{ ref('stg_erp__customer_credit_limits') }}
    where credit_control_area = '1000'
),

owners as (
    select * from {{ ref('stg_erp__customer_partners') }}
    where partner_function = 'VE' and sales_org = '1000'
),

final as (
    select
        customers.customer_id,
        customers.customer_name,
        customers.customer_name_zh,
        customers.country_code,
        customers.region_code,
        customers.city,
        company_codes.payment_terms_code,
        credit_limits.credit_limit,
        credit_limits.currency_code as credit_limit_currency_code,
        owners.personnel_number as owner_rep_id,
        customers.created_date,
        customers.is_deleted
    from customers
    left join company_codes on customers.customer_id = company_codes.customer_id
    left join credit_limits on customers.customer_id = credit_limits.customer_id
    left join owners on customers.customer_id = owners.customer_id
)

select * from final
