{#- Month-end truth. Grain: one row per open customer item per month-end date (snapshot_date,
    customer_item_id),
    as first reported: the month end's rows of fct_receivables_daily in the first run whose as-of date reached
    it, never restated by later runs (fct_receivables_daily is: it rebuilds any date later landed data
    changes). reported_as_of_date says which run reported it. Finance's closed-month figures read this. -#}
{{
    config(
        materialized='incremental',
        on_schema_change='append_new_columns',
        incremental_strategy='delete+insert',
        unique_key=['snapshot_date', 'customer_item_id'],
        indexes=[{'columns': ['snapshot_date', 'customer_item_id'], 'unique': true}],
    )
}}

with

daily as (select * from {{ ref('fct_receivables_daily') }}),

-- the month ends not reported yet, up to the as-of date (from the month after the last one reported; a full
-- build from the first snapshot date)
month_ends as (
    select cast(month_start + interval '1 month - 1 day' as date) as snapshot_date
    from
        generate_series(
            {%- if is_incremental() %}
                coalesce(
                    (select cast(max(reported.snapshot_date) + 1 as timestamp) from {{ this }} as reported),
                    (select date_trunc('month', min(first_daily.snapshot_date)) from daily as first_daily)
                ),
            {%- else %}
                (select date_trunc('month', min(first_daily.snapshot_date)) from daily as first_daily),
            {%- endif %}
            {{ as_of_date() }},
            interval '1 month'
        ) as month_start
    where cast(month_start + interval '1 month - 1 day' as date) <= {{ as_of_date() }}
),

final as (
    select
        daily.snapshot_date,
        daily.customer_item_id,
        daily.invoice_id,
        daily.customer_id,
        daily.item_kind,
        daily.owner_rep_id,
        daily.region,
        daily.currency_code,
        daily.open_amount,
        daily.open_amount_usd,
        daily.open_amount_cny,
        daily.usd_rate,
        daily.cny_rate,
        daily.fx_rate_date,
        daily.posting_date,
        daily.net_due_date,
        daily.days_past_due,
        daily.is_overdue,
        daily.aging_bucket,
        {{ as_of_date() }} as reported_as_of_date,
        'as first reported' as reporting_basis
    from daily
    inner join month_ends on daily.snapshot_date = month_ends.snapshot_date
)

select * from final
