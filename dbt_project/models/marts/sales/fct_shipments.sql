{#- Grain: one row per shipment (the forwarder's latest version known at the as-of date). -#}
with

shipments as (select * from {{ ref('stg_logistics__shipments') }}),

final as (
    select
        shipment_id,
        order_id,
        sales_item_id as order_line_id,
        delivery_id,
        customer_id,
        transport_mode,
        carrier,
        vessel,
        voyage,
        bl_number,
        port_of_loading,
        port_of_discharge,
        etd_planned_date,
        etd_actual_date,
        eta_planned_date,
        eta_actual_date,
        etd_actual_date - etd_planned_date as etd_slip_days,
        eta_actual_date - eta_planned_date as eta_slip_days,
        shipment_status,
        container_count,
        updated_at
    from shipments
)

select * from final
