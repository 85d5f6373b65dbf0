{#- SAP DATS 'YYYYMMDD' to date; '00000000' and blanks are null. -#}
{% macro sap_date(column) -%}
    case
        when nullif(trim({{ column }}), '') is null or {{ column }} = '00000000' then null
        else to_date({{ column }}, 'YYYYMMDD')
    end
{%- endmacro %}

{#- Each ERP row as known at the run's cutoff: its latest version changed by then, unless that version is a
    tombstone (the row was deleted by then: change documents or key reconciliation, see o2c.loading.land).
    A row first read by the entity's first load whose versions are all later (it changed after the cutoff
    before o2c first read it, e.g. an invoice cleared after the as-of date of a backfill) falls back to
    that earliest version; models then keep what exists by the as-of date using business dates. A row
    first seen by an incremental load did not exist before its change time. With `reconciled`, a
    key-reconciliation tombstone disproved by a later-landed older version is ignored (customer items;
    see void_reconciliation_tombstone).
    A version that breaks a type contract of the table (macros/type_contracts.sql) is not selected: the key
    keeps its previous valid version, and a key with none is absent (type_contract_rejects records it).
    `keys` default to the table's declared keys (_erp__sources.yml) and must match them when both are set. -#}
{% macro erp_latest(table, keys=none, reconciled=false) -%}
    {%- set declared = type_contracts(table)['keys'] -%}
    {%- if keys is none -%}
        {%- set keys = declared -%}
    {%- elif declared and (keys | list) != (declared | list) -%}
        {{ exceptions.raise_compiler_error(
            "erp_latest('" ~ table ~ "'): keys " ~ keys ~ " differ from those declared in _erp__sources.yml: "
            ~ declared
        ) }}
    {%- endif -%}
    select * from (
        select distinct on ({{ keys | join(', ') }}) *
        from {{ source('erp', table) }} as versions
        where
            {{ keeps_type_contracts(table, 'versions') }}
            {%- if reconciled %}
            and not {{ void_reconciliation_tombstone('versions', source('erp', table), keys) }}
            {%- endif %}
        order by
            {{ keys | join(', ') }},
            cast(changed_at as timestamptz) <= {{ as_of_cutoff() }} desc,
            case
                when cast(changed_at as timestamptz) <= {{ as_of_cutoff() }}
                    then cast(changed_at as timestamptz)
            end desc nulls last,
            cast(changed_at as timestamptz) asc,
            _loaded_at desc
    ) as latest_versions
    where
        not latest_versions._is_deleted
        and (
            cast(latest_versions.changed_at as timestamptz) <= {{ as_of_cutoff() }}
            or latest_versions._is_initial
        )
{%- endmacro %}

{#- A key-reconciliation tombstone only records that the key was absent when the source was read. A version
    of the same key landed later whose change time is not after the tombstone's was committed after that
    read (a late commit): the key did exist then, and the tombstone is void. -#}
{% macro void_reconciliation_tombstone(alias, relation, keys) -%}
    (
        {{ alias }}._source = 'tombstone:reconciliation'
        and exists (
            select 1 from {{ relation }} as later_versions
            where
                {% for key in keys -%}
                later_versions.{{ key }} = {{ alias }}.{{ key }} and
                {% endfor -%}
                not later_versions._is_deleted
                and later_versions._loaded_at > {{ alias }}._loaded_at
                and cast(later_versions.changed_at as timestamptz)
                <= cast({{ alias }}.changed_at as timestamptz)
        )
    )
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

{#- SAP inverted date (TCURR-GDATU, ABAP "CONVERT DATE ... INTO INVERTED-DATE") to date: the nine's complement
    99999999 - YYYYMMDD as 8 characters, so that the newest date sorts first ('79739398' is 2026-06-01).
    Blanks, non-numeric values, '99999999' (an inverted 00000000) and values whose date is no calendar date
    are null (such values break GDATU's type contract: staging never sees them; the guard also keeps a
    filter on the key, which PostgreSQL may evaluate before the contract, from failing). -#}
{% macro sap_inverted_date(column) -%}
    case
        when {{ sap_inverted_date_is_valid(column) }}
            then to_date(lpad(cast(99999999 - cast(trim({{ column }}) as integer) as text), 8, '0'), 'YYYYMMDD')
    end
{%- endmacro %}

{#- SAP month YYYYMM (e.g. ZMM_PRICE_BENCH-SPMON) to the date of its first day; anything else is null (it
    breaks the sap_month type contract; the guard keeps a filter on the key from failing, as above). -#}
{% macro sap_month(column) -%}
    case
        when {{ sap_month_is_valid(column) }} then to_date({{ column }} || '01', 'YYYYMMDD')
    end
{%- endmacro %}

{#- A TCURR rate as units of TCURR per 1 unit of FCURR (inverse=false) or of FCURR per 1 TCURR (inverse=true).
    UKURS < 0 is an indirect quotation (the rate is 1 / |UKURS|); FFACT/TFACT are the from/to ratio factors
    (blank or 0 means 1): TCURR amount = FCURR amount * rate * TFACT / FFACT. Each direction is computed from
    the quoted figures, so the quoted direction stays exact; trailing zeros are trimmed. UKURS 0 or blank is
    null. -#}
{% macro sap_exchange_rate(ukurs, ffact, tfact, inverse=false) -%}
    {%- set quoted = "cast(nullif(trim(cast(" ~ ukurs ~ " as text)), '') as numeric)" -%}
    {%- set from_factor = "coalesce(nullif(cast(nullif(trim(cast(" ~ ffact ~ " as text)), '') as numeric), 0), 1)" -%}
    {%- set to_factor = "coalesce(nullif(cast(nullif(trim(cast(" ~ tfact ~ " as text)), '') as numeric), 0), 1)" -%}
    trim_scale(case
        {%- if inverse %}
        when {{ quoted }} < 0 then -{{ quoted }} * {{ from_factor }} / {{ to_factor }}
        when {{ quoted }} > 0 then {{ from_factor }} / ({{ quoted }} * {{ to_factor }})
        {%- else %}
        when {{ quoted }} < 0 then {{ to_factor }} / (-{{ quoted }} * {{ from_factor }})
        when {{ quoted }} > 0 then {{ quoted }} * {{ to_factor }} / {{ from_factor }}
        {%- endif %}
    end)
{%- endmacro %}

{#- Every version of an ERP row over business dates, as known at the run's cutoff: a query with the raw
    columns plus `change_date`, `valid_from_date` and `valid_to_date` (exclusive), one row per key and business
    date on which a version changed it (the last version changed by that date's cutoff wins: business_date_of).
    A tombstone ends the previous version (`_is_deleted` rows are returned so callers can end an interval
    there). The key's first version, when landed by the entity's first load (_is_initial: o2c did not see it
    change), stands from -infinity; as in erp_latest, such a version changed after the cutoff stands alone
    when it is all the key has. Versions breaking a type contract are left out, as in erp_latest, and so are
    key-reconciliation tombstones a later-landed older version disproves. -#}
{% macro erp_history(table, keys=none) -%}
    {%- set keys = keys if keys is not none else type_contracts(table)['keys'] -%}
    {%- set by_key = keys | join(', ') -%}
    select
        *,
        case
            when _is_initial and row_number() over (partition by {{ by_key }} order by change_date) = 1
                then cast('-infinity' as date)
            else change_date
        end as valid_from_date,
        coalesce(
            lead(change_date) over (partition by {{ by_key }} order by change_date),
            cast('infinity' as date)
        ) as valid_to_date
    from (
        select distinct on ({{ by_key }}, change_date) *
        from (
            select
                *,
                {{ business_date_of('cast(changed_at as timestamptz)') }} as change_date,
                cast(changed_at as timestamptz) <= {{ as_of_cutoff() }} as is_known,
                row_number() over (
                    partition by {{ by_key }} order by cast(changed_at as timestamptz), _loaded_at desc
                ) as version_number
            from {{ source('erp', table) }} as versions
            where
                {{ keeps_type_contracts(table, 'versions') }}
                and not {{ void_reconciliation_tombstone('versions', source('erp', table), keys) }}
        ) as numbered_versions
        where
            is_known
            or (
                _is_initial and version_number = 1
                and not exists (
                    select 1 from {{ source('erp', table) }} as known_versions
                    where
                        {% for key in keys -%}
                        known_versions.{{ key }} = numbered_versions.{{ key }} and
                        {% endfor -%}
                        cast(known_versions.changed_at as timestamptz) <= {{ as_of_cutoff() }}
                )
            )
        order by {{ by_key }}, change_date, cast(changed_at as timestamptz) desc, _loaded_at desc
    ) as daily_versions
{%- endmacro %}

{#- A customer's sales region from its country (var customer_regions; 'Other' when the country is not listed). -#}
{% macro customer_region(country_code) -%}
    case {{ country_code }}
        {%- for country, region in var('customer_regions').items() %}
        when '{{ country }}' then '{{ region }}'
        {%- endfor %}
        else 'Other'
    end
{%- endmacro %}

{#- A billing type's category and sign (var billing_categories; unlisted types: 'invoice', +1). -#}
{% macro billing_category(fkart) -%}
    case {{ fkart }}
        {%- for billing_type, spec in var('billing_categories').items() %}
        when '{{ billing_type }}' then '{{ spec.category }}'
        {%- endfor %}
        else 'invoice'
    end
{%- endmacro %}

{% macro billing_sign(fkart) -%}
    case {{ fkart }}
        {%- for billing_type, spec in var('billing_categories').items() %}
        when '{{ billing_type }}' then {{ spec.sign }}
        {%- endfor %}
        else 1
    end
{%- endmacro %}
