{#- dbt's relationships test, except for values that are the key of an ERP row with a version rejected by a
    type contract (ops.type_contract_rejects, source_table `rejected_table`): such a row may be absent from
    staging, so its dependents would fail the test, and one bad source value must not block the night's
    publish. The reject is reported instead (DECISIONLOG "Extraction and landing"). One failing row per child
    value without a parent. -#}
{% test relationships_unless_rejected(model, column_name, to, field, rejected_table) %}
with

children as (
    select {{ column_name }} as child_value
    from {{ model }}
    where {{ column_name }} is not null
),

parents as (
    select {{ field }} as parent_value
    from {{ to }}
),

rejected as (
    select source_key
    from {{ ref('type_contract_rejects') }}
    where source_system = 'erp' and source_table = '{{ rejected_table | upper }}'
)

select children.child_value
from children
left join parents on children.child_value = parents.parent_value
where
    parents.parent_value is null
    and not exists (select 1 from rejected where rejected.source_key = children.child_value)
{% endtest %}
