{#- The run's business date. Required at run time; lint/parse get a placeholder.
    It comes from the environment (O2C_AS_OF_DATE, set by o2c.transform.build) and is read only while
    executing, so a new date keeps dbt's partial parsing (a changed --vars forces a full parse of the
    project on every run). `--vars '{as_of_date: ...}'` still works for a hand-run dbt. -#}
{% macro as_of_date() -%}
    {%- set value = var('as_of_date', none) -%}
    {%- if value is none and execute -%}
        {%- set value = env_var('O2C_AS_OF_DATE', '') or none -%}
    {%- endif -%}
    {%- if value is none -%}
        {%- if execute and env_var('O2C_DBT_LINT', '') != '1' -%}
            {{ exceptions.raise_compiler_error("set O2C_AS_OF_DATE=YYYY-MM-DD (or --vars '{as_of_date: YYYY-MM-DD}'): models never read the clock") }}
        {%- endif -%}
        {%- set value = '2000-01-01' -%}
    {%- endif -%}
    cast('{{ value }}' as date)
{%- endmacro %}

{#- The moment the as-of business date closes: the cutoff (o2c.business_calendar.CUTOFF, passed as
    business_day_cutoff) the next day, business time zone, as timestamptz. -#}
{% macro as_of_cutoff() -%}
    (({{ as_of_date() }} + 1 + time '{{ var("business_day_cutoff") }}') at time zone '{{ var("business_timezone") }}')
{%- endmacro %}
