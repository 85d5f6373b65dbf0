{#- Type contracts of raw ERP columns (DECISIONLOG.md, "Extraction and landing": type contracts).

    Raw columns are text as SAP writes them; staging casts them. Each raw column that staging casts declares
    its contract once, in models/staging/erp/_erp__sources.yml (column `config: {meta: {contract: ...}}`, plus
    `blank_ok: true` where staging reads a blank as no value), and each table its key columns (table
    `config: {meta: {keys: [...]}}`). A version breaking a contract is left out of the version selection
    (erp_latest, customer_item_states), so no cast can fail on it, and model type_contract_rejects records it
    with the reason.

    Contracts (NULL always keeps them; a check is a regex (numbers) or integer arithmetic behind a CASE
    that lets only digits reach the cast (dates), and never raises):
    - numeric: a decimal number as PostgreSQL's numeric reads it: optional sign, digits, optional fraction,
      surrounding spaces ('-12.5', '100.000'); not SAP's display form with a trailing minus ('12.5-'), not
      NaN or exponents; blank only with blank_ok;
    - integer: a whole number of at most 9 digits (it always fits an integer); blank only with blank_ok;
    - sap_date: DATS, a calendar date YYYYMMDD from year 0001 ('20240229' yes, '20230229' and '20261345'
      no), or '00000000' or blank (no date: macro sap_date);
    - sap_month: a month YYYYMM from year 0001;
    - sap_inverted_date: TCURR-GDATU, 99999999 - YYYYMMDD as 8 digits whose date is a calendar date, or
      '99999999' or blank (no date: macro sap_inverted_date). -#}

{#- SQL true when `n`, an integer expression YYYYMMDD, is a calendar date from year 0001: months 1-12, days up
    to the month's length, 29 February in leap years (divisible by 4; centuries by 400). Integer arithmetic
    only: about three times cheaper than a calendar regex, and it works on any PostgreSQL version. -#}
{% macro yyyymmdd_is_date(n) -%}
    ({{ n }} >= 10000
    and {{ n }} / 100 % 100 between 1 and 12
    and {{ n }} % 100 between 1 and case {{ n }} / 100 % 100
        when 2 then case
            when {{ n }} / 10000 % 4 = 0 and ({{ n }} / 10000 % 100 <> 0 or {{ n }} / 10000 % 400 = 0) then 29
            else 28
        end
        when 4 then 30 when 6 then 30 when 9 then 30 when 11 then 30
        else 31
    end)
{%- endmacro %}

{#- SQL true when `text` (an expression) is exactly `width` digits; only then may it be cast to integer (a
    CASE on this guards the cast: PostgreSQL does not promise to evaluate AND operands in order). -#}
{% macro is_digits(text, width) -%}
    (length({{ text }}) = {{ width }} and ltrim({{ text }}, '0123456789') = '')
{%- endmacro %}

{#- The contracts: the regex a value must match (numbers), or none (dates: checked by arithmetic below),
    whether a blank keeps the contract whatever blank_ok says, and how the reason reads. -#}
{% macro type_contract_definitions() -%}
    {{ return({
        'numeric': {
            'regex': '^ *[-+]?([0-9]+([.][0-9]*)?|[.][0-9]+) *$',
            'blank': false,
            'reason': 'is not a number',
        },
        'integer': {
            'regex': '^ *[-+]?[0-9]{1,9} *$',
            'blank': false,
            'reason': 'is not a whole number (at most 9 digits)',
        },
        'sap_date': {
            'regex': none,
            'blank': true,
            'reason': 'is not a calendar date YYYYMMDD (nor 00000000 or blank)',
        },
        'sap_month': {
            'regex': none,
            'blank': false,
            'reason': 'is not a month YYYYMM',
        },
        'sap_inverted_date': {
            'regex': none,
            'blank': true,
            'reason': 'is not an inverted date (99999999 - YYYYMMDD of a calendar date, 99999999 or blank)',
        },
    }) }}
{%- endmacro %}

{#- SQL true when `column` is a calendar date YYYYMMDD (8 digits); false otherwise, never an error. -#}
{% macro sap_date_is_valid(column) -%}
    case
        when {{ is_digits(column, 8) }} then {{ yyyymmdd_is_date('cast(' ~ column ~ ' as integer)') }}
        else false
    end
{%- endmacro %}

{#- SQL true when `column` is a month YYYYMM (6 digits) from year 0001. -#}
{% macro sap_month_is_valid(column) -%}
    case
        when {{ is_digits(column, 6) }} then {{ yyyymmdd_is_date('(cast(' ~ column ~ ' as integer) * 100 + 1)') }}
        else false
    end
{%- endmacro %}

{#- SQL true when `column` (TCURR-GDATU) is 8 digits whose date, 99999999 minus the value, is a calendar
    date. -#}
{% macro sap_inverted_date_is_valid(column) -%}
    case
        when {{ is_digits('trim(' ~ column ~ ')', 8) }}
            then {{ yyyymmdd_is_date('(99999999 - cast(trim(' ~ column ~ ') as integer))') }}
        else false
    end
{%- endmacro %}

{#- SQL that is true when `column` (a text expression) keeps `contract`; NULL always does. -#}
{% macro type_contract_check(contract, column, blank_ok=false) -%}
    {%- set definitions = type_contract_definitions() -%}
    {%- if contract not in definitions -%}
        {{ exceptions.raise_compiler_error(
            "unknown type contract '" ~ contract ~ "' (known: " ~ (definitions.keys() | list | join(', ')) ~ ")"
        ) }}
    {%- endif -%}
    {%- set definition = definitions[contract] -%}
    ({{ column }} is null
    {%- if definition.blank or blank_ok %} or trim({{ column }}) = ''{% endif %}
    {%- if contract == 'sap_date' %} or {{ column }} = '00000000' or {{ sap_date_is_valid(column) }}
    {%- elif contract == 'sap_month' %} or {{ sap_month_is_valid(column) }}
    {%- elif contract == 'sap_inverted_date' %}
        or trim({{ column }}) = '99999999' or {{ sap_inverted_date_is_valid(column) }}
    {%- else %} or {{ column }} ~ '{{ definition.regex }}'
    {%- endif %})
{%- endmacro %}

{#- Why a value breaks `contract`, completing "VBAP.KWMENG = 'abc' ...": "is not a number". -#}
{% macro type_contract_explanation(contract) -%}
    {{ return(type_contract_definitions()[contract]['reason']) }}
{%- endmacro %}

{#- A source table's declared key columns and typed columns: {'keys': [...], 'columns': [{'name', 'contract',
    'blank_ok'}]}, from the sources' YAML (dbt's graph, at compile time; empty while parsing and in dbt unit
    tests, whose graph has no sources). -#}
{% macro type_contracts(table, source_name='erp') -%}
    {%- set declared = {'keys': [], 'columns': []} -%}
    {%- set sources = graph.get('sources') if execute and graph is mapping else none -%}
    {%- if not sources -%}
        {#- parsing, or a dbt unit test (its graph holds no sources): no contracts -#}
        {{ return(declared) }}
    {%- endif -%}
    {%- set node = sources.get('source.' ~ project_name ~ '.' ~ source_name ~ '.' ~ table) -%}
    {%- if node is none -%}
        {{ exceptions.raise_compiler_error("no source " ~ source_name ~ "." ~ table ~ " is declared") }}
    {%- endif -%}
    {%- set table_meta = node.meta or {} -%}
    {%- do declared['keys'].extend(table_meta.get('keys') or []) -%}
    {%- for column in node.columns.values() -%}
        {%- set meta = column.meta or (column.config or {}).get('meta') or {} -%}
        {%- if meta.get('contract') -%}
            {%- do type_contract_check(meta['contract'], 'x') -%}
            {%- do declared['columns'].append({
                'name': column.name,
                'contract': meta['contract'],
                'blank_ok': meta.get('blank_ok', false),
            }) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if declared['columns'] and not declared['keys'] -%}
        {{ exceptions.raise_compiler_error(
            "source " ~ source_name ~ "." ~ table ~ " declares type contracts but no keys (table meta keys)"
        ) }}
    {%- endif -%}
    {{ return(declared) }}
{%- endmacro %}

{#- SQL that is true when a version (`alias`, a row of the raw table) keeps every contract of `table`; none
    declared: true. -#}
{% macro keeps_type_contracts(table, alias, source_name='erp') -%}
    {%- set columns = type_contracts(table, source_name)['columns'] -%}
    {%- if not columns -%}
        true
    {%- else -%}
        (
        {%- for column in columns %}
            {{ type_contract_check(column.contract, alias ~ '.' ~ column.name, column.blank_ok) }}
            {%- if not loop.last %} and{% endif %}
        {%- endfor %}
        )
    {%- endif -%}
{%- endmacro %}

{#- The ERP tables that declare type contracts (lower case), for type_contract_rejects. -#}
{% macro type_contract_tables(source_name='erp') -%}
    {%- set tables = [] -%}
    {%- if execute and graph is mapping and graph.get('sources') -%}
        {%- for node in graph.get('sources').values() | sort(attribute='name') -%}
            {%- if node.source_name == source_name and type_contracts(node.name, source_name)['columns'] -%}
                {%- do tables.append(node.name) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(tables) }}
{%- endmacro %}

{#- ---------------------------------------------------------------------------------------------------------
    type_contract_rejects: which landed versions a run checks. A batch of ops.load_batches is checked once
    per landing into it: the plan is every ERP batch of a table with contracts whose loaded_at (its last
    landing) differs from the one recorded when it was last checked (<this>__checked_batches, written by the
    post-hook). Landing writes a batch's versions and its load_batches row in one transaction, so every
    version of a planned batch is visible to the model. The plan is made when the model is compiled, into a
    session temp table that the model and its post-hook read (one connection, one transaction), so the
    post-hook records exactly what the model read. A full build checks every batch.
    --------------------------------------------------------------------------------------------------------- -#}

{% macro type_contract_rejects_checks_relation(relation=none) -%}
    {%- set base = relation if relation is not none else this -%}
    {{ return(api.Relation.create(
        database=base.database, schema=base.schema, identifier=base.identifier ~ '__checked_batches',
        type='table'
    )) }}
{%- endmacro %}

{#- Make the plan (a temp table: batch_id, entity, loaded_at) and return its name. -#}
{% macro type_contract_rejects_plan(tables) -%}
    {%- set plan_table = this.identifier ~ '__plan' -%}
    {%- if not execute or env_var('O2C_DBT_LINT', '') == '1' -%}
        {{ return(plan_table) }}
    {%- endif -%}
    {%- set checks = type_contract_rejects_checks_relation() -%}
    {%- set has_checks = false -%}
    {%- if is_incremental() -%}
        {%- set has_checks = relation_exists(checks.include(database=false)) -%}
    {%- else -%}
        {%- do run_query("drop table if exists " ~ checks) -%}
    {%- endif -%}
    {%- set plan_sql -%}
drop table if exists {{ plan_table }};
create temporary table {{ plan_table }} as
select
    batches.batch_id,
    batches.entity,
    batches.loaded_at
from {{ source('landing', 'load_batches') }} as batches
where
    batches.source = 'erp'
    and batches.entity in ({% for table in tables %}'{{ table | upper }}'{{ ', ' if not loop.last }}{% endfor %})
    {%- if has_checks %}
    and not exists (
        select 1 from {{ checks }} as checks
        where checks.batch_id = batches.batch_id and checks.loaded_at = batches.loaded_at
    )
    {%- endif %};
analyze {{ plan_table }};
    {%- endset -%}
    {%- do run_query(plan_sql) -%}
    {{ return(plan_table) }}
{%- endmacro %}

{#- Post-hook: record the batches this run checked; index the rejects not reported yet. -#}
{% macro type_contract_rejects_record_checks() -%}
    {%- set checks = type_contract_rejects_checks_relation() -%}
    {%- set plan_table = this.identifier ~ '__plan' -%}
create table if not exists {{ checks }} (
    batch_id text primary key,
    loaded_at timestamptz not null,
    checked_at timestamptz not null
);

insert into {{ checks }} (batch_id, loaded_at, checked_at)
select
    plan.batch_id,
    plan.loaded_at,
    now()
from {{ plan_table }} as plan
on conflict (batch_id) do update set loaded_at = excluded.loaded_at, checked_at = excluded.checked_at;

drop table {{ plan_table }};

create index if not exists {{ this.identifier }}__unreported_idx on {{ this }} (detected_at)
where reported_at is null;
{%- endmacro %}

{#- The rejects among the versions of `tables` landed in the plan's batches: one row per version and column
    breaking its contract (type_contract_rejects). -#}
{% macro type_contract_rejects_of(tables, plan) -%}
    {%- for table in tables %}
    {%- set contracts = type_contracts(table) %}
    select
        '{{ table | upper }}' as source_table,
        concat_ws('-', versions.{{ contracts['keys'] | join(', versions.') }}) as source_key,
        checked.column_name,
        checked.contract,
        checked.offending_value,
        '{{ table | upper }}.' || checked.column_name || ' = ' || quote_literal(checked.offending_value) || ' '
        || checked.explanation as reason,
        cast(versions.changed_at as timestamptz) as changed_at,
        versions._version_id as version_id,
        versions._batch_id as batch_id,
        versions._loaded_at as loaded_at
    from {{ source('erp', table) }} as versions
    cross join lateral (
        values
        {%- for column in contracts['columns'] %}
            (
                '{{ column.name | upper }}',
                '{{ column.contract }}',
                versions.{{ column.name }},
                {{ type_contract_check(column.contract, 'versions.' ~ column.name, column.blank_ok) }},
                '{{ type_contract_explanation(column.contract) }}'
            ){{ ',' if not loop.last }}
        {%- endfor %}
    ) as checked (column_name, contract, offending_value, keeps_contract, explanation)
    where
        versions._batch_id in (
            select plan.batch_id from {{ plan }} as plan
            where plan.entity = '{{ table | upper }}'
        )
        and not checked.keeps_contract
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
{%- endmacro %}
