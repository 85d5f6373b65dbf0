{#- SAP DATS 'YYYYMMDD' to date; '00000000' and blanks are null. -#}
{% macro sap_date(column) -%}
    case
        when nullif(trim({{ column }}), '') is null or {{ column }} = '00000000' then null
        else to_date({{ column }}, 'YYYYMMDD')
    end
{%- endmacro %}

{#- Each ERP row as known at the run's cutoff: its latest version changed by then. A row whose every
    extracted version is later (it changed after the cutoff before o2c first read it, e.g. an invoice
    cleared after the as-of date of a backfill) falls back to its earliest extracted version; models then
    keep only what exists by the as-of date using business dates (posting, order, invoice dates). -#}
{% macro erp_latest(table, keys) -%}
    select distinct on ({{ keys | join(', ') }}) *
    from {{ source('erp', table) }}
    order by
        {{ keys | join(', ') }},
        cast(changed_at as timestamptz) <= {{ as_of_cutoff() }} desc,
        case
            when cast(changed_at as timestamptz) <= {{ as_of_cutoff() }} then cast(changed_at as timestamptz)
        end desc nulls last,
        cast(changed_at as timestamptz) asc,
        _loaded_at desc
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
