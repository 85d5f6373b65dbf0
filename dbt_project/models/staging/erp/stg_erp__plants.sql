with

plants as (
    {{ erp_latest('t001w', ['werks']) }}
),

final as (
    select
        werks as plant_id,
        name1 as plant_name,
        ort01 as city,
        land1 as country_code
    from plants
)

select * from final
