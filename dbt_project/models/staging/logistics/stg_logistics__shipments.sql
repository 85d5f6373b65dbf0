with

{# A shipment exists from its booking (created_at), whether or not it has events yet. Payloads landed
   before created_at existed count from their first event, else from the version's updated_at. #}
landed as (
    select
        *,
        coalesce(
            cast(payload ->> 'created_at' as timestamptz),
            cast(payload -> 'events' -> 0 ->> 'at' as timestamptz)
        ) as booked_at
    from {{ source('logistics', 'shipments') }}
),

{# Latest version at the cutoff; a shipment booked by then but first read later falls back to its
   earliest version read (see erp_latest). #}
versions as (
    select distinct on (shipment_id) *
    from landed
    where coalesce(booked_at, updated_at) <= {{ as_of_cutoff() }}
    order by
        shipment_id asc,
        updated_at <= {{ as_of_cutoff() }} desc,
        case when updated_at <= {{ as_of_cutoff() }} then updated_at end desc nulls last,
        updated_at asc,
        _loaded_at desc
),

final as (
    select
        shipment_id,
        payload ->> 'order_id' as order_id,
        (payload ->> 'order_id') || '-' || (payload ->> 'order_item') as sales_item_id,
        payload ->> 'delivery_id' as delivery_id,
        payload ->> 'customer_id' as customer_id,
        payload ->> 'mode' as transport_mode,
        payload ->> 'carrier' as carrier,
        payload ->> 'vessel' as vessel,
        payload ->> 'voyage' as voyage,
        payload ->> 'bl_number' as bl_number,
        payload ->> 'port_of_loading' as port_of_loading,
        payload ->> 'port_of_discharge' as port_of_discharge,
        cast(payload ->> 'etd_planned' as date) as etd_planned_date,
        cast(payload ->> 'eta_planned' as date) as eta_planned_date,
        cast(payload ->> 'etd_actual' as date) as etd_actual_date,
        cast(payload ->> 'eta_actual' as date) as eta_actual_date,
        payload ->> 'status' as shipment_status,
        jsonb_array_length(coalesce(payload -> 'containers', cast('[]' as jsonb))) as container_count,
        jsonb_array_length(coalesce(payload -> 'events', cast('[]' as jsonb))) as event_count,
        booked_at,
        updated_at
    from versions
)

select * from final
