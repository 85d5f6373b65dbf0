{#- ---------------------------------------------------------------------------------------------------------
    Incremental marts derived from fct_receivables_daily's snapshot dates (fct_ar_aging): each run rebuilds
    exactly the dates the upstream model (re)built since this model last read them, so the nightly cost follows
    what changed, not the length of history. Bookkeeping: <this>__builds, one row per snapshot date with the
    upstream's built_at it was built from (upstream: <upstream>__builds, macros/receivables_history.sql).
    The plan (first_date, last_date: the range from the earliest such date to the as-of date; upstream rebuilds
    whole ranges up to the as-of date too) is computed when the model is compiled into the session temp table
    <this>__plan, which the replace_snapshot_dates strategy reads, and the post-hook
    follow_snapshot_builds_record() records and drops.
    --------------------------------------------------------------------------------------------------------- -#}

{#- `raw_tables`: ERP tables the model also reads directly, each a dict {table, initial_date}: a version of one
    landed since this model's last build makes its change's business date stale (an initial version, which
    o2c never saw change: the row's own date, the SQL expression initial_date, or every date when none);
    `first_date`: SQL for the first date a full build covers (default: the upstream's first built date). -#}
{% macro follow_snapshot_builds_plan(upstream, raw_tables=[], first_date=none) -%}
    {%- if not execute or env_var('O2C_DBT_LINT', '') == '1' -%}
        {{ return({'first_date': '2000-01-01', 'last_date': '2000-01-01'}) }}
    {%- endif -%}
    {%- set upstream_builds = receivables_builds_relation(ref(upstream)) -%}
    {%- set own_builds = receivables_builds_relation() -%}
    {%- set plan_table = receivables_plan_table() -%}
    {%- set has_builds = false -%}
    {%- if is_incremental() -%}
        {%- set has_builds = relation_exists(own_builds.include(database=false)) -%}
    {%- endif -%}
    {%- set as_of = as_of_date() -%}
    {%- set plan_sql -%}
drop table if exists {{ plan_table }};
create temporary table {{ plan_table }} as
with

unread as (
    select min(upstream.snapshot_date) as first_date
    from {{ upstream_builds }} as upstream
    {%- if has_builds %}
    left join {{ own_builds }} as own
        on upstream.snapshot_date = own.snapshot_date and upstream.built_at = own.upstream_built_at
    {%- endif %}
    where
        upstream.snapshot_date <= {{ as_of }}
        {%- if has_builds %}
        and own.snapshot_date is null
        {%- endif %}
),

raw_changes as (
    select cast(null as date) as first_date
    {%- if has_builds %}
    {%- for raw in raw_tables %}
    union all
    select min(
        case
            when versions._is_initial then {{ raw.get('initial_date') or "cast('-infinity' as date)" }}
            else {{ business_date_of('cast(versions.changed_at as timestamptz)') }}
        end
    )
    from {{ source('erp', raw.table) }} as versions
    where versions._loaded_at > (select min(own.loaded_through) from {{ own_builds }} as own)
    {%- endfor %}
    {%- endif %}
)

select
    {{ not has_builds }} as is_full_build,
    coalesce(
        {%- if not has_builds and first_date is not none %}
        ({{ first_date }}),
        {%- endif %}
        least((select first_date from unread), (select min(first_date) from raw_changes)),
        {{ as_of }} + 1
    ) as first_date,
    {{ as_of }} as last_date,
    coalesce(greatest(
        cast('-infinity' as timestamptz)
        {%- for raw in raw_tables %},
        (select max(_loaded_at) from {{ source('erp', raw.table) }})
        {%- endfor %}
    ), cast('-infinity' as timestamptz)) as loaded_through;

select cast(first_date as text), cast(last_date as text) from {{ plan_table }};
    {%- endset -%}
    {%- set row = run_query(plan_sql).rows[0] -%}
    {{ return({'first_date': row[0], 'last_date': row[1]}) }}
{%- endmacro %}

{#- Post-hook: record the upstream build each rebuilt date was read from; drop the plan. -#}
{% macro follow_snapshot_builds_record(upstream) -%}
    {%- set upstream_builds = receivables_builds_relation(ref(upstream)) -%}
    {%- set own_builds = receivables_builds_relation() -%}
    {%- set plan_table = receivables_plan_table() -%}
create table if not exists {{ own_builds }} (
    snapshot_date date primary key,
    upstream_built_at timestamptz,
    loaded_through timestamptz not null
);

delete from {{ own_builds }} as own
using {{ plan_table }} as plan
where plan.is_full_build or own.snapshot_date between plan.first_date and plan.last_date;

update {{ own_builds }} as own
set loaded_through = plan.loaded_through
from {{ plan_table }} as plan;

insert into {{ own_builds }} (snapshot_date, upstream_built_at, loaded_through)
select cast(calendar_day as date), upstream.built_at, plan.loaded_through
from {{ plan_table }} as plan
cross join lateral generate_series(plan.first_date, plan.last_date, interval '1 day') as calendar_day
left join {{ upstream_builds }} as upstream on cast(calendar_day as date) = upstream.snapshot_date;

drop table {{ plan_table }};
{%- endmacro %}
