{#- Periodic snapshot. Grain: one row per (snapshot_date, customer_id) with open items on that date, for every
    snapshot date of fct_receivables_daily. Buckets by days past the net due date (int_ar_aging_items); credit
    memos and unapplied cash in their own columns; total = the sum of the customer's open items that day in
    fct_receivables_daily, to the cent (a data test checks it). Owner rep and region of the snapshot date.
    Incremental: rebuilds the dates fct_receivables_daily rebuilt since (macros/follow_snapshot_builds.sql). -#}
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

{%- set plan = follow_snapshot_builds_plan('fct_receivables_daily') %}

with

items as (
    select * from {{ ref('int_ar_aging_items') }}
    where snapshot_date between cast('{{ plan.first_date }}' as date) and cast('{{ plan.last_date }}' as date)
),

final as (
    select
        snapshot_date,
        customer_id,
        min(owner_rep_id) as owner_rep_id,
        min(region) as region,
        sum(not_due_usd) as not_due_usd,
        sum(d1_30_usd) as d1_30_usd,
        sum(d31_60_usd) as d31_60_usd,
        sum(d61_90_usd) as d61_90_usd,
        sum(d91_180_usd) as d91_180_usd,
        sum(over_180_usd) as over_180_usd,
        sum(credit_memo_usd) as credit_memo_usd,
        sum(unapplied_cash_usd) as unapplied_cash_usd,
        sum(total_usd) as total_usd,
        sum(not_due_cny) as not_due_cny,
        sum(d1_30_cny) as d1_30_cny,
        sum(d31_60_cny) as d31_60_cny,
        sum(d61_90_cny) as d61_90_cny,
        sum(d91_180_cny) as d91_180_cny,
        sum(over_180_cny) as over_180_cny,
        sum(credit_memo_cny) as credit_memo_cny,
        sum(unapplied_cash_cny) as unapplied_cash_cny,
        sum(total_cny) as total_cny,
        sum(d1_30_usd + d31_60_usd + d61_90_usd + d91_180_usd + over_180_usd) as overdue_usd,
        count(*) as open_item_count,
        max(days_past_net_due) filter (where item_kind = 'debit') as max_days_past_due
    from items
    group by snapshot_date, customer_id
)

select * from final
