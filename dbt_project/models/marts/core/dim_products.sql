with

materials as (select * from {{ ref('int_products') }}),

final as (
    select
        product_id,
        product_name,
        product_name_zh,
        commodity_group,
        base_uom
    from materials
)

select * from final
