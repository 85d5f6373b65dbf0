{#- Customers over time (SCD2). Grain: one row per customer and period [valid_from, valid_to) of business
    dates (Asia/Shanghai) in which its tracked attributes stayed the same, as known at the run's cutoff: name and
    country (KNA1), sales region (from the country, var customer_regions), payment terms (KNB1, company code
    1000), credit limit (KNKK, control area 1000) and owning sales rep (KNVP, partner function VE in sales org
    1000). A change becomes valid on the business date whose cutoff first sees it (erp_history). valid_to is
    exclusive; the current row's is 9999-12-31. Values before a landed version come from SAP's change
    documents (int_customer_field_changes): a first load, or a night with several changes, lands only a row's
    latest version, and CDPOS keeps each step with its old value (macro field_value below). The first row starts at the customer's creation date
    (KNA1 ERDAT) or its first known change, whichever is earlier. A customer deleted in the ERP (a KNA1
    tombstone) ends there. A table (a few rows per customer): facts join it by customer and date range, and as a
    view its change-document lookups would run again for every fact row. -#}
{{ config(materialized='table', indexes=[{'columns': ['customer_id', 'valid_from'], 'unique': true}]) }}

with

general as (
    select * from ({{ erp_history('kna1') }}) as kna1_history
),

company_codes as (
    select * from ({{ erp_history('knb1') }}) as knb1_history
    where bukrs = '1000'
),

credit_limits as (
    select * from ({{ erp_history('knkk') }}) as knkk_history
    where kkber = '1000'
),

owners as (
    select * from ({{ erp_history('knvp') }}) as knvp_history
    where vkorg = '1000' and parvw = 'VE'
),

field_changes as (select * from {{ ref('int_customer_field_changes') }}),

boundaries as (
    select
        kunnr,
        valid_from_date
    from general
    union
    select
        kunnr,
        valid_from_date
    from company_codes
    union
    select
        kunnr,
        valid_from_date
    from credit_limits
    union
    select
        kunnr,
        valid_from_date
    from owners
    union
    select
        customer_id as kunnr,
        change_date as valid_from_date
    from field_changes
),

segments as (
    select
        kunnr,
        valid_from_date,
        coalesce(
            lead(valid_from_date) over (partition by kunnr order by valid_from_date), cast('infinity' as date)
        ) as valid_to_date
    from boundaries
),

version_states as (
    select
        segments.kunnr as customer_id,
        segments.valid_from_date,
        segments.valid_to_date,
        general.valid_to_date as general_valid_to,
        company_codes.valid_to_date as company_code_valid_to,
        credit_limits.valid_to_date as credit_limit_valid_to,
        owners.valid_to_date as owner_valid_to,
        general.name1,
        general.name2,
        general.land1,
        general.regio,
        general.ort01,
        {{ sap_date('general.erdat') }} as created_date,
        coalesce(general.loevm = 'X', false) as is_flagged_for_deletion,
        nullif(company_codes.zterm, '') as zterm,
        credit_limits.klimk,
        credit_limits.waers as credit_limit_currency_code,
        nullif(owners.pernr, '') as pernr
    from segments
    inner join general
        on
            segments.kunnr = general.kunnr
            and segments.valid_from_date >= general.valid_from_date
            and segments.valid_from_date < general.valid_to_date
            and not general._is_deleted
    left join company_codes
        on
            segments.kunnr = company_codes.kunnr
            and segments.valid_from_date >= company_codes.valid_from_date
            and segments.valid_from_date < company_codes.valid_to_date
            and not company_codes._is_deleted
    left join credit_limits
        on
            segments.kunnr = credit_limits.kunnr
            and segments.valid_from_date >= credit_limits.valid_from_date
            and segments.valid_from_date < credit_limits.valid_to_date
            and not credit_limits._is_deleted
    left join owners
        on
            segments.kunnr = owners.kunnr
            and segments.valid_from_date >= owners.valid_from_date
            and segments.valid_from_date < owners.valid_to_date
            and not owners._is_deleted
),


states as (
    select
        version_states.customer_id,
        version_states.valid_from_date,
        version_states.valid_to_date,
        {{ customer_field_value('KNA1', 'NAME1', 'name1', 'general_valid_to') }} as customer_name,
        {{ customer_field_value('KNA1', 'NAME2', 'name2', 'general_valid_to') }} as customer_name_zh,
        {{ customer_field_value('KNA1', 'LAND1', 'land1', 'general_valid_to') }} as country_code,
        {{ customer_field_value('KNA1', 'REGIO', 'regio', 'general_valid_to') }} as region_code,
        {{ customer_field_value('KNA1', 'ORT01', 'ort01', 'general_valid_to') }} as city,
        version_states.created_date,
        version_states.is_flagged_for_deletion,
        {{ customer_field_value('KNB1', 'ZTERM', 'zterm', 'company_code_valid_to') }} as payment_terms_code,
        {{ customer_field_value('KNKK', 'KLIMK', 'klimk', 'credit_limit_valid_to') }} as credit_limit_text,
        version_states.credit_limit_currency_code,
        {{ customer_field_value('KNVP', 'PERNR', 'pernr', 'owner_valid_to') }} as owner_rep_id
    from version_states
),

with_region as (
    select
        customer_id,
        valid_from_date,
        valid_to_date,
        customer_name,
        customer_name_zh,
        country_code,
        region_code,
        city,
        created_date,
        is_flagged_for_deletion,
        payment_terms_code,
        case
            when credit_limit_text ~ '^ *-?[0-9]+([.][0-9]*)? *$' then cast(credit_limit_text as numeric)
        end as credit_limit,
        credit_limit_currency_code,
        owner_rep_id,
        {{ customer_region('country_code') }} as region
    from states
),

-- consecutive periods with the same attributes (a change to a field not tracked here) are one period
hashed as (
    select
        *,
        md5(concat_ws(
            '|',
            customer_name,
            customer_name_zh,
            country_code,
            region_code,
            city,
            region,
            created_date,
            is_flagged_for_deletion,
            payment_terms_code,
            credit_limit,
            credit_limit_currency_code,
            owner_rep_id
        )) as attributes_hash
    from with_region
),

changes as (
    select
        *,
        case
            when
                lag(valid_to_date) over customer_periods = valid_from_date
                and lag(attributes_hash) over customer_periods = attributes_hash
                then 0
            else 1
        end as starts_period
    from hashed
    window customer_periods as (partition by customer_id order by valid_from_date)
),

periods as (
    select
        *,
        sum(starts_period) over (partition by customer_id order by valid_from_date) as period_number
    from changes
),

final as (
    select
        customer_id,
        case
            when period_number > 1 then min(valid_from_date)
            when min(valid_from_date) = cast('-infinity' as date)
                then coalesce(min(created_date), cast('1900-01-01' as date))
            else least(min(valid_from_date), coalesce(min(created_date), min(valid_from_date)))
        end as valid_from,
        case
            when max(valid_to_date) = cast('infinity' as date) then cast('9999-12-31' as date)
            else max(valid_to_date)
        end as valid_to,
        min(customer_name) as customer_name,
        min(customer_name_zh) as customer_name_zh,
        min(country_code) as country_code,
        min(region_code) as region_code,
        min(city) as city,
        min(region) as region,
        min(created_date) as created_date,
        bool_or(is_flagged_for_deletion) as is_flagged_for_deletion,
        min(payment_terms_code) as payment_terms_code,
        min(credit_limit) as credit_limit,
        min(credit_limit_currency_code) as credit_limit_currency_code,
        min(owner_rep_id) as owner_rep_id
    from periods
    group by customer_id, period_number
)

select
    customer_id || '@' || to_char(valid_from, 'YYYY-MM-DD') as customer_version_id,
    *,
    valid_to = cast('9999-12-31' as date) as is_current
from final
