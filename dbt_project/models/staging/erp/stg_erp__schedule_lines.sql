with

schedule as (
    {{ erp_latest('vbep', ['vbeln', 'posnr', 'etenr']) }}
),

final as (
    select
        vbeln || '-' || posnr as sales_item_id,
        etenr as schedule_line_number,
        vbeln || '-' || posnr || '-' || etenr as schedule_line_id,
        {{ sap_date('edatu') }} as schedule_date,
        cast(wmeng as numeric) as ordered_qty,
        coalesce(cast(nullif(trim(bmeng), '') as numeric), 0) as confirmed_qty
    from schedule
)

select * from final
