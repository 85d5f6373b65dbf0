{#- Customers over time (SCD2). Grain: one row per customer and period [valid_from, valid_to) of business
    dates (Asia/Shanghai) in which its tracked attributes stayed the same, as known at the run's cutoff: name and
    country (KNA1), sales region (from the country, var customer_regions), payment terms (KNB1, company code
    1000), credit limit (KNKK, control area 1000) and owning sales rep (KNVP, partner function VE in sales org
    1000). A change becomes valid on the business date whose cutoff first sees it (erp_history). valid_to is
    exclusive; the current row's is 9999-12-31. The first row starts at the customer's creation date
    (KNA1 ERDAT) or its first known change, whichever is earlier. A customer deleted in the ERP (a KNA1
    tombstone) ends there. -#}
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

states as (
    select
        segments.kunnr as customer_id,
        segments.valid_from_date,
        segments.valid_to_date,
        general.name1 as customer_name,
        general.name2 as customer_name_zh,
        general.land1 as country_code,
        general.regio as region_code,
        general.ort01 as city,
        {{ customer_region('general.land1') }} as region,
        {{ sap_date('general.erdat') }} as created_date,
        coalesce(general.loevm = 'X', false) as is_flagged_for_deletion,
        nullif(company_codes.zterm, '') as payment_terms_code,
        cast(credit_limits.klimk as numeric) as credit_limit,
        credit_limits.waers as credit_limit_currency_code,
        nullif(owners.pernr, '') as owner_rep_id
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
    from states
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
