{#- Accumulating snapshot. Grain: one row per order line (fct_orders), with each milestone of the
    contract-to-cash chain as a date as known at the as-of date (null until reached) and the lags between
    them in days:
    contract (the call-off's contract document date) -> order -> batch allocated (first delivery with a batch
    created) -> ETD planned (the first shipment's original plan) / actual (first departure) -> ETA planned /
    actual (last arrival, once every shipment of the line arrived) -> goods issue (first; delivered_date: the
    one that completed the line) -> invoiced (first billing document not cancelled) -> paid (the day the
    line's last open customer item was cleared, once all are).
    OTIF (DESIGN.md 6): on time = delivery completed no later than promised_date + date_tolerance_days (var
    otif_date_tolerance_days); in full = delivered quantity within [ordered x (1 - under tolerance),
    ordered x (1 + over tolerance)] (the order line's own tolerances, copied from the contract); is_otif =
    both. All three are null while the line is open (not completed, not rejected) and for a rejected line. -#}
with

orders as (select * from {{ ref('fct_orders') }}),

documents as (select * from {{ ref('stg_erp__sales_documents') }}),

deliveries as (select * from {{ ref('int_delivery_items') }}),

shipments as (select * from {{ ref('fct_shipments') }}),

invoice_items as (select * from {{ ref('stg_erp__billing_document_items') }}),

invoices as (select * from {{ ref('stg_erp__billing_documents') }}),

customer_items as (select * from {{ ref('int_customer_items') }}),

customers as (select * from {{ ref('int_customer_history') }}),

batches as (
    select
        sales_item_id,
        min(created_date) filter (where batch_number is not null) as batch_allocated_date,
        count(distinct batch_number) as batch_count
    from deliveries
    where created_date <= {{ as_of_date() }}
    group by sales_item_id
),

line_shipments as (
    select
        order_line_id,
        count(*) as shipment_count,
        min(etd_original_date) as etd_planned_date,
        min(eta_original_date) as eta_planned_date,
        min(etd_actual_date) filter (where etd_actual_date <= {{ as_of_date() }}) as etd_actual_date,
        case
            when bool_and(eta_actual_date <= {{ as_of_date() }}) then max(eta_actual_date)
        end as eta_actual_date
    from shipments
    group by order_line_id
),

line_invoices as (
    select
        invoice_items.sales_item_id,
        invoices.invoice_id,
        invoices.invoice_date
    from invoice_items
    inner join invoices on invoice_items.invoice_id = invoices.invoice_id
    where not invoices.is_cancelled and invoices.invoice_date <= {{ as_of_date() }}
),

billed as (
    select
        sales_item_id,
        min(invoice_date) as invoiced_date,
        count(distinct invoice_id) as invoice_count
    from line_invoices
    group by sales_item_id
),

paid as (
    select
        line_invoices.sales_item_id,
        case
            when bool_and(customer_items.clearing_date <= {{ as_of_date() }})
                then max(customer_items.clearing_date)
        end as paid_date
    from line_invoices
    inner join customer_items on line_invoices.invoice_id = customer_items.invoice_id
    group by line_invoices.sales_item_id
),

milestones as (
    select
        orders.order_line_id,
        orders.order_id,
        orders.contract_id,
        orders.contract_line_id,
        orders.customer_id,
        customers.owner_rep_id,
        customers.region,
        orders.product_id,
        orders.plant_id,
        contracts.document_date as contract_date,
        orders.order_date,
        batches.batch_allocated_date,
        batches.batch_count,
        line_shipments.shipment_count,
        line_shipments.etd_planned_date,
        line_shipments.etd_actual_date,
        line_shipments.eta_planned_date,
        line_shipments.eta_actual_date,
        orders.first_goods_issue_date,
        orders.delivered_date,
        billed.invoiced_date,
        billed.invoice_count,
        paid.paid_date,
        orders.promised_date,
        orders.requested_date,
        orders.order_qty as ordered_qty,
        orders.delivered_qty,
        orders.sales_uom,
        orders.under_delivery_tolerance_pct as under_tolerance_pct,
        orders.over_delivery_tolerance_pct as over_tolerance_pct,
        {{ var('otif_date_tolerance_days') }} as date_tolerance_days,
        orders.is_rejected,
        orders.is_delivered,
        case
            when orders.is_rejected then 'rejected'
            when orders.is_delivered then 'delivered'
            else 'open'
        end as line_status
    from orders
    left join documents as contracts on orders.contract_id = contracts.sales_document_id
    left join batches on orders.order_line_id = batches.sales_item_id
    left join line_shipments on orders.order_line_id = line_shipments.order_line_id
    left join billed on orders.order_line_id = billed.sales_item_id
    left join paid on orders.order_line_id = paid.sales_item_id
    left join customers
        on
            orders.customer_id = customers.customer_id
            and orders.order_date >= customers.valid_from
            and orders.order_date < customers.valid_to
),

final as (
    select
        *,
        order_date - contract_date as contract_to_order_days,
        batch_allocated_date - order_date as order_to_batch_days,
        etd_actual_date - etd_planned_date as etd_slip_days,
        eta_actual_date - eta_planned_date as eta_slip_days,
        first_goods_issue_date - order_date as order_to_goods_issue_days,
        delivered_date - order_date as order_to_delivery_days,
        invoiced_date - first_goods_issue_date as goods_issue_to_invoice_days,
        paid_date - invoiced_date as invoice_to_paid_days,
        paid_date - order_date as order_to_cash_days,
        delivered_date - promised_date as days_late,
        case when line_status = 'delivered' then delivered_date <= promised_date + date_tolerance_days end
            as is_on_time,
        case
            when line_status = 'delivered'
                then delivered_qty >= ordered_qty * (1 - under_tolerance_pct / 100)
                    and delivered_qty <= ordered_qty * (1 + over_tolerance_pct / 100)
        end as is_in_full
    from milestones
)

select
    *,
    is_on_time and is_in_full as is_otif,
    {{ as_of_date() }} as as_of_date
from final
