with

materials as (
    {{ erp_latest('mara', ['matnr']) }}
),

texts as (
    {{ erp_latest('makt', ['matnr', 'spras']) }}
),

final as (
    select
        materials.matnr as product_id,
        english.maktx as product_name,
        chinese.maktx as product_name_zh,
        materials.matkl as commodity_group,
        materials.meins as base_uom,
        materials.mtart as material_type
    from materials
    left join texts as english on materials.matnr = english.matnr and english.spras = 'E'
    left join texts as chinese on materials.matnr = chinese.matnr and chinese.spras = '1'
)

select * from final
