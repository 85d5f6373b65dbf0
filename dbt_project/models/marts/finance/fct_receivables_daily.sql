{#- Periodic snapshot. Grain: one row per open customer item per snapshot date.
    The snapshot of date d is exact history: the items open at d as known at d's cutoff (d + 1 at 02:00
    Shanghai), including late commits whose change time is before it; built from the items' states
    (int_customer_item_versions, the customer_item_states macro), not from the as-of staging. An item is
    open at d if its state at d's cutoff exists, it was posted by d and it is not cleared by d (clearing date
    after d, as int_customer_items' open items). Owner rep and region are the customer's on the snapshot date
    (int_customer_history), rates the snapshot date's (int_fx_rates_daily), both as known at the run that
    built the date. The daily snapshot is restated: a later run rebuilds any date that later landed data
    changes (reporting_basis); fct_receivables_month_end keeps each month end as first reported.

    Incremental (DECISIONLOG.md, Warehouse): a run rebuilds whole dates, from the first date that what was
    landed since it was built changes (or the first date never built) to the as-of date; the plan
    (receivables_daily_plan) and the bookkeeping (<this>__builds, post-hook) are in
    macros/receivables_history.sql. A full build fills every date from the first posting. -#}
{{
    config(
        materialized='incremental',
        on_schema_change='append_new_columns',
        incremental_strategy='replace_snapshot_dates',
        unique_key=['snapshot_date', 'customer_item_id'],
        indexes=[{'columns': ['snapshot_date', 'customer_item_id'], 'unique': true}],
        pre_hook=["{{ with_nested_loops() }}"],
        post_hook=["{{ receivables_daily_record_builds() }}"],
    )
}}

{%- set plan = receivables_daily_plan() %}
{%- set first_date = "cast('" ~ plan.first_date ~ "' as date)" %}
{%- set last_date = "cast('" ~ plan.last_date ~ "' as date)" %}
{%- set nothing_to_build = plan.first_date > plan.last_date %}
{%- set in_play = 'items_in_play' if plan.restrict_keys or nothing_to_build else none %}

-- depends_on: {{ ref('int_customer_item_versions') }}

with

-- the items a rebuild reads: those open the day before its first date (that date is current), changed
-- since that day's cutoff (a batch of ops.load_batches holds changes up to its window's end) or posted
-- from its first date on; all items for a full build
recent_batches as (
    select load_batches.batch_id
    from {{ source('landing', 'load_batches') }} as load_batches
    where load_batches.extracted_to > {{ cutoff_of(first_date ~ ' - 1') }}
),

items_in_play as (
    {%- if plan.restrict_keys and not nothing_to_build %}
        select
            split_part(customer_item_id, '-', 1) as bukrs,
            split_part(customer_item_id, '-', 3) as belnr,
            split_part(customer_item_id, '-', 2) as gjahr,
            split_part(customer_item_id, '-', 4) as buzei
        from {{ this }}
        where snapshot_date = {{ first_date }} - 1
        {%- for table in ['bsid', 'bsad'] %}
            union
            select
                bukrs,
                belnr,
                gjahr,
                buzei
            from {{ source('erp', table) }}
            where
                _batch_id in (select recent_batches.batch_id from recent_batches)
                and cast(changed_at as timestamptz) > {{ cutoff_of(first_date ~ ' - 1') }}
            union
            select
                bukrs,
                belnr,
                gjahr,
                buzei
            from {{ source('erp', table) }}
            where budat >= to_char({{ first_date }}, 'YYYYMMDD')
        {%- endfor %}
    {%- else %}
        select
            cast(null as text) as bukrs,
            cast(null as text) as belnr,
            cast(null as text) as gjahr,
            cast(null as text) as buzei
        where false
    {%- endif %}
),

item_states as (
    {{ customer_item_states(in_play=in_play) }}
),

customers as (select * from {{ ref('int_customer_history') }}),

fx as (
    select * from {{ ref('int_fx_rates_daily') }}
    where rate_date between {{ first_date }} and {{ last_date }}
),

-- the dates each state shows the item open: its cutoff falls in the state's validity, posted, not cleared
open_spans as (
    select
        *,
        greatest(
            {{ business_date_of('valid_from') }}, posting_date, {{ first_date }}
        ) as first_open_date,
        least(
            {{ business_date_of('valid_to') }} - 1, clearing_date - 1, {{ last_date }}
        ) as last_open_date
    from item_states
    where posting_date is not null
),

open_items as (
    select
        cast(calendar_day as date) as snapshot_date,
        customer_item_id,
        invoice_id,
        customer_id,
        is_credit,
        currency_code,
        amount as open_amount,
        posting_date,
        net_due_date,
        cast(calendar_day as date) - net_due_date as days_past_due
    from open_spans
    cross join lateral generate_series(first_open_date, last_open_date, interval '1 day') as calendar_day
    where first_open_date <= last_open_date
),

final as (
    select
        open_items.snapshot_date,
        open_items.customer_item_id,
        open_items.invoice_id,
        open_items.customer_id,
        case
            when not open_items.is_credit then 'debit'
            when open_items.invoice_id is not null then 'credit_memo'
            else 'unapplied_cash'
        end as item_kind,
        customers.owner_rep_id,
        customers.region,
        open_items.currency_code,
        open_items.open_amount,
        round(open_items.open_amount * fx.to_usd, 2) as open_amount_usd,
        round(open_items.open_amount * fx.to_cny, 2) as open_amount_cny,
        fx.to_usd as usd_rate,
        fx.to_cny as cny_rate,
        fx.rate_date as fx_rate_date,
        open_items.posting_date,
        open_items.net_due_date,
        greatest(open_items.days_past_due, 0) as days_past_due,
        open_items.days_past_due > 0 as is_overdue,
        {{ aging_bucket('open_items.days_past_due') }} as aging_bucket,
        'restated' as reporting_basis
    from open_items
    left join customers
        on
            open_items.customer_id = customers.customer_id
            and open_items.snapshot_date >= customers.valid_from
            and open_items.snapshot_date < customers.valid_to
    left join fx on open_items.currency_code = fx.currency_code and open_items.snapshot_date = fx.rate_date
)

select * from final
