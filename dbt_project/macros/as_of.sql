{#- The run's business date. Required at run time; lint/parse get a placeholder. -#}
{% macro as_of_date() -%}
    {%- set value = var('as_of_date', none) -%}
    {%- if value is none -%}
        {%- if execute and env_var('O2C_DBT_LINT', '') != '1' -%}
            {{ exceptions.raise_compiler_error("pass --vars '{as_of_date: YYYY-MM-DD}': models never read the clock") }}
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
