{#- SCD2. Grain: one row per customer and validity period [valid_from, valid_to) of business dates
    (int_customer_history). A fact of date d joins the row with valid_from <= d < valid_to: the owner, region,
    terms and credit limit of that date, not today's. -#}
with

history as (select * from {{ ref('int_customer_history') }}),

final as (
    select
        customer_version_id,
        customer_id,
        valid_from,
        valid_to,
        is_current,
        customer_name,
        customer_name_zh,
        country_code,
        region_code,
        city,
        region,
        payment_terms_code,
        credit_limit,
        credit_limit_currency_code,
        owner_rep_id,
        created_date,
        is_flagged_for_deletion
    from history
)

select * from final
