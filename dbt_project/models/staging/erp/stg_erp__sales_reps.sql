with

reps as (
    {{ erp_latest('zsd_sales_rep', ['pernr']) }}
),

final as (
    select
        pernr as sales_rep_id,
        ename as rep_name,
        ename_zh as rep_name_zh,
        lower(smtp_addr) as email,
        upper(langu) as preferred_language,
        region as sales_region
    from reps
)

select * from final
