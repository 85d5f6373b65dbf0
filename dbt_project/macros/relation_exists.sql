{#- Whether a table or view exists in the warehouse now (at execution; false while parsing): `name` is
    'schema.table', or a relation. For bookkeeping tables the models keep beside themselves (<model>__builds,
    __checked_batches) and o2c's own ops tables, which dbt's graph does not know. -#}
{% macro relation_exists(name) -%}
    {%- if not execute -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set found = run_query("select to_regclass('" ~ name ~ "') is not null as found") -%}
    {{ return(found.columns[0].values()[0]) }}
{%- endmacro %}
