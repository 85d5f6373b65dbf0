{#- China's public calendar: one row per (country, date, kind); kind 'holiday' is a day off, 'working_day'
    a weekend day worked instead (o2c.sources.reference.holidays). -#}
with

calendar_days as (select * from {{ source('reference', 'public_holidays') }}),

final as (
    select
        country_code,
        holiday_date,
        kind,
        name as holiday_name,
        source as calendar_source
    from calendar_days
)

select * from final
