{#- Cleared customer FI items (BSAD) as known at the cutoff; a clearing reset deletes the BSAD row
    (landed as a tombstone by key reconciliation of recent clearings). -#}
with

cleared_items as (
    {{ erp_latest('bsad', ['bukrs', 'belnr', 'gjahr', 'buzei'], reconciled=true) }}
),

final as (
    select {{ customer_item_columns(cleared=true) }}
    from cleared_items
)

select * from final
