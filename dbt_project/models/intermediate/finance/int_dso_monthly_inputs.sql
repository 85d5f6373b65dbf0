{#- DSO inputs. Grain: one row per (month_start, grain, grain_id) for every closed month (its last day on or
    before the as-of date) from the company's first invoiced month, for the company (grain_id 'ALL'), each
    sales rep and each customer, months without sales or AR included (countback walks through them):
    - sales_usd: billing documents dated in the month (fct_invoices.signed_gross_amount_usd: credit memos
      negative, debit memos positive), cancelled invoices and cancellations left out (cancelled pairs);
    - ar_usd: open at month end, the sum of fct_receivables_daily.open_amount_usd on the month's last day;
      current_ar_usd: the part of it not yet due then: debit items whose net due date is on or after that day,
      plus open credit memos and unapplied cash (they offset the customer's balance; they are not the
      customer's delinquency), so that past-due AR (ar - current) is what customers owe late;
    - a rep's sales are those of the customers it owned on each invoice's date, its AR that of the customers
      it owned at month end (each fact joins the owner as of its date);
    - sales_cny, ar_cny, current_ar_cny: the same amounts in CNY (fct_invoices.signed_gross_amount_cny at each
      document's date, fct_receivables_daily.open_amount_cny at the month end's rate), for reporting; the
      DSO ratios of fct_dso_monthly are computed in USD. -#}
with

invoices as (
    select * from {{ ref('fct_invoices') }}
    where not is_cancelled_pair
),

receivables as (select * from {{ ref('fct_receivables_daily') }}),

months as (
    select
        cast(month_start as date) as month_start,
        cast(month_start + interval '1 month - 1 day' as date) as month_end,
        cast(extract(day from month_start + interval '1 month - 1 day') as integer) as days_in_month
    from generate_series(
            (select date_trunc('month', min(invoices.invoice_date)) from invoices),
            {{ as_of_date() }},
            interval '1 month'
        ) as month_start
    where cast(month_start + interval '1 month - 1 day' as date) <= {{ as_of_date() }}
),

facts as (
    select
        cast(date_trunc('month', invoices.invoice_date) as date) as month_start,
        invoices.customer_id,
        invoices.owner_rep_id,
        invoices.signed_gross_amount_usd as sales_usd,
        0 as ar_usd,
        0 as current_ar_usd,
        invoices.signed_gross_amount_cny as sales_cny,
        0 as ar_cny,
        0 as current_ar_cny
    from invoices
    union all
    select
        months.month_start,
        receivables.customer_id,
        receivables.owner_rep_id,
        0 as sales_usd,
        receivables.open_amount_usd as ar_usd,
        case
            when receivables.item_kind <> 'debit' or receivables.net_due_date >= receivables.snapshot_date
                then receivables.open_amount_usd
            else 0
        end as current_ar_usd,
        0 as sales_cny,
        receivables.open_amount_cny as ar_cny,
        case
            when receivables.item_kind <> 'debit' or receivables.net_due_date >= receivables.snapshot_date
                then receivables.open_amount_cny
            else 0
        end as current_ar_cny
    from months
    inner join receivables on months.month_end = receivables.snapshot_date
),

by_grain as (
    select
        month_start,
        'company' as grain,
        'ALL' as grain_id,
        sum(sales_usd) as sales_usd,
        sum(ar_usd) as ar_usd,
        sum(current_ar_usd) as current_ar_usd,
        sum(sales_cny) as sales_cny,
        sum(ar_cny) as ar_cny,
        sum(current_ar_cny) as current_ar_cny
    from facts
    group by month_start
    union all
    select
        month_start,
        'sales_rep' as grain,
        coalesce(owner_rep_id, 'UNASSIGNED') as grain_id,
        sum(sales_usd) as sales_usd,
        sum(ar_usd) as ar_usd,
        sum(current_ar_usd) as current_ar_usd,
        sum(sales_cny) as sales_cny,
        sum(ar_cny) as ar_cny,
        sum(current_ar_cny) as current_ar_cny
    from facts
    group by month_start, coalesce(owner_rep_id, 'UNASSIGNED')
    union all
    select
        month_start,
        'customer' as grain,
        customer_id as grain_id,
        sum(sales_usd) as sales_usd,
        sum(ar_usd) as ar_usd,
        sum(current_ar_usd) as current_ar_usd,
        sum(sales_cny) as sales_cny,
        sum(ar_cny) as ar_cny,
        sum(current_ar_cny) as current_ar_cny
    from facts
    group by month_start, customer_id
),

grains as (
    select distinct
        grain,
        grain_id
    from by_grain
),

final as (
    select
        months.month_start,
        grains.grain,
        grains.grain_id,
        months.days_in_month,
        coalesce(by_grain.sales_usd, 0) as sales_usd,
        coalesce(by_grain.ar_usd, 0) as ar_usd,
        coalesce(by_grain.current_ar_usd, 0) as current_ar_usd,
        coalesce(by_grain.sales_cny, 0) as sales_cny,
        coalesce(by_grain.ar_cny, 0) as ar_cny,
        coalesce(by_grain.current_ar_cny, 0) as current_ar_cny
    from months
    cross join grains
    left join by_grain
        on
            months.month_start = by_grain.month_start
            and grains.grain = by_grain.grain
            and grains.grain_id = by_grain.grain_id
)

select * from final
