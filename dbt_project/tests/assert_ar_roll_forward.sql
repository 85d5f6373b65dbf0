{#- AR roll-forward, per closed month (its last day on or before the as-of date) and document currency,
    company level, to the cent. Document currency because fct_receivables_daily converts every open item at
    the snapshot date's rate: a USD roll-forward would break on FX revaluation.

    Balances come from the snapshot: opening_ar / closing_ar = sum of fct_receivables_daily.open_amount on
    the previous month's / the month's last day (0 before history). Movements come from the customer
    items as known at the as-of cutoff (int_customer_items, amounts signed: credits negative), not from
    the snapshot:
    - invoiced: items posted in the month by a billing document (invoice_id set; not a residual item, i.e.
      not a debit item referring to another FI document, REBZG). Cross-check: it equals billed, the signed
      gross amount (document currency) of fct_invoices dated in the month;
    - adjustments: every other item posted in the month (residual items of partial payments, payments on
      account, postings without a billing document);
    - cleared: items cleared in the month. An item cleared on or before its posting date (AUGDT <= BUDAT,
      e.g. a credit memo deducted by a payment whose clearing is dated before the memo's posting) is never
      open in the snapshot (open on posting_date <= d < clearing_date): it counts as cleared in its posting
      month, so it still counts as invoiced (it is billed) and nets to zero there.
    The snapshot of a date is exact history: items as known at that date's cutoff. A change made known after
    a month end's cutoff but affecting it (a backdated posting or clearing, a clearing reset) is in the
    movements (the as-of knowledge) but not in that month end's snapshot, by design. The reconciling lines
    late_changes_opening / late_changes_closing carry it: for each month end d, the items open at d as known
    at the as-of cutoff minus those open at d in their state at d's cutoff (the states of
    int_customer_item_versions, macro customer_item_states), over the items whose state changed between d's
    cutoff and the as-of cutoff. An item in the same state then and
    now is left out of the line: its place in the snapshot is checked against int_customer_items alone. So
        opening_ar + late_changes_opening + invoiced + adjustments - cleared
        = closing_ar + late_changes_closing
    (both sides: the month's balances as known at the as-of cutoff). The late line never reads the snapshot:
    an item missing from a month end's snapshot, extra or with another amount shows as a difference in that
    month (and the next). Only month-end snapshot dates are checked. A row is a failure: a month and currency
    whose roll-forward is off by a cent or whose invoiced differs from billed. -#}
with

items as (select * from {{ ref('int_customer_items') }}),

months as (
    select
        cast(month_start as date) as month_start,
        cast(month_start as date) - 1 as previous_month_end,
        cast(month_start + interval '1 month - 1 day' as date) as month_end
    from generate_series(
            (select date_trunc('month', min(items.posting_date)) from items),
            {{ as_of_date() }},
            interval '1 month'
        ) as month_start
    where cast(month_start + interval '1 month - 1 day' as date) <= {{ as_of_date() }}
),

month_ends as (
    select previous_month_end as month_end from months
    union
    select month_end from months
),

balances as (
    select
        receivables.snapshot_date as month_end,
        receivables.currency_code,
        sum(receivables.open_amount) as open_amount
    from {{ ref('fct_receivables_daily') }} as receivables
    -- an array, so that the (snapshot_date, customer_item_id) index reads only the month ends
    where receivables.snapshot_date = any(array(select month_ends.month_end from month_ends))
    group by receivables.snapshot_date, receivables.currency_code
),

postings as (
    select
        cast(date_trunc('month', posting_date) as date) as month_start,
        currency_code,
        sum(amount) filter (
            where invoice_id is not null and not (not is_credit and reference_invoice_document is not null)
        ) as invoiced,
        sum(amount) filter (
            where invoice_id is null or (not is_credit and reference_invoice_document is not null)
        ) as adjustments
    from items
    group by cast(date_trunc('month', posting_date) as date), currency_code
),

clearings as (
    select
        cast(date_trunc('month', greatest(clearing_date, posting_date)) as date) as month_start,
        currency_code,
        sum(amount) as cleared
    from items
    where clearing_date is not null
    group by cast(date_trunc('month', greatest(clearing_date, posting_date)) as date), currency_code
),

billed as (
    select
        cast(date_trunc('month', invoice_date) as date) as month_start,
        currency_code,
        sum(signed_gross_amount) as billed
    from {{ ref('fct_invoices') }}
    group by cast(date_trunc('month', invoice_date) as date), currency_code
),

-- an item landed once, by its table's first load, has one state, from -infinity on, and adds nothing to the
-- late changes: only the items with a later version or a deletion are read (int_customer_item_versions'
-- logic, restricted to them as fct_receivables_daily restricts it; the view would read every version)
items_in_play as (
    select
        bukrs,
        belnr,
        gjahr,
        buzei
    from {{ source('erp', 'bsid') }}
    where not _is_initial
    union
    select
        bukrs,
        belnr,
        gjahr,
        buzei
    from {{ source('erp', 'bsad') }}
    where not _is_initial
),

item_states as (
    {{ customer_item_states(in_play='items_in_play') }}
),

-- the states known by the as-of cutoff; the current one of each item
known_states as (
    select *
    from item_states
    where valid_from <= {{ as_of_cutoff() }}
),

current_states as (
    select
        customer_item_id,
        valid_from
    from known_states
    where valid_to > {{ as_of_cutoff() }}
),

-- open at a month end as known now, for the items whose current state began after that month end's cutoff
open_now_changed_since as (
    select
        month_ends.month_end,
        items.currency_code,
        sum(items.amount) as amount
    from month_ends
    inner join items
        on
            month_ends.month_end >= items.posting_date
            and (items.clearing_date is null or month_ends.month_end < items.clearing_date)
    inner join current_states
        on
            items.customer_item_id = current_states.customer_item_id
            and current_states.valid_from > {{ cutoff_of('month_ends.month_end') }}
    group by month_ends.month_end, items.currency_code
),

-- open at a month end in the state known at its cutoff, for states that ended by the as-of cutoff
open_then_changed_since as (
    select
        month_ends.month_end,
        known_states.currency_code,
        sum(known_states.amount) as amount
    from month_ends
    inner join known_states
        on
            {{ cutoff_of('month_ends.month_end') }} >= known_states.valid_from
            and {{ cutoff_of('month_ends.month_end') }} < known_states.valid_to
            and known_states.valid_to <= {{ as_of_cutoff() }}
            and month_ends.month_end >= known_states.posting_date
            and (known_states.clearing_date is null or month_ends.month_end < known_states.clearing_date)
    group by month_ends.month_end, known_states.currency_code
),

late_changes as (
    select
        coalesce(now_open.month_end, then_open.month_end) as month_end,
        coalesce(now_open.currency_code, then_open.currency_code) as currency_code,
        coalesce(now_open.amount, 0) - coalesce(then_open.amount, 0) as amount
    from open_now_changed_since as now_open
    full outer join open_then_changed_since as then_open
        on now_open.month_end = then_open.month_end and now_open.currency_code = then_open.currency_code
),

currencies as (
    select currency_code from items
    union
    select currency_code from balances
    union
    select currency_code from billed
),

roll_forward as (
    select
        months.month_start,
        currencies.currency_code,
        coalesce(opening.open_amount, 0) as opening_ar,
        coalesce(late_opening.amount, 0) as late_changes_opening,
        coalesce(postings.invoiced, 0) as invoiced,
        coalesce(billed.billed, 0) as billed,
        coalesce(postings.adjustments, 0) as adjustments,
        coalesce(clearings.cleared, 0) as cleared,
        coalesce(late_closing.amount, 0) as late_changes_closing,
        coalesce(closing.open_amount, 0) as closing_ar
    from months
    cross join currencies
    left join balances as opening
        on months.previous_month_end = opening.month_end and currencies.currency_code = opening.currency_code
    left join balances as closing
        on months.month_end = closing.month_end and currencies.currency_code = closing.currency_code
    left join late_changes as late_opening
        on
            months.previous_month_end = late_opening.month_end
            and currencies.currency_code = late_opening.currency_code
    left join late_changes as late_closing
        on months.month_end = late_closing.month_end and currencies.currency_code = late_closing.currency_code
    left join postings
        on months.month_start = postings.month_start and currencies.currency_code = postings.currency_code
    left join clearings
        on months.month_start = clearings.month_start and currencies.currency_code = clearings.currency_code
    left join billed
        on months.month_start = billed.month_start and currencies.currency_code = billed.currency_code
),

final as (
    select
        *,
        opening_ar + late_changes_opening + invoiced + adjustments - cleared
        - (closing_ar + late_changes_closing) as difference
    from roll_forward
)

select * from final
where difference <> 0 or invoiced <> billed
