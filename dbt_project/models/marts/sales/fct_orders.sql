{#- Grain: one row per sales order line (VBAP item of an order), as known at the run's as-of date. -#}
with

items as (select * from {{ ref('stg_erp__sales_document_items') }}),

documents as (select * from {{ ref('stg_erp__sales_documents') }}),

schedule as (select * from {{ ref('stg_erp__schedule_lines') }}),

deliveries as (select * from {{ ref('stg_erp__deliveries') }}),

invoice_items as (select * from {{ ref('stg_erp__billing_document_items') }}),

invoices as (select * from {{ ref('stg_erp__billing_documents') }}),

customers as (select * from {{ ref('stg_erp__customers') }}),

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
        min(promised_date) as promised_date
    from schedule
    group by sales_item_id
),

delivered as (
    select
        sales_item_id,
        sum(delivered_qty) as delivered_qty,
        max(goods_issue_date) as goods_issue_date,
        min(delivery_id) as delivery_id,
        min(batch_number) as batch_number,
        min(plant_id) as delivery_plant_id
    from deliveries
    where goods_issue_date is not null and goods_issue_date <= {{ as_of_date() }}
    group by sales_item_id
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
        orders.sales_item_id as order_line_id,
        orders.sales_document_id as order_id,
        orders.item_number,
        orders.order_date,
        orders.customer_id,
        customers.owner_rep_id,
        orders.product_id,
        orders.plant_id,
        orders.reference_document_id as contract_id,
        orders.reference_item_id as contract_line_id,
        orders.customer_po_number,
        orders.order_qty,
        orders.sales_uom,
        orders.unit_price,
        orders.currency_code,
        orders.net_amount,
        round(orders.net_amount * fx_order_day.to_usd, 2) as net_amount_usd,
        round(orders.net_amount * fx_order_day.to_cny, 2) as net_amount_cny,
        orders.over_delivery_tolerance_pct,
        orders.under_delivery_tolerance_pct,
        orders.is_rejected,
        orders.rejection_reason_code,
        promised.promised_date,
        delivered.delivery_id,
        delivered.batch_number,
        delivered.delivery_plant_id,
        delivered.goods_issue_date,
        delivered.delivered_qty,
        delivered.delivery_id is not null as is_delivered,
        round((delivered.delivered_qty - orders.order_qty) / nullif(orders.order_qty, 0) * 100, 3)
            as delivered_qty_variance_pct,
        case
            when delivered.delivery_id is null then null
            else delivered.delivered_qty
                between orders.order_qty * (1 - orders.under_delivery_tolerance_pct / 100)
                and orders.order_qty * (1 + orders.over_delivery_tolerance_pct / 100)
        end as is_qty_within_tolerance,
        round(priced.benchmark_price, 4) as benchmark_price,
        round((orders.unit_price / nullif(priced.benchmark_price, 0) - 1) * 100, 3) as price_deviation_pct,
        case
            when not orders.is_rejected and delivered.delivery_id is null
                and promised.promised_date < {{ as_of_date() }}
                then {{ as_of_date() }} - promised.promised_date
        end as days_past_promise,
        billed.invoice_id,
        billed.billed_amount,
        {{ as_of_date() }} as as_of_date
    from orders
    left join customers on orders.customer_id = customers.customer_id
    left join promised on orders.sales_item_id = promised.sales_item_id
    left join delivered on orders.sales_item_id = delivered.sales_item_id
    left join billed on orders.sales_item_id = billed.sales_item_id
    left join priced on orders.sales_item_id = priced.sales_item_id
    left join fx as fx_order_day
        on orders.currency_code = fx_order_day.currency_code and orders.order_date = fx_order_day.rate_date
)

select * from final
