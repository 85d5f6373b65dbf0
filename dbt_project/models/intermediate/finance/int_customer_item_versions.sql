{#- Every state each customer FI item has had, with its validity in change times: one row per item and
    interval [valid_from, valid_to) in which it existed, open (BSID) or cleared (BSAD); BSID and BSAD versions
    and tombstones of the key interleave (clearing, reset, re-clearing). At any cutoff t the row with
    valid_from <= t < valid_to is the item as int_customer_items shows it at t. The logic is the macro
    customer_item_states, which fct_receivables_daily runs restricted to the items it rebuilds; this view is
    the whole history, for analysis and tests (reading it scans every version). -#}
with

item_states as (
    {{ customer_item_states() }}
),

final as (
    select * from item_states
)

select * from final
