{#- SAP DATS 'YYYYMMDD' to date; '00000000' and blanks are null. -#}
{% macro sap_date(column) -%}
    case
        when nullif(trim({{ column }}), '') is null or {{ column }} = '00000000' then null
        else to_date({{ column }}, 'YYYYMMDD')
    end
{%- endmacro %}

{#- The latest version of each ERP row known at the run's cutoff (raw keeps every extracted version). -#}
{% macro erp_latest(table, keys) -%}
    select distinct on ({{ keys | join(', ') }}) *
    from {{ source('erp', table) }}
    where cast(changed_at as timestamptz) <= {{ as_of_cutoff() }}
    order by {{ keys | join(', ') }}, cast(changed_at as timestamptz) desc, _loaded_at desc
{%- endmacro %}

{#- Days past due to aging bucket (DESIGN.md 6). -#}
{% macro aging_bucket(days_past_due) -%}
    case
        when {{ days_past_due }} <= 0 then 'not_due'
        when {{ days_past_due }} <= 30 then '1-30'
        when {{ days_past_due }} <= 60 then '31-60'
        when {{ days_past_due }} <= 90 then '61-90'
        when {{ days_past_due }} <= 180 then '91-180'
        else '>180'
    end
{%- endmacro %}
