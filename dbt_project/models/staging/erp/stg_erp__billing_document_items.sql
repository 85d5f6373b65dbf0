with

items as (
    {{ erp_latest('vbrp', ['vbeln', 'posnr']) }}
),

final as (
    select
        vbeln || '-' || posnr as invoice_item_id,
        vbeln as invoice_id,
        posnr as item_number,
        cast(fkimg as numeric) as billed_qty,
        vrkme as sales_uom,
        cast(netwr as numeric) as net_amount,
        matnr as product_id,
        aubel || '-' || aupos as sales_item_id,
        aubel as order_id,
        vgbel as delivery_id
    from items
)

select * from final
