{{ config(materialized="table", indexes=[{"columns": ["rate_date", "currency_code"], "unique": true}]) }}

{#- One row per calendar day and currency: the rate to USD and to CNY in force that day
    (the latest ERP rate of type M published on or before the day). Grain: rate_date, currency_code. -#}
with

rates as (
    select * from {{ ref('stg_erp__exchange_rates') }}
    where rate_type = '{{ var("reporting_rate_type") }}'
),

bounds as (
    select min(valid_from_date) as first_date from rates
),

days as (
    select cast(calendar_day as date) as rate_date
    from bounds
    cross join
        lateral
        generate_series(first_date, {{ as_of_date() }} + 366, interval '1 day') as calendar_day
),

usd_cny as (
    select
        days.rate_date,
        (
            select rates.exchange_rate from rates
            where rates.from_currency_code = 'USD' and rates.to_currency_code = 'CNY'
                and rates.valid_from_date <= days.rate_date
            order by rates.valid_from_date desc
            limit 1
        ) as usd_to_cny
    from days
),

final as (
    select
        rate_date,
        'USD' as currency_code,
        1.0 as to_usd,
        usd_to_cny as to_cny
    from usd_cny
    union all
    select
        rate_date,
        'CNY' as currency_code,
        1.0 / usd_to_cny as to_usd,
        1.0 as to_cny
    from usd_cny
)

select * from final
