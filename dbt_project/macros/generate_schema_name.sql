{#- Plain schema names (staging, marts, ...) with no target prefix: they are the BI contract.
    Write-audit-publish: a schema listed in var o2c_published_schemas (marts) is built as its shadow,
    <schema><o2c_shadow_suffix> (marts_next), so refs and tests of a build resolve there and BI users never
    see an untested table. o2c.transform.publish moves what passed into the plain schema; a plain
    `dbt build` therefore never changes what BI reads. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- set schema = target.schema if custom_schema_name is none else custom_schema_name | trim -%}
    {%- if schema in var('o2c_published_schemas', []) -%}
        {{ schema ~ var('o2c_shadow_suffix', '_next') }}
    {%- else -%}
        {{ schema }}
    {%- endif -%}
{%- endmacro %}
