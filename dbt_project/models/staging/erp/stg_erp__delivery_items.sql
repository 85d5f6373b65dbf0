{#- Delivery items (LIPS): the order item they fulfil, plant, batch and quantity. -#}
with

items as (
    {{ erp_latest('lips', ['vbeln', 'posnr']) }}
),

final as (
    select
        vbeln || '-' || posnr as delivery_item_id,
        vbeln as delivery_id,
        posnr as item_number,
        vgbel || '-' || vgpos as sales_item_id,
        matnr as product_id,
        werks as plant_id,
        nullif(charg, '') as batch_number,
        cast(lfimg as numeric) as delivered_qty,
        vrkme as sales_uom
    from items
)

select * from final
