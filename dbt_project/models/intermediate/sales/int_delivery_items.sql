{#- One row per delivery item (grain: delivery_item_id) with its header's goods issue dates. -#}
with

items as (select * from {{ ref('stg_erp__delivery_items') }}),

headers as (select * from {{ ref('stg_erp__deliveries') }}),

final as (
    select
        items.delivery_item_id,
        items.delivery_id,
        items.sales_item_id,
        items.product_id,
        items.plant_id,
        items.batch_number,
        items.delivered_qty,
        items.sales_uom,
        headers.customer_id,
        headers.created_date,
        headers.planned_goods_issue_date,
        headers.goods_issue_date
    from items
    inner join headers on items.delivery_id = headers.delivery_id
)

select * from final
