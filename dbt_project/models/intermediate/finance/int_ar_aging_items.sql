{#- Each open customer item of each snapshot date (fct_receivables_daily) with its amount in its aging column
    (DESIGN.md 6; issue 6): a debit item (invoice, debit memo, residual item) goes to the bucket of its days
    past the net due date on the snapshot date (not_due: 0 or fewer; 1-30 means 1 to 30 inclusive; ...;
    over_180: 181 and more); a credit memo and unapplied cash (a credit item without billing document: a
    payment on account) go to their own columns, whatever their due date, so that they are shown and not
    netted inside a bucket. Every amount lands in exactly one column: the columns add up to the item.
    A view: fct_ar_aging reads it for the dates it rebuilds. -#}
with

receivables as (select * from {{ ref('fct_receivables_daily') }}),

classified as (
    select
        *,
        snapshot_date - net_due_date as days_past_net_due,
        case
            when item_kind = 'credit_memo' then 'credit_memo'
            when item_kind = 'unapplied_cash' then 'unapplied_cash'
            when snapshot_date - net_due_date <= 0 then 'not_due'
            when snapshot_date - net_due_date <= 30 then 'd1_30'
            when snapshot_date - net_due_date <= 60 then 'd31_60'
            when snapshot_date - net_due_date <= 90 then 'd61_90'
            when snapshot_date - net_due_date <= 180 then 'd91_180'
            else 'over_180'
        end as aging_column
    from receivables
),

final as (
    select
        snapshot_date,
        customer_item_id,
        customer_id,
        owner_rep_id,
        region,
        item_kind,
        days_past_net_due,
        aging_column,
        case when aging_column = 'not_due' then open_amount_usd else 0 end as not_due_usd,
        case when aging_column = 'd1_30' then open_amount_usd else 0 end as d1_30_usd,
        case when aging_column = 'd31_60' then open_amount_usd else 0 end as d31_60_usd,
        case when aging_column = 'd61_90' then open_amount_usd else 0 end as d61_90_usd,
        case when aging_column = 'd91_180' then open_amount_usd else 0 end as d91_180_usd,
        case when aging_column = 'over_180' then open_amount_usd else 0 end as over_180_usd,
        case when aging_column = 'credit_memo' then open_amount_usd else 0 end as credit_memo_usd,
        case when aging_column = 'unapplied_cash' then open_amount_usd else 0 end as unapplied_cash_usd,
        open_amount_usd as total_usd,
        case when aging_column = 'not_due' then open_amount_cny else 0 end as not_due_cny,
        case when aging_column = 'd1_30' then open_amount_cny else 0 end as d1_30_cny,
        case when aging_column = 'd31_60' then open_amount_cny else 0 end as d31_60_cny,
        case when aging_column = 'd61_90' then open_amount_cny else 0 end as d61_90_cny,
        case when aging_column = 'd91_180' then open_amount_cny else 0 end as d91_180_cny,
        case when aging_column = 'over_180' then open_amount_cny else 0 end as over_180_cny,
        case when aging_column = 'credit_memo' then open_amount_cny else 0 end as credit_memo_cny,
        case when aging_column = 'unapplied_cash' then open_amount_cny else 0 end as unapplied_cash_cny,
        open_amount_cny as total_cny,
        usd_rate,
        cny_rate,
        fx_rate_date
    from classified
)

select * from final
