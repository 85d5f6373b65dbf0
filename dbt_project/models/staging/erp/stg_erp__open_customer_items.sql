{#- Open customer FI items (BSID) as known at the cutoff. An item cleared by then left BSID (its
    deletion is landed as a tombstone by key reconciliation); a clearing reset brings it back. -#}
with

open_items as (
    {{ erp_latest('bsid', ['bukrs', 'belnr', 'gjahr', 'buzei'], reconciled=true) }}
),

final as (
    select {{ customer_item_columns(cleared=false) }}
    from open_items
)

select * from final
