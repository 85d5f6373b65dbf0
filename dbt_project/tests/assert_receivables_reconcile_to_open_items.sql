-- The receivables snapshot at the as-of date equals the open customer items, per currency (to 0.01).
with

snapshot as (
    select
        currency_code,
        sum(open_amount) as total
    from {{ ref('fct_receivables_daily') }}
    where snapshot_date = {{ as_of_date() }}
    group by currency_code
),

items as (
    select
        currency_code,
        sum(amount) as total
    from {{ ref('int_customer_items') }}
    where posting_date <= {{ as_of_date() }}
        and (clearing_date is null or clearing_date > {{ as_of_date() }})
    group by currency_code
)

select
    coalesce(snapshot.currency_code, items.currency_code) as currency_code,
    snapshot.total as snapshot_total,
    items.total as open_items_total
from snapshot
full outer join items on snapshot.currency_code = items.currency_code
where abs(coalesce(snapshot.total, 0) - coalesce(items.total, 0)) > 0.01
