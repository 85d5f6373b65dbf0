{#- fct_ar_aging: for every snapshot date and customer, total = the open items of fct_receivables_daily to the
    cent (USD and CNY), the columns add up to the total, and no customer-date with open items is missing. -#}
with

receivables as (
    select
        snapshot_date,
        customer_id,
        sum(open_amount_usd) as total_usd,
        sum(open_amount_cny) as total_cny
    from {{ ref('fct_receivables_daily') }}
    group by snapshot_date, customer_id
),

aging as (select * from {{ ref('fct_ar_aging') }})

select
    coalesce(receivables.snapshot_date, aging.snapshot_date) as snapshot_date,
    coalesce(receivables.customer_id, aging.customer_id) as customer_id,
    receivables.total_usd as receivables_usd,
    aging.total_usd as aging_usd
from receivables
full outer join aging
    on receivables.snapshot_date = aging.snapshot_date and receivables.customer_id = aging.customer_id
where
    receivables.total_usd is distinct from aging.total_usd
    or receivables.total_cny is distinct from aging.total_cny
    or aging.not_due_usd + aging.d1_30_usd + aging.d31_60_usd + aging.d61_90_usd + aging.d91_180_usd
    + aging.over_180_usd + aging.credit_memo_usd + aging.unapplied_cash_usd <> aging.total_usd
