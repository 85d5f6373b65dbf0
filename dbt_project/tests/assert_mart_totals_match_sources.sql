{#- Mart totals = source totals: a few key totals of the marts against their staging inputs read directly, so
    that a join that fans rows out (an SCD2 or rate join matching twice), drops them, or a filter that drifts
    from the as-of scope shows as a count or amount difference. Per-row checks live elsewhere
    (assert_invoices_match_billing_documents: each billing document is in fct_invoices with its net amount);
    this one also catches duplicated and extra rows.
    - invoices: fct_invoices vs stg_erp__billing_documents dated up to the as-of date, per document currency:
      row count and sum of net_amount;
    - orders: fct_orders vs the sales document items (stg_erp__sales_document_items) of order documents
      (stg_erp__sales_documents, category 'order') dated up to the as-of date, per currency: line count and
      sum of net_amount;
    - payments: the entries of final statements in fct_payments (in_final_statement) vs the entries of final
      statements in stg_bank__entries booked up to the as-of date, each entry once (by its bank reference
      where it has one, else its place in its statement; equal entries within one statement each), per
      currency and direction (segment CRDT / DBIT): entry count and sum of entry amounts.
    One row per mismatching (check, currency, segment), with both totals; amounts compared exactly. -#}
with

source_totals as (
    select
        'invoices' as check_name,
        currency_code,
        'all' as segment,
        count(*) as row_count,
        sum(net_amount) as amount
    from {{ ref('stg_erp__billing_documents') }}
    where invoice_date <= {{ as_of_date() }}
    group by currency_code
    union all
    select
        'orders' as check_name,
        items.currency_code,
        'all' as segment,
        count(*) as row_count,
        sum(items.net_amount) as amount
    from {{ ref('stg_erp__sales_document_items') }} as items
    inner join {{ ref('stg_erp__sales_documents') }} as documents
        on items.sales_document_id = documents.sales_document_id
    where documents.document_category = 'order' and documents.document_date <= {{ as_of_date() }}
    group by items.currency_code
    union all
    select
        'payments' as check_name,
        currency_code,
        entry_direction as segment,
        sum(entry_count) as row_count,
        sum(entry_count * entry_amount) as amount
    from (
        -- an entry in two final statements once; equal entries within one statement each
        select
            currency_code,
            entry_direction,
            entry_amount,
            max(entry_count) as entry_count
        from (
            select
                statement_key,
                account_id,
                booking_date,
                currency_code,
                entry_direction,
                entry_amount,
                coalesce(bank_reference, statement_key || ':' || entry_seq) as entry_reference,
                count(*) as entry_count
            from {{ ref('stg_bank__entries') }}
            where booking_date <= {{ as_of_date() }} and report_kind = 'statement' and tx_seq = 1
            group by
                statement_key, account_id, booking_date, currency_code, entry_direction, entry_amount,
                coalesce(bank_reference, statement_key || ':' || entry_seq)
        ) as per_statement
        group by account_id, booking_date, currency_code, entry_direction, entry_amount, entry_reference
    ) as final_entries
    group by currency_code, entry_direction
),

mart_totals as (
    select
        'invoices' as check_name,
        currency_code,
        'all' as segment,
        count(*) as row_count,
        sum(net_amount) as amount
    from {{ ref('fct_invoices') }}
    group by currency_code
    union all
    select
        'orders' as check_name,
        currency_code,
        'all' as segment,
        count(*) as row_count,
        sum(net_amount) as amount
    from {{ ref('fct_orders') }}
    group by currency_code
    union all
    select
        'payments' as check_name,
        currency_code,
        direction as segment,
        count(*) as row_count,
        sum(entry_amount) as amount
    from {{ ref('fct_payments') }}
    -- an entry once: its first payment (tx_seq is unique within an entry)
    where in_final_statement and tx_seq = 1
    group by currency_code, direction
)

select
    coalesce(source_totals.check_name, mart_totals.check_name) as check_name,
    coalesce(source_totals.currency_code, mart_totals.currency_code) as currency_code,
    coalesce(source_totals.segment, mart_totals.segment) as segment,
    source_totals.row_count as source_row_count,
    mart_totals.row_count as mart_row_count,
    source_totals.amount as source_amount,
    mart_totals.amount as mart_amount
from source_totals
full outer join mart_totals
    on
        source_totals.check_name = mart_totals.check_name
        and source_totals.currency_code is not distinct from mart_totals.currency_code
        and source_totals.segment is not distinct from mart_totals.segment
where
    source_totals.row_count is distinct from mart_totals.row_count
    or source_totals.amount is distinct from mart_totals.amount
