{#- One row per material (grain: product_id) with its English and Chinese descriptions. -#}
with

materials as (select * from {{ ref('stg_erp__materials') }}),

texts as (select * from {{ ref('stg_erp__material_texts') }}),

final as (
    select
        materials.product_id,
        english.description as product_name,
        chinese.description as product_name_zh,
        materials.commodity_group,
        materials.base_uom,
        materials.material_type
    from materials
    left join texts as english on materials.product_id = english.product_id and english.language_key = 'E'
    left join texts as chinese on materials.product_id = chinese.product_id and chinese.language_key = '1'
)

select * from final
