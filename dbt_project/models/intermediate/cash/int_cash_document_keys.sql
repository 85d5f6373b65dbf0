{#- Grain: one row per (key, customer item): the numbers a payer may quote for an item of the cash
    application's candidates, leading zeros dropped. kind: invoice (the billing document of the item),
    invoice_fuzzy (the billing document with one digit missing or two adjacent digits swapped: the usual
    typos), order, delivery, contract (the documents the billing document was made from). -#}
{{ config(materialized='table', indexes=[{'columns': ['document_key']}]) }}

with

items as (
    select * from {{ ref('int_cash_open_items') }}
    where invoice_id is not null
),

billing_items as (select * from {{ ref('stg_erp__billing_document_items') }}),

order_items as (select * from {{ ref('stg_erp__sales_document_items') }}),

invoice_keys as (
    select distinct
        ltrim(invoice_id, '0') as document_key,
        'invoice' as kind,
        customer_item_id
    from items
),

sources as (
    select distinct
        items.customer_item_id,
        billing_items.order_id,
        billing_items.delivery_id,
        order_items.reference_document_id as contract_id
    from items
    inner join billing_items on items.invoice_id = billing_items.invoice_id
    left join order_items on billing_items.sales_item_id = order_items.sales_item_id
),

document_keys as (
    select distinct
        ltrim(order_id, '0') as document_key,
        'order' as kind,
        customer_item_id
    from sources
    where order_id is not null
    union
    select distinct
        ltrim(delivery_id, '0') as document_key,
        'delivery' as kind,
        customer_item_id
    from sources
    where delivery_id is not null
    union
    select distinct
        ltrim(contract_id, '0') as document_key,
        'contract' as kind,
        customer_item_id
    from sources
    where contract_id is not null
),

fuzzy_keys as (
    -- one digit left out
    select distinct
        left(invoice_keys.document_key, positions.n - 1)
        || substring(invoice_keys.document_key from positions.n + 1)
            as document_key,
        'invoice_fuzzy' as kind,
        invoice_keys.customer_item_id
    from invoice_keys
    cross join lateral generate_series(1, length(invoice_keys.document_key)) as positions (n)
    union
    -- two adjacent digits swapped
    select distinct
        left(invoice_keys.document_key, positions.n - 1)
        || substring(invoice_keys.document_key from positions.n + 1 for 1)
        || substring(invoice_keys.document_key from positions.n for 1)
        || substring(invoice_keys.document_key from positions.n + 2) as document_key,
        'invoice_fuzzy' as kind,
        invoice_keys.customer_item_id
    from invoice_keys
    cross join lateral generate_series(1, length(invoice_keys.document_key) - 1) as positions (n)
    where
        substring(invoice_keys.document_key from positions.n for 1)
        <> substring(invoice_keys.document_key from positions.n + 1 for 1)
),

final as (
    select
        document_key,
        kind,
        customer_item_id
    from invoice_keys
    union all
    select
        document_key,
        kind,
        customer_item_id
    from document_keys
    union all
    select
        document_key,
        kind,
        customer_item_id
    from fuzzy_keys
)

select * from final
