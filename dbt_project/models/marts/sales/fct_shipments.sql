{#- Grain: one row per shipment (the forwarder's latest version known at the as-of date), with its plan
    history: the original ETD/ETA (at booking), how many times the plan was revised, and the slip of the
    actual (else the latest plan at the cutoff) against the original. An actual after the as-of date (a
    backfill reading a later version) does not count yet. -#}
with

shipments as (select * from {{ ref('stg_logistics__shipments') }}),

plan_revisions as (select * from {{ ref('int_shipment_plan_revisions') }}),

plans as (
    select
        shipment_id,
        max(etd_planned_date) filter (where is_original_plan) as etd_original_date,
        max(eta_planned_date) filter (where is_original_plan) as eta_original_date,
        max(etd_planned_date) filter (where is_latest_plan) as etd_latest_plan_date,
        max(eta_planned_date) filter (where is_latest_plan) as eta_latest_plan_date,
        count(*) - 1 as plan_revision_count
    from plan_revisions
    group by shipment_id
),

final as (
    select
        shipments.shipment_id,
        shipments.order_id,
        shipments.sales_item_id as order_line_id,
        shipments.delivery_id,
        shipments.customer_id,
        shipments.transport_mode,
        shipments.carrier,
        shipments.vessel,
        shipments.voyage,
        shipments.bl_number,
        shipments.port_of_loading,
        shipments.port_of_discharge,
        shipments.etd_planned_date,
        shipments.etd_actual_date,
        shipments.eta_planned_date,
        shipments.eta_actual_date,
        shipments.etd_actual_date - shipments.etd_planned_date as etd_slip_days,
        shipments.eta_actual_date - shipments.eta_planned_date as eta_slip_days,
        plans.etd_original_date,
        plans.eta_original_date,
        plans.plan_revision_count,
        coalesce(
            case when shipments.etd_actual_date <= {{ as_of_date() }} then shipments.etd_actual_date end,
            plans.etd_latest_plan_date
        ) - plans.etd_original_date as etd_slip_vs_original_days,
        coalesce(
            case when shipments.eta_actual_date <= {{ as_of_date() }} then shipments.eta_actual_date end,
            plans.eta_latest_plan_date
        ) - plans.eta_original_date as eta_slip_vs_original_days,
        shipments.shipment_status,
        shipments.container_count,
        shipments.booked_at,
        shipments.updated_at
    from shipments
    left join plans on shipments.shipment_id = plans.shipment_id
)

select * from final
