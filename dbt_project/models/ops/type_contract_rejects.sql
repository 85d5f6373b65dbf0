{#- Grain: one row per landed ERP version and column that breaks the column's type contract (declared in
    models/staging/erp/_erp__sources.yml; macros/type_contracts.sql). Such a version is not in staging: its
    key keeps its previous valid version, or is absent if it has none (erp_latest). The reason names the
    table, the column and the value: "VBAP.KWMENG = 'abc' is not a number".

    Incremental, append only: a run checks the versions of the ERP batches landed since they were last
    checked (<this>__checked_batches; see type_contract_rejects_plan), and adds the rejects it does not hold
    yet (unique: version_id, column_name), so the work follows what was landed, not the history. Versions are
    immutable, so a reject never changes. detected_at / detected_as_of / dbt_invocation_id: the run that
    found it; reported_at: when o2c reported it (o2c.transform.rejects, after the build), null until then. -#}
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='append_new_columns',
        indexes=[
            {'columns': ['version_id', 'column_name'], 'unique': true},
            {'columns': ['source_table', 'source_key']},
        ],
        post_hook=["{{ type_contract_rejects_record_checks() }}"],
    )
}}

{%- set tables = type_contract_tables() %}
{%- set plan = type_contract_rejects_plan(tables) %}

with

rejects as (
    {{ type_contract_rejects_of(tables, plan) }}
),

final as (
    select
        'erp' as source_system,
        rejects.source_table,
        rejects.source_key,
        rejects.column_name,
        rejects.contract,
        rejects.offending_value,
        rejects.reason,
        rejects.changed_at,
        rejects.version_id,
        rejects.batch_id,
        rejects.loaded_at,
        {{ as_of_date() }} as detected_as_of,
        now() as detected_at,
        '{{ invocation_id }}' as dbt_invocation_id,
        cast(null as timestamptz) as reported_at
    from rejects
    {%- if is_incremental() %}
        where not exists (
                select 1 from {{ this }} as known
                where known.version_id = rejects.version_id and known.column_name = rejects.column_name
            )
    {%- endif %}
)

select * from final
