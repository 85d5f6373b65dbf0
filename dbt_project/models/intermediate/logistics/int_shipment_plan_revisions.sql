{#- Grain: one row per shipment and ETD/ETA plan (shipment_id, revised_at): the plan at booking, then every
    revision the forwarder made up to the as-of cutoff, each with its time. The versions known at the
    cutoff are those updated by then; a shipment first read later (backfill) uses its earliest version read,
    as stg_logistics__shipments does. A version's plan_revisions is its whole history up to it, so the
    versions repeat each other: one row per revision is kept (the latest version's, then the latest load). -#}
with

landed as (
    select
        shipment_id,
        updated_at,
        _loaded_at,
        payload,
        bool_or(updated_at <= {{ as_of_cutoff() }}) over (partition by shipment_id) as is_known_by_cutoff,
        min(updated_at) over (partition by shipment_id) as first_updated_at
    from {{ source('logistics', 'shipments') }}
),

versions as (
    select * from landed
    where updated_at <= {{ as_of_cutoff() }}
        or (not is_known_by_cutoff and updated_at = first_updated_at)
),

revisions as (
    select
        versions.shipment_id,
        versions.updated_at,
        versions._loaded_at,
        cast(revision.revision_json ->> 'revised_at' as timestamptz) as revised_at,
        cast(revision.revision_json ->> 'etd_planned' as date) as etd_planned_date,
        cast(revision.revision_json ->> 'eta_planned' as date) as eta_planned_date,
        revision.revision_json ->> 'reason' as revision_reason
    from versions
    cross join
        lateral jsonb_array_elements(
            case
                when jsonb_typeof(versions.payload -> 'plan_revisions') = 'array'
                    then versions.payload -> 'plan_revisions'
                else cast('[]' as jsonb)
            end
        ) as revision (revision_json)
),

deduplicated as (
    select distinct on (shipment_id, revised_at) *
    from revisions
    where revised_at <= {{ as_of_cutoff() }}
    order by
        shipment_id asc,
        revised_at asc,
        updated_at desc,
        _loaded_at desc
),

final as (
    select
        shipment_id || '@' || to_char(revised_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
            as plan_revision_id,
        shipment_id,
        revised_at,
        row_number() over (partition by shipment_id order by revised_at) - 1 as revision_number,
        etd_planned_date,
        eta_planned_date,
        revision_reason,
        revised_at = min(revised_at) over (partition by shipment_id) as is_original_plan,
        revised_at = max(revised_at) over (partition by shipment_id) as is_latest_plan
    from deduplicated
)

select * from final
