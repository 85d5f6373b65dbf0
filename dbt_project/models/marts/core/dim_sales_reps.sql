with

reps as (select * from {{ ref('stg_erp__sales_reps') }}),

final as (
    select
        sales_rep_id,
        rep_name,
        rep_name_zh,
        email,
        preferred_language,
        sales_region
    from reps
)

select * from final
