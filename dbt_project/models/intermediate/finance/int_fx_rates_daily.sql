{{ config(materialized="table", indexes=[{"columns": ["rate_date", "currency_code"], "unique": true}]) }}

{#- One row per calendar day and currency that has a rate path: units of USD (to_usd) and of CNY (to_cny) per
    1 unit of the currency, from the latest type-M rate valid on or before the day.
    Grain: rate_date, currency_code.

    - A pair is used in the direction it is published, or the other way round through its inverse
      (inverse_exchange_rate, computed in staging from the quoted figures, so it is exact for an indirect
      quotation). Published in both directions, the direction needed wins.
    - Each currency reaches the reference currency (var fx_reference_currency) through a pair with it, or
      else through one intermediate currency that has one (a cross rate, e.g. HKD -> CNY -> USD).
    - to_usd / to_cny use the currency's pair with USD / CNY when it has a rate that day; otherwise the path
      to the reference currency, then from it to USD / CNY (e.g. EUR -> USD -> CNY).
    - Rates valid from after the as-of date are ignored, so re-running an old date reproduces it. The last
      rate carries forward fx_days_after_as_of days (default 366) past the as-of date.

    Paths are chosen once per currency (a few rows), then every rate row is expanded to the days it is valid
    and the legs of each path are multiplied by aggregation: linear in pairs x days, no join between
    day-level sets. -#}

{%- set reference = var("fx_reference_currency") -%}

with

rates as (
    select
        from_currency_code,
        to_currency_code,
        valid_from_date,
        exchange_rate,
        inverse_exchange_rate
    from {{ ref('stg_erp__exchange_rates') }}
    where rate_type = '{{ var("reporting_rate_type") }}'
        and valid_from_date <= {{ as_of_date() }}
        and exchange_rate > 0
        and from_currency_code <> to_currency_code
),

last_day as (
    select {{ as_of_date() }} + {{ var("fx_days_after_as_of", 366) }} as last_date
),

-- each published pair once per day it has a rate: the latest valid on or before the day
pair_days as (
    select
        from_currency_code,
        to_currency_code,
        exchange_rate,
        inverse_exchange_rate,
        cast(calendar_day as date) as rate_date
    from (
        select
            rates.*,
            coalesce(
                lead(rates.valid_from_date) over (
                    partition by rates.from_currency_code, rates.to_currency_code
                    order by rates.valid_from_date
                ) - 1,
                last_day.last_date
            ) as valid_to_date
        from rates
        cross join last_day
    ) as validity
    cross join
        lateral
        generate_series(valid_from_date, valid_to_date, interval '1 day') as calendar_day
),

-- the currency graph (a few rows): an edge per currency and counter-currency, in the direction published
-- when there is one, else through the inverse of the pair published the other way round
edges as (
    select distinct on (currency_code, other_currency_code)
        currency_code,
        other_currency_code,
        pair_from,
        pair_to,
        is_inverse
    from (
        select distinct
            from_currency_code as currency_code,
            to_currency_code as other_currency_code,
            from_currency_code as pair_from,
            to_currency_code as pair_to,
            false as is_inverse
        from rates
        union all
        select distinct
            to_currency_code as currency_code,
            from_currency_code as other_currency_code,
            from_currency_code as pair_from,
            to_currency_code as pair_to,
            true as is_inverse
        from rates
    ) as both_directions
    order by currency_code, other_currency_code, is_inverse
),

-- path of each currency to the reference currency: one edge, or two through the first intermediate
-- currency (in code order) that has an edge to it; step 1 is nearest to the currency
to_reference as (
    select
        currency_code,
        1 as step,
        pair_from,
        pair_to,
        is_inverse
    from edges
    where other_currency_code = '{{ reference }}'
    union all
    select
        via.currency_code,
        leg.step,
        leg.pair_from,
        leg.pair_to,
        leg.is_inverse
    from (
        select distinct on (edges.currency_code)
            edges.currency_code,
            edges.other_currency_code as via_currency_code
        from edges
        inner join edges as onward
            on edges.other_currency_code = onward.currency_code
                and onward.other_currency_code = '{{ reference }}'
        where edges.currency_code <> '{{ reference }}'
            and not exists (
                select 1 from edges as direct
                where direct.currency_code = edges.currency_code
                    and direct.other_currency_code = '{{ reference }}'
            )
        order by edges.currency_code, edges.other_currency_code
    ) as via
    cross join lateral (
        select
            1 as step,
            first_leg.pair_from,
            first_leg.pair_to,
            first_leg.is_inverse
        from edges as first_leg
        where first_leg.currency_code = via.currency_code
            and first_leg.other_currency_code = via.via_currency_code
        union all
        select
            2 as step,
            second_leg.pair_from,
            second_leg.pair_to,
            second_leg.is_inverse
        from edges as second_leg
        where second_leg.currency_code = via.via_currency_code
            and second_leg.other_currency_code = '{{ reference }}'
    ) as leg
),

currencies as (
    select '{{ reference }}' as currency_code
    union
    select currency_code from to_reference
),

targets as (
    select 'USD' as target_code
    union all
    select 'CNY'
),

-- the target's path to the reference currency walked backwards: last step first, each leg inverted
from_reference as (
    select
        currency_code as target_code,
        max(step) over (partition by currency_code) - step + 1 as step,
        pair_from,
        pair_to,
        not is_inverse as is_inverse
    from to_reference
),

path_lengths as (
    select
        currency_code,
        max(step) as steps
    from to_reference
    group by currency_code
),

routes as (
    select
        currencies.currency_code,
        targets.target_code,
        -- the reference route to the reference currency itself is the own pair: no need to walk it twice
        own_pair.currency_code is null or targets.target_code <> '{{ reference }}' as needs_via,
        coalesce(path_lengths.steps, 0) as steps_out,
        targets.target_code = '{{ reference }}'
        or targets.target_code in (select to_reference.currency_code from to_reference) as target_reachable
    from currencies
    cross join targets
    left join path_lengths on currencies.currency_code = path_lengths.currency_code
    left join edges as own_pair
        on currencies.currency_code = own_pair.currency_code
            and targets.target_code = own_pair.other_currency_code
    where currencies.currency_code <> targets.target_code
),

-- the legs from each currency to each reporting currency, numbered in order. Route 'own': its own pair with
-- the target, when one is published. Route 'via': its path to the reference currency followed by the
-- target's path backwards, used on days the own pair has no rate yet.
legs as (
    select
        routes.currency_code,
        routes.target_code,
        'own' as route,
        1 as leg_number,
        edges.pair_from,
        edges.pair_to,
        edges.is_inverse
    from routes
    inner join edges
        on routes.currency_code = edges.currency_code and routes.target_code = edges.other_currency_code
    union all
    select
        routes.currency_code,
        routes.target_code,
        'via' as route,
        to_reference.step as leg_number,
        to_reference.pair_from,
        to_reference.pair_to,
        to_reference.is_inverse
    from routes
    inner join to_reference on routes.currency_code = to_reference.currency_code
    where routes.needs_via and routes.target_reachable
    union all
    select
        routes.currency_code,
        routes.target_code,
        'via' as route,
        routes.steps_out + from_reference.step as leg_number,
        from_reference.pair_from,
        from_reference.pair_to,
        from_reference.is_inverse
    from routes
    inner join from_reference on routes.target_code = from_reference.target_code
    where routes.needs_via
),

counted_legs as (
    select
        *,
        count(*) over (partition by currency_code, target_code, route) as leg_count
    from legs
),

days as (
    select cast(calendar_day as date) as rate_date
    from (select min(valid_from_date) as first_date from rates) as bounds
    cross join last_day
    cross join
        lateral
        generate_series(bounds.first_date, last_day.last_date, interval '1 day') as calendar_day
),

leg_days as (
    select
        pair_days.rate_date,
        counted_legs.currency_code,
        counted_legs.target_code,
        counted_legs.route,
        counted_legs.leg_number,
        counted_legs.leg_count,
        case
            when counted_legs.is_inverse then pair_days.inverse_exchange_rate else pair_days.exchange_rate
        end as factor
    from counted_legs
    inner join pair_days
        on counted_legs.pair_from = pair_days.from_currency_code
            and counted_legs.pair_to = pair_days.to_currency_code
    union all
    -- the reference currency exists every day, even before any rate to the other reporting currency
    select
        rate_date,
        '{{ reference }}' as currency_code,
        null as target_code,
        null as route,
        null as leg_number,
        null as leg_count,
        null as factor
    from days
),

-- a route's rate is the product of its legs (at most 4), on days when every leg has a rate
route_rates as (
    select
        rate_date,
        currency_code,
        target_code,
        route,
        case
            when count(*) = max(leg_count)
                then coalesce(max(factor) filter (where leg_number = 1), 1)
                    * coalesce(max(factor) filter (where leg_number = 2), 1)
                    * coalesce(max(factor) filter (where leg_number = 3), 1)
                    * coalesce(max(factor) filter (where leg_number = 4), 1)
        end as rate
    from leg_days
    group by rate_date, currency_code, target_code, route
),

converted as (
    select
        rate_date,
        currency_code,
        max(rate) filter (where target_code = 'USD' and route = 'own') as usd_own_pair,
        max(rate) filter (where target_code = 'USD' and route = 'via') as usd_via_reference,
        max(rate) filter (where target_code = 'CNY' and route = 'own') as cny_own_pair,
        max(rate) filter (where target_code = 'CNY' and route = 'via') as cny_via_reference
    from route_rates
    group by rate_date, currency_code
),

final as (
    select
        rate_date,
        currency_code,
        trim_scale(
            case when currency_code = 'USD' then 1 else coalesce(usd_own_pair, usd_via_reference) end
        ) as to_usd,
        trim_scale(
            case when currency_code = 'CNY' then 1 else coalesce(cny_own_pair, cny_via_reference) end
        ) as to_cny
    from converted
    where
        currency_code = '{{ reference }}'
        or coalesce(usd_own_pair, usd_via_reference, cny_own_pair, cny_via_reference) is not null
)

select * from final
