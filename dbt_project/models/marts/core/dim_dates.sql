{#- Grain: one row per calendar date (date_day), 2000-01-01 through the end of the as-of date's year + 2.
    Working days are Asia/Shanghai's: Monday to Friday unless a public holiday or an extra day off, plus the
    weekend days China works instead (调休), from stg_reference__public_holidays. -#}
with

calendar_days as (
    select cast(calendar_day as date) as date_day
    from
        generate_series(
            date '2000-01-01',
            make_date(cast(extract(year from {{ as_of_date() }}) as integer) + 2, 12, 31),
            interval '1 day'
        ) as calendar_day
),

holidays as (
    select
        holiday_date,
        holiday_name
    from {{ ref('stg_reference__public_holidays') }}
    where country_code = 'CN' and kind = 'holiday'
),

worked_weekend_days as (
    select holiday_date
    from {{ ref('stg_reference__public_holidays') }}
    where country_code = 'CN' and kind = 'working_day'
),

flagged as (
    select
        calendar_days.date_day,
        extract(isodow from calendar_days.date_day) >= 6 as is_weekend,
        holidays.holiday_date is not null as is_public_holiday,
        holidays.holiday_name,
        worked_weekend_days.holiday_date is not null as is_adjusted_working_day
    from calendar_days
    left join holidays on calendar_days.date_day = holidays.holiday_date
    left join worked_weekend_days on calendar_days.date_day = worked_weekend_days.holiday_date
),

final as (
    select
        date_day,
        cast(extract(year from date_day) as integer) as year_number,
        cast(extract(quarter from date_day) as integer) as quarter_number,
        to_char(date_day, 'YYYY-"Q"Q') as quarter_label,
        cast(date_trunc('quarter', date_day) as date) as quarter_start,
        cast(extract(month from date_day) as integer) as month_number,
        to_char(date_day, 'YYYY-MM') as month_label,
        cast(date_trunc('month', date_day) as date) as month_start,
        cast(date_trunc('month', date_day) + interval '1 month' - interval '1 day' as date) as month_end,
        cast(extract(day from date_trunc('month', date_day) + interval '1 month - 1 day') as integer)
            as days_in_month,
        cast(extract(isoyear from date_day) as integer) as iso_year,
        cast(extract(week from date_day) as integer) as iso_week,
        to_char(date_day, 'IYYY-"W"IW') as iso_week_label,
        cast(extract(isodow from date_day) as integer) as iso_day_of_week,
        cast(extract(day from date_day) as integer) as day_of_month,
        cast(extract(doy from date_day) as integer) as day_of_year,
        is_weekend,
        is_public_holiday,
        holiday_name,
        is_adjusted_working_day,
        (not is_weekend and not is_public_holiday) or is_adjusted_working_day as is_working_day,
        date_day = cast(date_trunc('month', date_day) + interval '1 month' - interval '1 day' as date)
            as is_month_end,
        date_day = cast(date_trunc('quarter', date_day) + interval '3 months' - interval '1 day' as date)
            as is_quarter_end
    from flagged
)

select
    *,
    count(*) filter (where is_working_day) over (partition by month_start order by date_day)
        as working_day_of_month,
    count(*) filter (where is_working_day) over (partition by month_start) as working_days_in_month
from final
