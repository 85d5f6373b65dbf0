{#- Grain: one row per billing document issued up to the as-of date (invoices, provisional and final invoices,
    credit and debit memos, cancellations: billing_category from var billing_categories). Amounts are as
    billed; signed_* carry the category's sign (credit memos and invoice cancellations negative), so that a
    cancelled invoice and its cancellation net to zero. Owner rep and region are the customer's on the
    invoice date (int_customer_history). -#}
with

invoices as (select * from {{ ref('stg_erp__billing_documents') }}),

invoice_items as (select * from {{ ref('stg_erp__billing_document_items') }}),

customer_items as (select * from {{ ref('int_customer_items') }}),

customers as (select * from {{ ref('int_customer_history') }}),

fx as (select * from {{ ref('int_fx_rates_daily') }}),

lines as (
    select
        invoice_id,
        min(order_id) as order_id,
        min(delivery_id) as delivery_id,
        sum(billed_qty) as billed_qty,
        count(*) as line_count
    from invoice_items
    group by invoice_id
),

receivable as (
    select
        invoice_id,
        min(net_due_date) as net_due_date,
        max(clearing_date) as clearing_date,
        bool_or(clearing_date is null or clearing_date > {{ as_of_date() }}) as is_open
    from customer_items
    where invoice_id is not null
    group by invoice_id
),

final as (
    select
        invoices.invoice_id,
        invoices.billing_type,
        {{ billing_category('invoices.billing_type') }} as billing_category,
        {{ billing_sign('invoices.billing_type') }} as amount_sign,
        invoices.invoice_date,
        invoices.customer_id,
        customers.owner_rep_id,
        customers.region,
        lines.order_id,
        lines.delivery_id,
        lines.billed_qty,
        lines.line_count,
        invoices.currency_code,
        invoices.net_amount,
        invoices.tax_amount,
        invoices.net_amount + invoices.tax_amount as gross_amount,
        round((invoices.net_amount + invoices.tax_amount) * fx.to_usd, 2) as gross_amount_usd,
        round((invoices.net_amount + invoices.tax_amount) * fx.to_cny, 2) as gross_amount_cny,
        {{ billing_sign('invoices.billing_type') }} * (invoices.net_amount + invoices.tax_amount)
            as signed_gross_amount,
        {{ billing_sign('invoices.billing_type') }}
        * round((invoices.net_amount + invoices.tax_amount) * fx.to_usd, 2) as signed_gross_amount_usd,
        {{ billing_sign('invoices.billing_type') }}
        * round((invoices.net_amount + invoices.tax_amount) * fx.to_cny, 2) as signed_gross_amount_cny,
        fx.to_usd as usd_rate,
        fx.to_cny as cny_rate,
        fx.rate_date as fx_rate_date,
        invoices.payment_terms_code,
        receivable.net_due_date,
        case when receivable.clearing_date <= {{ as_of_date() }} then receivable.clearing_date end
            as cleared_date,
        coalesce(receivable.is_open, false) as is_open,
        invoices.is_cancelled,
        invoices.cancelled_invoice_id,
        cancellations.invoice_id as cancelled_by_invoice_id,
        -- both halves of a cancelled pair (their signed amounts net to zero): left out of sales (DSO)
        invoices.is_cancelled or invoices.cancelled_invoice_id is not null as is_cancelled_pair
    from invoices
    left join invoices as cancellations
        on
            invoices.invoice_id = cancellations.cancelled_invoice_id
            and cancellations.invoice_date <= {{ as_of_date() }}
    left join lines on invoices.invoice_id = lines.invoice_id
    left join receivable on invoices.invoice_id = receivable.invoice_id
    left join customers
        on
            invoices.customer_id = customers.customer_id
            and invoices.invoice_date >= customers.valid_from
            and invoices.invoice_date < customers.valid_to
    left join fx on invoices.currency_code = fx.currency_code and invoices.invoice_date = fx.rate_date
    where invoices.invoice_date <= {{ as_of_date() }}
)

select * from final
