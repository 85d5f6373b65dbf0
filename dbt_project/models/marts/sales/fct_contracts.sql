{#- Grain: one row per quantity contract (VBAK category G, its item 000010 or first item), as known at the
    as-of date. Lifting (DECISIONLOG.md, "Contracts, call-offs and master data over time"):
    - called_off_qty: order quantity of the call-off lines referencing the contract (VBAP VGBEL/VGPOS) entered
      on or before the as-of date, not rejected (deleted lines are gone from staging); late call-offs
      (entered after valid_to) count, and are also shown apart;
    - expected_to_date_qty = contract_qty x the elapsed share of validity (days inclusive, 0 before, 1 after);
    - lifting_gap_qty = expected_to_date_qty - called_off_qty (positive: behind schedule);
    - status: 'not_started' before validity; 'fulfilled' once called_off_qty reaches contract_qty less the
      under-delivery tolerance; within validity 'under_lifting' when lifting_gap_qty exceeds contract_qty x
      tolerance_pct / 100 (strictly), else 'on_pace'; after validity 'expired_open' (open quantity beyond the
      tolerance left) or 'fulfilled'. -#}
with

documents as (select * from {{ ref('stg_erp__sales_documents') }}),

items as (select * from {{ ref('stg_erp__sales_document_items') }}),

orders as (select * from {{ ref('fct_orders') }}),

invoice_items as (select * from {{ ref('stg_erp__billing_document_items') }}),

invoices as (select * from {{ ref('stg_erp__billing_documents') }}),

contract_lines as (
    select distinct on (documents.sales_document_id)
        documents.sales_document_id as contract_id,
        items.sales_item_id as contract_line_id,
        documents.customer_id,
        items.product_id as material_id,
        items.plant_id,
        documents.document_type,
        documents.document_date as contract_date,
        documents.valid_from_date as valid_from,
        documents.valid_to_date as valid_to,
        items.target_qty as contract_qty,
        items.sales_uom,
        items.under_delivery_tolerance_pct as tolerance_pct,
        items.over_delivery_tolerance_pct,
        documents.currency_code
    from documents
    inner join items on documents.sales_document_id = items.sales_document_id
    where documents.document_category = 'contract' and documents.document_date <= {{ as_of_date() }}
    order by documents.sales_document_id asc, items.item_number asc
),

call_offs as (
    select
        orders.contract_id,
        count(*) as call_off_line_count,
        sum(orders.order_qty) as called_off_qty,
        sum(orders.delivered_qty) as delivered_qty,
        min(orders.order_date) as first_call_off_date,
        max(orders.order_date) as last_call_off_date,
        coalesce(sum(orders.order_qty) filter (where orders.order_date > contract_lines.valid_to), 0)
            as late_call_off_qty,
        count(*) filter (where orders.order_date > contract_lines.valid_to) as late_call_off_line_count
    from orders
    inner join contract_lines on orders.contract_id = contract_lines.contract_id
    where not orders.is_rejected
    group by orders.contract_id
),

invoiced as (
    select
        orders.contract_id,
        sum(invoice_items.billed_qty) as invoiced_qty
    from invoice_items
    inner join invoices on invoice_items.invoice_id = invoices.invoice_id
    inner join orders on invoice_items.sales_item_id = orders.order_line_id
    where
        not invoices.is_cancelled
        and invoices.invoice_date <= {{ as_of_date() }}
        and {{ billing_category('invoices.billing_type') }} in ('invoice', 'provisional')
    group by orders.contract_id
),

measured as (
    select
        contract_lines.*,
        coalesce(call_offs.call_off_line_count, 0) as call_off_line_count,
        coalesce(call_offs.called_off_qty, 0) as called_off_qty,
        coalesce(call_offs.delivered_qty, 0) as delivered_qty,
        coalesce(invoiced.invoiced_qty, 0) as invoiced_qty,
        call_offs.first_call_off_date,
        call_offs.last_call_off_date,
        coalesce(call_offs.late_call_off_qty, 0) as late_call_off_qty,
        coalesce(call_offs.late_call_off_line_count, 0) as late_call_off_line_count,
        greatest(least(
            cast({{ as_of_date() }} - contract_lines.valid_from + 1 as numeric)
            / (contract_lines.valid_to - contract_lines.valid_from + 1),
            1
        ), 0) as elapsed_share,
        contract_lines.valid_to - contract_lines.valid_from + 1 as validity_days
    from contract_lines
    left join call_offs on contract_lines.contract_id = call_offs.contract_id
    left join invoiced on contract_lines.contract_id = invoiced.contract_id
),

final as (
    select
        contract_id,
        contract_line_id,
        customer_id,
        material_id,
        plant_id,
        document_type,
        contract_date,
        valid_from,
        valid_to,
        contract_qty,
        sales_uom,
        tolerance_pct,
        over_delivery_tolerance_pct,
        call_off_line_count,
        called_off_qty,
        delivered_qty,
        invoiced_qty,
        greatest(contract_qty - called_off_qty, 0) as open_qty,
        round(contract_qty * elapsed_share, 3) as expected_to_date_qty,
        round(contract_qty * elapsed_share - called_off_qty, 3) as lifting_gap_qty,
        contract_qty * tolerance_pct / 100 as under_lifting_threshold_qty,
        validity_days,
        round(elapsed_share * 100, 2) as elapsed_validity_pct,
        first_call_off_date,
        last_call_off_date,
        late_call_off_qty,
        late_call_off_line_count,
        case
            when {{ as_of_date() }} < valid_from then 'not_started'
            when called_off_qty >= contract_qty * (1 - tolerance_pct / 100) then 'fulfilled'
            when {{ as_of_date() }} > valid_to then 'expired_open'
            -- gap > threshold, multiplied out by 100 x validity days so that no division rounds (n = elapsed
            -- days, L = validity days: 100 (Q n - C L) > Q tol L)
            when
                100 * (contract_qty * ({{ as_of_date() }} - valid_from + 1) - called_off_qty * validity_days)
                > contract_qty * tolerance_pct * validity_days
                then 'under_lifting'
            else 'on_pace'
        end as status,
        {{ as_of_date() }} as as_of_date
    from measured
)

select * from final
