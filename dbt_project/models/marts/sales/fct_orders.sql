{#- Grain: one row per sales order line (VBAP item of an order), as known at the run's as-of date.
    The promise is the confirmed date: the last schedule line with a confirmed quantity (BMENG), not the
    requested date of line 0001. A line is delivered when SAP's delivery status (VBAP-LFSTA) says
    complete ('C'); partial goods issues accumulate until then, so an undelivered remainder stays
    overdue and the quantity tolerance is judged only on the complete line. owner_rep_id and region are the
    customer's on the order date; current_owner_rep_id is the owner on the as-of date (who alerts go to). -#}
with

items as (select * from {{ ref('stg_erp__sales_document_items') }}),

documents as (select * from {{ ref('stg_erp__sales_documents') }}),

schedule as (select * from {{ ref('stg_erp__schedule_lines') }}),

deliveries as (select * from {{ ref('int_delivery_items') }}),

invoice_items as (select * from {{ ref('stg_erp__billing_document_items') }}),

invoices as (select * from {{ ref('stg_erp__billing_documents') }}),

customers as (select * from {{ ref('int_customer_history') }}),

benchmarks as (select * from {{ ref('stg_erp__benchmark_prices') }}),

fx as (select * from {{ ref('int_fx_rates_daily') }}),

orders as (
    select
        items.*,
        documents.document_date as order_date,
        documents.customer_id,
        documents.customer_po_number
    from items
    inner join documents on items.sales_document_id = documents.sales_document_id
    where documents.document_category = 'order' and documents.document_date <= {{ as_of_date() }}
),

promised as (
    select
        sales_item_id,
        min(schedule_date) filter (where schedule_line_number = '0001') as requested_date,
        coalesce(
            max(schedule_date) filter (where confirmed_qty > 0), max(schedule_date)
        ) as promised_date,
        sum(confirmed_qty) as confirmed_qty
    from schedule
    group by sales_item_id
),

delivered as (
    select
        sales_item_id,
        sum(delivered_qty) filter (where goods_issue_date <= {{ as_of_date() }}) as delivered_qty,
        count(distinct delivery_id) filter (where goods_issue_date <= {{ as_of_date() }})
            as delivery_count,
        min(goods_issue_date) filter (where goods_issue_date <= {{ as_of_date() }})
            as first_goods_issue_date,
        max(goods_issue_date) filter (where goods_issue_date <= {{ as_of_date() }}) as goods_issue_date,
        min(delivery_id) filter (where goods_issue_date <= {{ as_of_date() }}) as delivery_id,
        min(batch_number) filter (where goods_issue_date <= {{ as_of_date() }}) as batch_number,
        min(plant_id) filter (where goods_issue_date <= {{ as_of_date() }}) as delivery_plant_id,
        bool_or(goods_issue_date is null or goods_issue_date > {{ as_of_date() }}) as has_pending_delivery
    from deliveries
    group by sales_item_id
),

lines as (
    select
        orders.*,
        coalesce(
            orders.delivery_status = 'C'
            and delivered.delivery_id is not null
            and not delivered.has_pending_delivery,
            false
        ) as is_delivery_complete
    from orders
    left join delivered on orders.sales_item_id = delivered.sales_item_id
),

billed as (
    select
        invoice_items.sales_item_id,
        min(invoice_items.invoice_id) as invoice_id,
        sum(invoice_items.net_amount) as billed_amount
    from invoice_items
    inner join invoices on invoice_items.invoice_id = invoices.invoice_id
    where not invoices.is_cancelled and invoices.invoice_date <= {{ as_of_date() }}
    group by invoice_items.sales_item_id
),

priced as (
    select
        orders.sales_item_id,
        benchmarks.benchmark_price * fx_order.to_usd / fx_usd.to_usd as benchmark_price
    from orders
    inner join benchmarks
        on orders.product_id = benchmarks.product_id
            and benchmarks.price_month = cast(date_trunc('month', orders.order_date) as date)
    inner join fx as fx_usd
        on orders.currency_code = fx_usd.currency_code and orders.order_date = fx_usd.rate_date
    inner join fx as fx_order
        on benchmarks.currency_code = fx_order.currency_code and orders.order_date = fx_order.rate_date
),

final as (
    select
        lines.sales_item_id as order_line_id,
        lines.sales_document_id as order_id,
        lines.item_number,
        lines.order_date,
        lines.customer_id,
        customers.owner_rep_id,
        current_customers.owner_rep_id as current_owner_rep_id,
        customers.region,
        lines.product_id,
        lines.plant_id,
        lines.reference_document_id as contract_id,
        lines.reference_item_id as contract_line_id,
        lines.customer_po_number,
        lines.order_qty,
        lines.sales_uom,
        lines.unit_price,
        lines.currency_code,
        lines.net_amount,
        round(lines.net_amount * fx_order_day.to_usd, 2) as net_amount_usd,
        round(lines.net_amount * fx_order_day.to_cny, 2) as net_amount_cny,
        fx_order_day.to_usd as usd_rate,
        fx_order_day.to_cny as cny_rate,
        fx_order_day.rate_date as fx_rate_date,
        lines.over_delivery_tolerance_pct,
        lines.under_delivery_tolerance_pct,
        lines.is_rejected,
        lines.rejection_reason_code,
        promised.requested_date,
        promised.promised_date,
        promised.confirmed_qty,
        delivered.delivery_id,
        delivered.delivery_count,
        delivered.batch_number,
        delivered.delivery_plant_id,
        delivered.first_goods_issue_date,
        delivered.goods_issue_date,
        coalesce(delivered.delivered_qty, 0) as delivered_qty,
        lines.is_delivery_complete as is_delivered,
        case when lines.is_delivery_complete then delivered.goods_issue_date end as delivered_date,
        case
            when not lines.is_rejected and not lines.is_delivery_complete
                then greatest(lines.order_qty - coalesce(delivered.delivered_qty, 0), 0)
            else 0
        end as open_qty,
        round((delivered.delivered_qty - lines.order_qty) / nullif(lines.order_qty, 0) * 100, 3)
            as delivered_qty_variance_pct,
        case
            when not lines.is_delivery_complete then null
            else delivered.delivered_qty
                between lines.order_qty * (1 - lines.under_delivery_tolerance_pct / 100)
                and lines.order_qty * (1 + lines.over_delivery_tolerance_pct / 100)
        end as is_qty_within_tolerance,
        round(priced.benchmark_price, 4) as benchmark_price,
        round((lines.unit_price / nullif(priced.benchmark_price, 0) - 1) * 100, 3) as price_deviation_pct,
        (lines.unit_price / nullif(priced.benchmark_price, 0) - 1) * 100 as price_deviation_exact_pct,
        case
            when not lines.is_rejected and not lines.is_delivery_complete
                and promised.promised_date < {{ as_of_date() }}
                then {{ as_of_date() }} - promised.promised_date
        end as days_past_promise,
        billed.invoice_id,
        billed.billed_amount,
        {{ as_of_date() }} as as_of_date
    from lines
    left join customers
        on
            lines.customer_id = customers.customer_id
            and lines.order_date >= customers.valid_from
            and lines.order_date < customers.valid_to
    left join customers as current_customers
        on
            lines.customer_id = current_customers.customer_id
            and {{ as_of_date() }} >= current_customers.valid_from
            and {{ as_of_date() }} < current_customers.valid_to
    left join promised on lines.sales_item_id = promised.sales_item_id
    left join delivered on lines.sales_item_id = delivered.sales_item_id
    left join billed on lines.sales_item_id = billed.sales_item_id
    left join priced on lines.sales_item_id = priced.sales_item_id
    left join fx as fx_order_day
        on lines.currency_code = fx_order_day.currency_code and lines.order_date = fx_order_day.rate_date
)

select * from final
