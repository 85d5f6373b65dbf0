with

headers as (
    {{ erp_latest('likp', ['vbeln']) }}
),

items as (
    {{ erp_latest('lips', ['vbeln', 'posnr']) }}
),

final as (
    select
        items.vbeln || '-' || items.posnr as delivery_item_id,
        items.vbeln as delivery_id,
        items.vgbel || '-' || items.vgpos as sales_item_id,
        items.matnr as product_id,
        items.werks as plant_id,
        nullif(items.charg, '') as batch_number,
        cast(items.lfimg as numeric) as delivered_qty,
        items.vrkme as sales_uom,
        headers.kunnr as customer_id,
        {{ sap_date('headers.erdat') }} as created_date,
        {{ sap_date('headers.wadat') }} as planned_goods_issue_date,
        {{ sap_date('headers.wadat_ist') }} as goods_issue_date
    from items
    inner join headers on items.vbeln = headers.vbeln
)

select * from final
