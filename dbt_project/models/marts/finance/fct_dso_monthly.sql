{#- Grain: one row per (month_start, grain, grain_id), grain 'company' (grain_id 'ALL'), 'sales_rep' or
    'customer', for each closed month in which the grain had sales or AR (int_dso_monthly_inputs). The ratios
    (DSO, best possible DSO, ADD, CEI) are computed in USD only: sales converted at each document's date and
    AR at the month end's rate, as the inputs define them. Sales and AR (total, current, past due) are also
    given in CNY (sales_cny, ar_cny, current_ar_cny, past_due_ar_cny) for reporting; no ratio is computed in
    CNY.
    Definitions (DESIGN.md 6, issue 6; worked examples in the unit tests):
    - dso_standard = ar / sales x days of the month; dso_3m = ar / sales of the month and the 2 before x their
      days (NULL with fewer than 3 months of history);
    - dso_countback: walk back from the month; while the remainder of AR exceeds the month's sales, subtract
      the sales (zero or negative sales subtract nothing) and add the month's days; at the first month whose
      sales cover the remainder, add remainder / sales x its days. AR <= 0 gives 0; history exhausted first
      gives NULL;
    - best_possible_dso = current (not yet due) ar / sales x days; add_days = dso_standard - best_possible_dso;
    - cei_pct = (beginning ar + sales - ending ar) / (beginning ar + sales - ending current ar) x 100, beginning
      ar being the previous month's ar (NULL in the first month).
    A ratio whose denominator is zero is NULL. Days and percentages are rounded to 2 decimals. -#}
with

inputs as (select * from {{ ref('int_dso_monthly_inputs') }}),

windowed as (
    select
        *,
        lag(ar_usd) over grain_months as beginning_ar_usd,
        sum(sales_usd) over last_three as sales_3m_usd,
        sum(days_in_month) over last_three as days_3m,
        count(*) over last_three as months_3m
    from inputs
    window
        grain_months as (partition by grain, grain_id order by month_start),
        last_three as (
            partition by grain, grain_id order by month_start rows between 2 preceding and current row
        )
),

-- countback: each month with AR > 0 against itself and every earlier month, latest first
walk as (
    select
        period.grain,
        period.grain_id,
        period.month_start as period_month,
        period.ar_usd as period_ar_usd,
        earlier.month_start,
        earlier.days_in_month,
        greatest(earlier.sales_usd, 0) as covering_sales_usd,
        coalesce(sum(greatest(earlier.sales_usd, 0)) over walked_before, 0) as subtracted_usd,
        coalesce(sum(earlier.days_in_month) over walked_before, 0) as days_walked
    from inputs as period
    inner join inputs as earlier
        on
            period.grain = earlier.grain
            and period.grain_id = earlier.grain_id
            and period.month_start >= earlier.month_start
    where period.ar_usd > 0
    window walked_before as (
        partition by period.grain, period.grain_id, period.month_start
        order by earlier.month_start desc
        rows between unbounded preceding and 1 preceding
    )
),

countback as (
    select distinct on (grain, grain_id, period_month)
        grain,
        grain_id,
        period_month as month_start,
        days_walked + (period_ar_usd - subtracted_usd) / covering_sales_usd * days_in_month as dso_countback
    from walk
    where covering_sales_usd > 0 and covering_sales_usd >= period_ar_usd - subtracted_usd
    order by grain asc, grain_id asc, period_month asc, month_start desc
),

final as (
    select
        windowed.month_start,
        windowed.grain,
        windowed.grain_id,
        windowed.days_in_month,
        windowed.sales_usd,
        windowed.ar_usd,
        windowed.current_ar_usd,
        windowed.ar_usd - windowed.current_ar_usd as past_due_ar_usd,
        windowed.sales_cny,
        windowed.ar_cny,
        windowed.current_ar_cny,
        windowed.ar_cny - windowed.current_ar_cny as past_due_ar_cny,
        windowed.beginning_ar_usd,
        windowed.sales_3m_usd,
        round(windowed.ar_usd / nullif(windowed.sales_usd, 0) * windowed.days_in_month, 2) as dso_standard,
        case
            when windowed.months_3m = 3
                then round(windowed.ar_usd / nullif(windowed.sales_3m_usd, 0) * windowed.days_3m, 2)
        end as dso_3m,
        case
            when windowed.ar_usd <= 0 then 0
            else round(countback.dso_countback, 2)
        end as dso_countback,
        round(windowed.current_ar_usd / nullif(windowed.sales_usd, 0) * windowed.days_in_month, 2)
            as best_possible_dso,
        round(windowed.ar_usd / nullif(windowed.sales_usd, 0) * windowed.days_in_month, 2)
        - round(windowed.current_ar_usd / nullif(windowed.sales_usd, 0) * windowed.days_in_month, 2)
            as add_days,
        round(
            (windowed.beginning_ar_usd + windowed.sales_usd - windowed.ar_usd)
            / nullif(windowed.beginning_ar_usd + windowed.sales_usd - windowed.current_ar_usd, 0)
            * 100,
            2
        ) as cei_pct
    from windowed
    left join countback
        on
            windowed.grain = countback.grain
            and windowed.grain_id = countback.grain_id
            and windowed.month_start = countback.month_start
    where windowed.sales_usd <> 0 or windowed.ar_usd <> 0
)

select * from final
