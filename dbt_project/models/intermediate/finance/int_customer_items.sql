{#- One row per customer FI item, open or cleared, as known at the cutoff. An item is in one of BSID and
    BSAD at a time; should both be alive (a deletion not yet reconciled), the cleared version wins when
    its clearing is not older than the open version's last change, else the open one (a reset). -#}
{%- set item_columns = [
    'customer_item_id', 'company_code', 'accounting_document_id', 'fiscal_year', 'line_item', 'customer_id',
    'invoice_id', 'reference', 'is_credit', 'reference_invoice_document', 'posting_date', 'baseline_date',
    'net_due_date', 'payment_terms_code', 'amount', 'currency_code',
] %}

with

open_items as (select * from {{ ref('stg_erp__open_customer_items') }}),

cleared_items as (select * from {{ ref('stg_erp__cleared_customer_items') }}),

unioned as (
    select
        {{ item_columns | join(',\n        ') }},
        changed_at,
        cast(null as date) as clearing_date,
        cast(null as text) as clearing_document_id,
        0 as priority
    from open_items
    union all
    select
        {{ item_columns | join(',\n        ') }},
        changed_at,
        clearing_date,
        clearing_document_id,
        1 as priority
    from cleared_items
),

final as (
    select distinct on (customer_item_id)
        {{ item_columns | join(',\n        ') }},
        clearing_date,
        clearing_document_id
    from unioned
    order by customer_item_id asc, changed_at desc, priority desc
)

select * from final
