{#- Materials (MARA). -#}
with

materials as (
    {{ erp_latest('mara', ['matnr']) }}
),

final as (
    select
        matnr as product_id,
        matkl as commodity_group,
        meins as base_uom,
        mtart as material_type,
        {{ sap_date('ersda') }} as created_date
    from materials
)

select * from final
