{#- Grain: one row per customer FI item a receipt of the cash application window may settle, as known at the
    cutoff: open items, and items cleared within the window (the ERP clears an item from the receipt that
    paid it a few days after the bank booked it, with that booking's date: such an item is still a candidate
    for the receipts booked up to its clearing date). With the customer's group (KNA1-KONZS: the parent
    customer; a customer outside a group is its own). -#}
{{ config(materialized='table') }}
{%- set cfg = var('cash_application') %}

with

items as (
    select * from {{ ref('int_customer_items') }}
    where clearing_date is null or clearing_date > {{ as_of_date() }} - {{ cfg.window_days }}
),

customers as (select * from {{ ref('stg_erp__customers') }}),

clearing_documents as (
    select distinct clearing_document_id
    from {{ ref('int_customer_items') }}
    where clearing_document_id is not null
),

final as (
    select
        items.customer_item_id,
        items.customer_id,
        coalesce(customers.group_customer_id, items.customer_id) as group_id,
        items.invoice_id,
        items.reference_invoice_document,
        items.is_credit,
        items.amount,
        items.currency_code,
        items.posting_date,
        items.net_due_date,
        items.clearing_date,
        items.clearing_document_id,
        -- posted by a clearing (what a payment left open: a residual, a deduction in dispute, a payment on
        -- account), or referring to such an item (the credit memo settling a deduction)
        posted_by.clearing_document_id is not null or refers_to.clearing_document_id is not null
            as is_posted_by_clearing
    from items
    left join customers on items.customer_id = customers.customer_id
    left join clearing_documents as posted_by on items.accounting_document_id = posted_by.clearing_document_id
    left join
        clearing_documents as refers_to
        on items.reference_invoice_document = refers_to.clearing_document_id
)

select * from final
