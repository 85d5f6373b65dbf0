{#- Exact history of customer items and the rebuild bookkeeping of fct_receivables_daily.
    See DECISIONLOG.md (Warehouse) for the rules; o2c.business_calendar for the cutoff. -#}

{#- The moment business date `day` (a date expression) closes: day + 1 at the cutoff, business time zone. -#}
{% macro cutoff_of(day) -%}
    (({{ day }} + 1 + time '{{ var("business_day_cutoff") }}') at time zone '{{ var("business_timezone") }}')
{%- endmacro %}

{#- The first business date whose cutoff is at or after `moment` (timestamptz): the first snapshot that sees a
    change made then. A change exactly at a cutoff belongs to that cutoff's date; +-infinity stay infinite. -#}
{% macro business_date_of(moment) -%}
    (cast(
        ({{ moment }} at time zone '{{ var("business_timezone") }}')
        - interval '1 day'
        - cast('{{ var("business_day_cutoff") }}' as interval)
        - interval '1 microsecond'
        as date
    ) + 1)
{%- endmacro %}

{#- Columns of a customer-item state, in one order for BSID and BSAD. -#}
{% macro customer_item_state_columns() -%}
    {{ return([
        'customer_item_id', 'company_code', 'accounting_document_id', 'fiscal_year', 'line_item', 'customer_id',
        'invoice_id', 'reference', 'is_credit', 'reference_invoice_document', 'posting_date', 'baseline_date',
        'net_due_date', 'payment_terms_code', 'amount', 'currency_code', 'clearing_date', 'clearing_document_id',
    ]) }}
{%- endmacro %}

{#- Every state a customer FI item has had, with the change times it was valid between: a query, one row per
    item and interval [valid_from, valid_to) in which the item existed, open (BSID) or cleared (BSAD).
    At any cutoff t, the row with valid_from <= t < valid_to is what int_customer_items shows at t:
    - per table, each change time keeps the version loaded last; a version is valid from its change time to
      the next version's (a tombstone: the key is gone from that table);
    - the first version of a key, if landed by the entity's first load (_is_initial), stands from -infinity
      (the erp_latest fallback; callers keep what existed by business dates);
    - BSID and BSAD versions of one key interleave (clearing, reset, re-clearing): where both are alive, the
      one changed last wins, BSAD on a tie (the BSID -> BSAD move is one transaction);
    - a version breaking a type contract (macros/type_contracts.sql) is left out, as in erp_latest: the
      previous valid version stays valid until the next valid one.
    `in_play`: optional name of a relation (bukrs, belnr, gjahr, buzei) the raw versions are restricted to,
    so a caller reads only the keys it needs (raw_erp.bsid/bsad are indexed on their keys). -#}
{% macro customer_item_states(in_play=none) -%}
    {%- set columns = customer_item_state_columns() -%}
with

{% for table in ['bsid', 'bsad'] -%}
{{ table }}_versions as (
    select distinct on (customer_item_id, changed_at) *
    from (
        select
            {{ customer_item_columns(cleared=(table == 'bsad')) }},
            {%- if table == 'bsid' %}
            cast(null as date) as clearing_date,
            cast(null as text) as clearing_document_id,
            {%- endif %}
            {{ 1 if table == 'bsad' else 0 }} as priority,
            _is_deleted as is_deleted,
            _is_initial as is_initial,
            _loaded_at as loaded_at
        from {{ source('erp', table) }} as versions
        where
            {{ keeps_type_contracts(table, 'versions') }}
            and not {{ void_reconciliation_tombstone('versions', source('erp', table), ['bukrs', 'belnr', 'gjahr', 'buzei']) }}
            {%- if in_play %}
            and (bukrs, belnr, gjahr, buzei) in (select bukrs, belnr, gjahr, buzei from {{ in_play }})
            {%- endif %}
    ) as typed_versions
    order by customer_item_id asc, changed_at asc, loaded_at desc
),

{% endfor -%}
table_intervals as (
    {%- for table in ['bsid', 'bsad'] %}
    select
        {%- for column in columns %}
        {{ column }},
        {%- endfor %}
        changed_at,
        priority,
        is_deleted,
        case
            when is_initial and row_number() over item_history = 1 then cast('-infinity' as timestamptz)
            else changed_at
        end as valid_from,
        coalesce(lead(changed_at) over item_history, cast('infinity' as timestamptz)) as valid_to
    from {{ table }}_versions
    window item_history as (partition by customer_item_id order by changed_at)
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

boundaries as (
    select distinct
        customer_item_id,
        valid_from
    from table_intervals
),

segments as (
    select
        customer_item_id,
        valid_from,
        coalesce(
            lead(valid_from) over (partition by customer_item_id order by valid_from),
            cast('infinity' as timestamptz)
        ) as valid_to
    from boundaries
),

segment_states as (
    select distinct on (segments.customer_item_id, segments.valid_from)
        {%- for column in columns %}
        table_intervals.{{ column }},
        {%- endfor %}
        table_intervals.changed_at,
        table_intervals.priority,
        segments.valid_from,
        segments.valid_to
    from segments
    inner join table_intervals
        on segments.customer_item_id = table_intervals.customer_item_id
            and table_intervals.valid_from <= segments.valid_from
            and segments.valid_from < table_intervals.valid_to
    where not table_intervals.is_deleted
    order by
        segments.customer_item_id asc,
        segments.valid_from asc,
        table_intervals.changed_at desc,
        table_intervals.priority desc
),

-- adjacent segments showing the same version are one state
state_starts as (
    select
        *,
        coalesce(
            lag(valid_to) over item_history = valid_from
            and lag(changed_at) over item_history = changed_at
            and lag(priority) over item_history = priority,
            false
        ) as continues_previous
    from segment_states
    window item_history as (partition by customer_item_id order by valid_from)
),

state_groups as (
    select
        *,
        count(*) filter (where not continues_previous) over (
            partition by customer_item_id order by valid_from rows unbounded preceding
        ) as state_number
    from state_starts
),

states as (
    select distinct on (customer_item_id, state_number)
        {%- for column in columns %}
        {{ column }},
        {%- endfor %}
        priority = 1 as is_cleared,
        changed_at,
        valid_from,
        max(valid_to) over (partition by customer_item_id, state_number) as valid_to
    from state_groups
    order by customer_item_id asc, state_number asc, valid_from asc
)

select * from states
{%- endmacro %}

{#- ---------------------------------------------------------------------------------------------------------
    fct_receivables_daily: which snapshot dates a run rebuilds. The plan is computed once, when the model is
    compiled, into a session temp table read by the model, the replace_snapshot_dates strategy and the
    post-hook (all on the model's connection, in its transaction). Bookkeeping: <model>__builds, next to the
    model (same schema: the shadow copy under write-audit-publish), one row per built snapshot date with
    `loaded_through` (the max _loaded_at of the raw tables a snapshot depends on when it was last checked or
    built), the as-of date of the run that built it, its row count and checksum, and when it was built.
    --------------------------------------------------------------------------------------------------------- -#}

{#- An order-independent checksum of a snapshot date's rows (`alias`: the table's alias, a whole row). -#}
{% macro receivables_fingerprint(alias) -%}
    coalesce(sum(hashtextextended(cast({{ alias }} as text), 0)), 0)
{%- endmacro %}

{% macro receivables_builds_relation(relation=none) -%}
    {%- set base = relation if relation is not none else this -%}
    {{ return(api.Relation.create(
        database=base.database, schema=base.schema, identifier=base.identifier ~ '__builds', type='table'
    )) }}
{%- endmacro %}

{% macro receivables_plan_table(relation=none) -%}
    {%- set base = relation if relation is not none else this -%}
    {{ return(base.identifier ~ '__plan') }}
{%- endmacro %}

{#- Raw tables whose new versions can change a snapshot, with the first snapshot date a version affects:
    customer items (the business date of the change; an initial version stands for dates from its posting
    date), type-M rates (their valid-from date) and the customers' owner (the business date of the change;
    an initial version: every date). A customer-item version breaking a type contract changes nothing. -#}
{% macro receivables_changes(since) -%}
    {%- for table in ['bsid', 'bsad'] %}
    select
        _loaded_at as loaded_at,
        least(
            {{ business_date_of('cast(changed_at as timestamptz)') }},
            case
                when _is_initial
                    then least({{ sap_date('budat') }}{% if table == 'bsad' %}, {{ sap_date('augdt') }}{% endif %})
            end
        ) as affected_date
    from {{ source('erp', table) }} as versions
    where versions._loaded_at > {{ since }} and {{ keeps_type_contracts(table, 'versions') }}
    union all
    {%- endfor %}
    select
        _loaded_at as loaded_at,
        {{ sap_inverted_date('gdatu') }} as affected_date
    from {{ source('erp', 'tcurr') }}
    where _loaded_at > {{ since }} and kurst = '{{ var("reporting_rate_type") }}'
    {%- for table in ['knvp', 'kna1'] %}
    union all
    select
        _loaded_at as loaded_at,
        case
            when _is_initial then cast('-infinity' as date)
            else {{ business_date_of('cast(changed_at as timestamptz)') }}
        end as affected_date
    from {{ source('erp', table) }}
    where _loaded_at > {{ since }}
    {%- endfor %}
{%- endmacro %}

{#- The rebuild plan of this run (a dict: first_date, last_date as 'YYYY-MM-DD', restrict_keys), also left in
    the session temp table receivables_plan_table() for the strategy and the post-hook.
    - Full build: every date from the first posting to the as-of date.
    - Incremental: from the earliest of (a) the first stale built date: a date d built when the raw tables
      were loaded through m is stale if a version loaded after m affects a date <= d; (b) the first date
      between the first posting and the as-of date that was never built (a missed night); (c) the first
      date of the last build that the table no longer holds as built (its checksum differs: that build was
      not published, write-audit-publish restored the published rows; not checked when ops.published_marts
      shows the table published after that build); to the as-of date. Dates after the
      as-of date are never built by this run; those stale stay marked stale.
    - restrict_keys: the day before the first rebuilt date is built and current, so the items in play are
      those open on it plus those changed since its cutoff and those posted from the first rebuilt date. -#}
{% macro receivables_daily_plan() -%}
    {%- set full_build = not is_incremental() -%}
    {%- if not execute or env_var('O2C_DBT_LINT', '') == '1' -%}
        {{ return({'first_date': '2000-01-01', 'last_date': '2000-01-01', 'restrict_keys': true}) }}
    {%- endif -%}
    {%- set builds = receivables_builds_relation() -%}
    {%- set plan_table = receivables_plan_table() -%}
    {%- set has_builds = false -%}
    {%- if not full_build -%}
        {%- set has_builds = relation_exists(builds.include(database=false)) -%}
    {%- endif -%}
    {%- set as_of = as_of_date() -%}
    {%- set publish_log = none -%}
    {%- if has_builds -%}
        {%- set publish_log = 'ops.published_marts' if relation_exists('ops.published_marts') else none -%}
    {%- endif -%}
    {%- set plan_sql -%}
drop table if exists {{ plan_table }};
create temporary table {{ plan_table }} as
with

builds as (
    {%- if has_builds %}
    select snapshot_date, loaded_through, item_count, fingerprint, built_at from {{ builds }}
    {%- else %}
    select
        cast(null as date) as snapshot_date,
        cast(null as timestamptz) as loaded_through,
        cast(null as bigint) as item_count,
        cast(null as numeric) as fingerprint,
        cast(null as timestamptz) as built_at
    where false
    {%- endif %}
),

loaded as (
    select coalesce(greatest(
        {%- for table in ['bsid', 'bsad', 'tcurr', 'knvp', 'kna1'] %}
        (select max(_loaded_at) from {{ source('erp', table) }}){{ ',' if not loop.last }}
        {%- endfor %}
    ), cast('-infinity' as timestamptz)) as loaded_through
),

first_posting as (
    select to_date(min(budat), 'YYYYMMDD') as first_date
    from (
        {%- for table in ['bsid', 'bsad'] %}
        select min(budat) as budat
        from {{ source('erp', table) }}
        where budat > '00000000' and {{ type_contract_check('sap_date', 'budat') }}
        {%- if not loop.last %}
        union all
        {%- endif %}
        {%- endfor %}
    ) as firsts
),

changes as (
    {{ receivables_changes('(select min(loaded_through) from builds)') }}
),

first_affected as (
    select
        markers.loaded_through,
        min(changes.affected_date) as affected_date
    from (select distinct loaded_through from builds) as markers
    inner join changes on changes.loaded_at > markers.loaded_through
    group by markers.loaded_through
),

stale_dates as (
    select builds.snapshot_date
    from builds
    inner join first_affected on builds.loaded_through = first_affected.loaded_through
    where builds.snapshot_date >= first_affected.affected_date
),

missing_dates as (
    select cast(calendar_day as date) as snapshot_date
    from first_posting
    cross join lateral generate_series(first_posting.first_date, {{ as_of }}, interval '1 day') as calendar_day
    where not exists (select 1 from builds where builds.snapshot_date = cast(calendar_day as date))
),

-- dates the last build wrote that the table no longer holds as written: that build was not published and
-- write-audit-publish restored the published rows (o2c.transform.publish), or the rows were changed by hand.
-- When the publish log shows this table published after its last build, the build is what the table holds:
-- no fingerprints (after a full build they read every row of the history: 3 million rows on the 3-year demo)
last_build_published as (
    {%- if publish_log is not none %}
    select exists (
        select 1 from {{ publish_log }} as published
        where
            published.shadow_relation = '{{ this.schema }}.{{ this.identifier }}'
            and published.published_at > (select max(builds.built_at) from builds)
    ) as is_published
    {%- else %}
    select false as is_published
    {%- endif %}
),

last_build_dates as (
    {%- if has_builds %}
    select builds.snapshot_date
    from builds
    left join (
        select
            snapshot_date,
            count(*) as item_count,
            {{ receivables_fingerprint('current_rows') }} as fingerprint
        from {{ this }} as current_rows
        where
            snapshot_date in (select snapshot_date from builds where built_at = (select max(built_at) from builds))
            and not (select is_published from last_build_published)
        group by snapshot_date
    ) as current_dates on builds.snapshot_date = current_dates.snapshot_date
    where builds.built_at = (select max(built_at) from builds)
        and not (select is_published from last_build_published)
        and (
            coalesce(current_dates.item_count, 0) <> builds.item_count
            or coalesce(current_dates.fingerprint, 0) <> builds.fingerprint
        )
    {%- else %}
    select cast(null as date) as snapshot_date where false
    {%- endif %}
),

rebuild as (
    select
        {%- if full_build %}
        (select first_date from first_posting) as first_date,
        cast(null as date) as stale_from
        {%- else %}
        least(
            (select min(snapshot_date) from stale_dates),
            (select min(snapshot_date) from missing_dates),
            (select min(snapshot_date) from last_build_dates)
        ) as first_date,
        (select min(snapshot_date) from stale_dates where snapshot_date > {{ as_of }}) as stale_from
        {%- endif %}
)

select
    {{ full_build }} as is_full_build,
    {{ as_of }} as as_of_date,
    coalesce(rebuild.first_date, {{ as_of }} + 1) as first_date,
    {{ as_of }} as last_date,
    rebuild.stale_from,
    loaded.loaded_through,
    exists (select 1 from builds where builds.snapshot_date = rebuild.first_date - 1) as restrict_keys
from rebuild
cross join loaded;

select
    cast(first_date as text) as first_date,
    cast(last_date as text) as last_date,
    restrict_keys
from {{ plan_table }};
    {%- endset -%}
    {%- set row = run_query(plan_sql).rows[0] -%}
    {{ return({'first_date': row[0], 'last_date': row[1], 'restrict_keys': row[2]}) }}
{%- endmacro %}

{#- Incremental strategy: replace the plan's snapshot dates whole (rows of dates left without open items go
    too), then insert the rebuilt rows. -#}
{% macro get_incremental_replace_snapshot_dates_sql(arg_dict) -%}
    {%- set target_relation = arg_dict['target_relation'] -%}
    {%- set plan_table = receivables_plan_table(target_relation) -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
delete from {{ target_relation }} as target
using {{ plan_table }} as plan
where target.snapshot_date between plan.first_date and plan.last_date;

insert into {{ target_relation }} ({{ columns }})
select {{ columns }}
from {{ arg_dict['temp_relation'] }}
{%- endmacro %}

{#- Post-hook: record the dates this run built with what they absorbed; mark current the dates it found not
    stale; leave stale dates after the as-of date marked stale; index the raw columns the plan reads. -#}
{% macro receivables_daily_record_builds() -%}
    {%- set builds = receivables_builds_relation() -%}
    {%- set plan_table = receivables_plan_table() -%}
create table if not exists {{ builds }} (
    snapshot_date date primary key,
    loaded_through timestamptz not null,
    as_of_date date not null,
    item_count bigint not null,
    fingerprint numeric not null,
    built_at timestamptz not null
);

delete from {{ builds }} as builds
using {{ plan_table }} as plan
where plan.is_full_build or builds.snapshot_date between plan.first_date and plan.last_date;

update {{ builds }} as builds
set loaded_through = plan.loaded_through
from {{ plan_table }} as plan
where builds.snapshot_date < plan.first_date
    or (
        builds.snapshot_date > plan.last_date
        and (plan.stale_from is null or builds.snapshot_date < plan.stale_from)
    );

insert into {{ builds }} (snapshot_date, loaded_through, as_of_date, item_count, fingerprint, built_at)
select
    cast(calendar_day as date),
    plan.loaded_through,
    plan.as_of_date,
    coalesce(written.item_count, 0),
    coalesce(written.fingerprint, 0),
    now()
from {{ plan_table }} as plan
cross join lateral generate_series(plan.first_date, plan.last_date, interval '1 day') as calendar_day
left join (
    select
        snapshot_date,
        count(*) as item_count,
        {{ receivables_fingerprint('written_rows') }} as fingerprint
    from {{ this }} as written_rows
    where snapshot_date between (select first_date from {{ plan_table }}) and (select last_date from {{ plan_table }})
    group by snapshot_date
) as written on cast(calendar_day as date) = written.snapshot_date;

drop table {{ plan_table }};

{% for table in ['bsid', 'bsad'] -%}
{%- for column in ['_loaded_at', 'budat'] -%}
{%- set index = table ~ '__' ~ column.lstrip('_') ~ '_idx' -%}
do $$
begin
    if to_regclass('{{ source('erp', table).schema }}.{{ index }}') is null then
        create index {{ index }} on {{ source('erp', table) }} ({{ column }});
    end if;
end
$$;
{% endfor -%}
{%- endfor -%}
{%- endmacro %}
