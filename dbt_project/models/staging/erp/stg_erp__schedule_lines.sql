with

schedule as (
    {{ erp_latest('vbep', ['vbeln', 'posnr', 'etenr']) }}
),

final as (
    select
        vbeln || '-' || posnr as sales_item_id,
        etenr as schedule_line_number,
        {{ sap_date('edatu') }} as promised_date,
        cast(wmeng as numeric) as scheduled_qty
    from schedule
)

select * from final
