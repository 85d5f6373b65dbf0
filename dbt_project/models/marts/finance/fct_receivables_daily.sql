{#- Periodic snapshot. Grain: one row per open invoice per snapshot date.
    A full build fills every date from the first posting to the as-of date; an incremental run replaces
    the last few dates (a lookback absorbs late postings), so re-runs and backfills never duplicate. -#}
{{
    config(
        materialized='incremental',
        unique_key=['snapshot_date', 'customer_item_id'],
        incremental_strategy='delete+insert',
        indexes=[{'columns': ['snapshot_date', 'customer_item_id'], 'unique': true}]
    )
}}

with

items as (select * from {{ ref('stg_erp__customer_items') }}),

customers as (select * from {{ ref('stg_erp__customers') }}),

fx as (select * from {{ ref('int_fx_rates_daily') }}),

bounds as (
    {% if is_incremental() %}
        select {{ as_of_date() }} - 3 as first_date
    {% else %}
        select min(posting_date) as first_date from items
    {% endif %}
),

dates as (
    select cast(calendar_day as date) as snapshot_date
    from bounds
    cross join
        lateral
        generate_series(first_date, {{ as_of_date() }}, interval '1 day') as calendar_day
),

open_items as (
    select
        dates.snapshot_date,
        items.customer_item_id,
        items.invoice_id,
        items.customer_id,
        items.currency_code,
        items.amount as open_amount,
        items.posting_date,
        items.net_due_date,
        dates.snapshot_date - items.net_due_date as days_past_due
    from dates
    inner join items
        on dates.snapshot_date >= items.posting_date
            and (items.clearing_date is null or dates.snapshot_date < items.clearing_date)
),

final as (
    select
        open_items.snapshot_date,
        open_items.customer_item_id,
        open_items.invoice_id,
        open_items.customer_id,
        customers.owner_rep_id,
        open_items.currency_code,
        open_items.open_amount,
        round(open_items.open_amount * fx.to_usd, 2) as open_amount_usd,
        round(open_items.open_amount * fx.to_cny, 2) as open_amount_cny,
        open_items.posting_date,
        open_items.net_due_date,
        greatest(open_items.days_past_due, 0) as days_past_due,
        open_items.days_past_due > 0 as is_overdue,
        {{ aging_bucket('open_items.days_past_due') }} as aging_bucket
    from open_items
    left join customers on open_items.customer_id = customers.customer_id
    left join fx on open_items.currency_code = fx.currency_code and open_items.snapshot_date = fx.rate_date
)

select * from final
