{#- Periodic snapshot. Grain: one row per (snapshot_date, customer_id), every business date from the first
    order or posting to the as-of date, for every customer with a credit limit or exposure that day:
    exposure = open orders (ordered, not yet delivered, not prepaid) + delivered not yet invoiced + AR (open
    items, fct_receivables_daily), in USD (and CNY) at the day's type-M rate; the credit limit and owner are the
    customer's that day (int_customer_history), the limit converted from its currency at the same rate.
    utilization_pct = exposure / limit x 100 (NULL without a positive limit); headroom = limit - exposure.
    Incremental: rebuilds the dates fct_receivables_daily rebuilt since, and those a newly landed version of an
    order, delivery, billing document or credit limit changes (macros/follow_snapshot_builds.sql). -#}
{{
    config(
        materialized='incremental',
        on_schema_change='append_new_columns',
        incremental_strategy='replace_snapshot_dates',
        unique_key=['snapshot_date', 'customer_id'],
        indexes=[{'columns': ['snapshot_date', 'customer_id'], 'unique': true}],
        post_hook=["{{ follow_snapshot_builds_record('fct_receivables_daily') }}"],
    )
}}

{%- set plan = follow_snapshot_builds_plan(
    'fct_receivables_daily',
    raw_tables=[
        {'table': 'vbak', 'initial_date': sap_date('versions.erdat')},
        {'table': 'vbap', 'initial_date': sap_date('versions.erdat')},
        {'table': 'vbkd'},
        {'table': 'likp', 'initial_date': sap_date('versions.erdat')},
        {'table': 'lips'},
        {'table': 'vbrk', 'initial_date': sap_date('versions.fkdat')},
        {'table': 'vbrp'},
        {'table': 'knkk'},
    ],
    first_date="select min(document_date) from " ~ ref('stg_erp__sales_documents') ~ " where document_category = 'order'",
) %}
{%- set first_date = "cast('" ~ plan.first_date ~ "' as date)" %}
{%- set last_date = "cast('" ~ plan.last_date ~ "' as date)" %}

with

spans as (
    select * from {{ ref('int_credit_exposure_spans') }}
    where from_date <= {{ last_date }} and to_date > {{ first_date }}
),

customers as (select * from {{ ref('int_customer_history') }}),

fx as (
    select * from {{ ref('int_fx_rates_daily') }}
    where rate_date between {{ first_date }} and {{ last_date }}
),

-- each document's value per day (an over-delivered order line still open counts 0, never negative)
document_days as (
    select
        cast(calendar_day as date) as snapshot_date,
        customer_id,
        component,
        document_id,
        currency_code,
        greatest(sum(amount), 0) as amount
    from spans
    cross join
        lateral generate_series(
            greatest(from_date, {{ first_date }}),
            least(to_date - 1, {{ last_date }}),
            interval '1 day'
        ) as calendar_day
    group by cast(calendar_day as date), customer_id, component, document_id, currency_code
),

document_exposure as (
    select
        document_days.snapshot_date,
        document_days.customer_id,
        sum(round(document_days.amount * fx.to_usd, 2)) filter (where document_days.component = 'open_order')
            as open_order_usd,
        sum(round(document_days.amount * fx.to_cny, 2)) filter (where document_days.component = 'open_order')
            as open_order_cny,
        sum(round(document_days.amount * fx.to_usd, 2))
        filter (where document_days.component = 'delivered_not_invoiced') as delivered_not_invoiced_usd,
        sum(round(document_days.amount * fx.to_cny, 2))
        filter (where document_days.component = 'delivered_not_invoiced') as delivered_not_invoiced_cny
    from document_days
    left join
        fx
        on document_days.currency_code = fx.currency_code and document_days.snapshot_date = fx.rate_date
    group by document_days.snapshot_date, document_days.customer_id
),

receivables as (
    select
        snapshot_date,
        customer_id,
        sum(open_amount_usd) as ar_usd,
        sum(open_amount_cny) as ar_cny
    from {{ ref('fct_receivables_daily') }}
    where snapshot_date between {{ first_date }} and {{ last_date }}
    group by snapshot_date, customer_id
),

limits as (
    select
        cast(calendar_day as date) as snapshot_date,
        customer_id,
        owner_rep_id,
        region,
        credit_limit,
        credit_limit_currency_code
    from customers
    cross join lateral generate_series(
        greatest(valid_from, {{ first_date }}),
        least(valid_to - 1, {{ last_date }}),
        interval '1 day'
    ) as calendar_day
),

customer_days as (
    select
        snapshot_date,
        customer_id
    from document_exposure
    union
    select
        snapshot_date,
        customer_id
    from receivables
    union
    select
        snapshot_date,
        customer_id
    from limits
    where credit_limit > 0
),

final as (
    select
        customer_days.snapshot_date,
        customer_days.customer_id,
        limits.owner_rep_id,
        limits.region,
        limits.credit_limit,
        limits.credit_limit_currency_code,
        round(limits.credit_limit * limit_fx.to_usd, 2) as credit_limit_usd,
        round(limits.credit_limit * limit_fx.to_cny, 2) as credit_limit_cny,
        coalesce(document_exposure.open_order_usd, 0) as open_order_usd,
        coalesce(document_exposure.delivered_not_invoiced_usd, 0) as delivered_not_invoiced_usd,
        coalesce(receivables.ar_usd, 0) as ar_usd,
        coalesce(document_exposure.open_order_usd, 0)
        + coalesce(document_exposure.delivered_not_invoiced_usd, 0)
        + coalesce(receivables.ar_usd, 0) as exposure_usd,
        coalesce(document_exposure.open_order_cny, 0) as open_order_cny,
        coalesce(document_exposure.delivered_not_invoiced_cny, 0) as delivered_not_invoiced_cny,
        coalesce(receivables.ar_cny, 0) as ar_cny,
        coalesce(document_exposure.open_order_cny, 0)
        + coalesce(document_exposure.delivered_not_invoiced_cny, 0)
        + coalesce(receivables.ar_cny, 0) as exposure_cny,
        limit_fx.to_usd as limit_usd_rate,
        limit_fx.to_cny as limit_cny_rate,
        limit_fx.rate_date as fx_rate_date
    from customer_days
    left join limits
        on customer_days.snapshot_date = limits.snapshot_date
            and customer_days.customer_id = limits.customer_id
    left join document_exposure
        on
            customer_days.snapshot_date = document_exposure.snapshot_date
            and customer_days.customer_id = document_exposure.customer_id
    left join receivables
        on
            customer_days.snapshot_date = receivables.snapshot_date
            and customer_days.customer_id = receivables.customer_id
    left join fx as limit_fx
        on limits.credit_limit_currency_code = limit_fx.currency_code
            and customer_days.snapshot_date = limit_fx.rate_date
)

select
    *,
    round(exposure_usd / nullif(credit_limit_usd, 0) * 100, 2) as utilization_pct,
    credit_limit_usd - exposure_usd as headroom_usd,
    credit_limit_cny - exposure_cny as headroom_cny
from final
