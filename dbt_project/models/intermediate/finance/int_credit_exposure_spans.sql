{#- What a customer owes or has on order, as spans of business dates: one row per (customer, component,
    source document) and date range [from_date, to_date) with a constant amount in document currency; the
    exposure of a date is the sum of the spans covering it (fct_credit_exposure). Components:
    - open_order: an order line (VBAK category C) is on order from its order date while its version
      (erp_history of VBAP: quantity, price, rejection, delivery status as changed over time) is not rejected,
      not deleted and not complete (LFSTA C), at quantity x unit price; each goods issue of the line (LIPS,
      LIKP actual goods issue date) takes its quantity off from that date (a negative span over the same
      version). Lines under prepayment terms (var prepayment_terms, VBKD at item, else header) are left out;
    - delivered_not_invoiced: a delivery item from its goods issue date to the date of the first billing
      document referencing the delivery that is not cancelled (open-ended when none), at quantity x the
      line's current unit price.
    document_id is the order line (open_order: a line's spans sum to its open value, which fct_credit_exposure
    floors at 0 for an over-delivered line not yet closed) or the delivery item. Accounts receivable come from
    fct_receivables_daily directly. -#}
{%- set prepayment_terms = "'" ~ (var('prepayment_terms') | join("', '")) ~ "'" %}

with

line_versions as (
    select * from ({{ erp_history('vbap') }}) as vbap_history
),

headers as (select * from {{ ref('stg_erp__sales_documents') }}),

terms as (select * from {{ ref('stg_erp__sales_document_terms') }}),

lines as (select * from {{ ref('stg_erp__sales_document_items') }}),

deliveries as (select * from {{ ref('int_delivery_items') }}),

invoice_items as (select * from {{ ref('stg_erp__billing_document_items') }}),

invoices as (select * from {{ ref('stg_erp__billing_documents') }}),

orders as (
    select
        headers.sales_document_id,
        headers.customer_id,
        headers.document_date as order_date,
        headers.currency_code
    from headers
    where headers.document_category = 'order'
),

prepaid_lines as (
    select lines.sales_item_id
    from lines
    left join terms as item_terms
        on lines.sales_document_id = item_terms.sales_document_id
            and lines.item_number = item_terms.item_number
    left join terms as header_terms
        on lines.sales_document_id = header_terms.sales_document_id and header_terms.item_number = '000000'
    where coalesce(item_terms.payment_terms_code, header_terms.payment_terms_code) in (
            {%- for code in var('prepayment_terms') %}'{{ code }}'{{ ',' if not loop.last }}{% endfor %}
        )
),

open_versions as (
    select
        line_versions.vbeln || '-' || line_versions.posnr as sales_item_id,
        orders.customer_id,
        coalesce(nullif(line_versions.waerk, ''), orders.currency_code) as currency_code,
        greatest(line_versions.valid_from_date, orders.order_date) as from_date,
        line_versions.valid_to_date as to_date,
        cast(line_versions.netpr as numeric) / nullif(cast(line_versions.kpein as numeric), 0) as unit_price,
        cast(line_versions.kwmeng as numeric) as order_qty
    from line_versions
    inner join orders on line_versions.vbeln = orders.sales_document_id
    where
        not line_versions._is_deleted
        and coalesce(trim(line_versions.abgru), '') = ''
        and coalesce(trim(line_versions.lfsta), 'A') <> 'C'
        and line_versions.valid_to_date > orders.order_date
        and line_versions.vbeln
        || '-'
        || line_versions.posnr not in (select prepaid_lines.sales_item_id from prepaid_lines
        )
),

goods_issues as (
    select
        sales_item_id,
        delivery_id,
        delivery_item_id,
        customer_id,
        goods_issue_date,
        delivered_qty
    from deliveries
    where goods_issue_date is not null
),

first_billing as (
    select
        invoice_items.delivery_id,
        min(invoices.invoice_date) as invoice_date
    from invoice_items
    inner join invoices on invoice_items.invoice_id = invoices.invoice_id
    where not invoices.is_cancelled and invoices.invoice_date is not null
    group by invoice_items.delivery_id
),

spans as (
    select
        customer_id,
        'open_order' as component,
        sales_item_id as document_id,
        currency_code,
        from_date,
        to_date,
        order_qty * unit_price as amount
    from open_versions
    where from_date < to_date
    union all
    select
        open_versions.customer_id,
        'open_order' as component,
        open_versions.sales_item_id as document_id,
        open_versions.currency_code,
        greatest(goods_issues.goods_issue_date, open_versions.from_date) as from_date,
        open_versions.to_date,
        -goods_issues.delivered_qty * open_versions.unit_price as amount
    from open_versions
    inner join goods_issues on open_versions.sales_item_id = goods_issues.sales_item_id
    where greatest(goods_issues.goods_issue_date, open_versions.from_date) < open_versions.to_date
    union all
    select
        goods_issues.customer_id,
        'delivered_not_invoiced' as component,
        goods_issues.delivery_item_id as document_id,
        lines.currency_code,
        goods_issues.goods_issue_date as from_date,
        coalesce(first_billing.invoice_date, cast('infinity' as date)) as to_date,
        goods_issues.delivered_qty * lines.unit_price as amount
    from goods_issues
    inner join lines on goods_issues.sales_item_id = lines.sales_item_id
    left join first_billing on goods_issues.delivery_id = first_billing.delivery_id
    where goods_issues.goods_issue_date < coalesce(first_billing.invoice_date, cast('infinity' as date))
)

select * from spans
