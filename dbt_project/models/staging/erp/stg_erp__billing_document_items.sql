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
        case when coalesce(nullif(trim(vgtyp), ''), 'J') = 'J' then vgbel end as delivery_id,
        nullif(trim(vgbel), '') as reference_document_id,
        case when nullif(trim(vgbel), '') is not null then vgbel || '-' || vgpos end as reference_item_id,
        coalesce(nullif(trim(vgtyp), ''), 'J') as reference_category_code
    from items
)

select * from final
