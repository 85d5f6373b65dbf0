{#- Grain: one row per landed bank payment (raw_bank.entries: a transaction of an entry; an entry without
    transaction details is its own single payment) with a booking date up to the as-of date, whatever the
    report (final statement, intraday report, notification) it came in. -#}
with

entries as (
    select * from {{ source('bank', 'entries') }}
    where booking_date <= {{ as_of_date() }}
),

final as (
    select
        md5(statement_key || ':' || entry_seq || ':' || tx_seq) as bank_row_id,
        statement_key,
        report_kind,
        account_id,
        statement_id,
        entry_seq,
        tx_seq,
        tx_count,
        booking_date,
        value_date,
        amount as entry_amount,
        -- a single payment is the entry; a batch's detail without an amount stays null
        coalesce(tx_amount, case when tx_count = 1 then amount end) as amount,
        currency as currency_code,
        direction as entry_direction,
        coalesce(tx_direction, direction) as direction,
        is_reversal,
        bank_reference,
        entry_reference,
        coalesce(tx_bank_reference, case when tx_count = 1 then bank_reference end) as tx_bank_reference,
        coalesce(end_to_end_id, case when tx_count = 1 then customer_reference end) as end_to_end_id,
        instruction_id,
        transaction_id,
        mandate_id,
        coalesce(tx_counterparty_name, case when tx_count = 1 then counterparty_name end)
            as counterparty_name,
        coalesce(
            tx_counterparty_account, case when tx_count = 1 then counterparty_account end
        ) as counterparty_account,
        counterparty_bic,
        ultimate_debtor,
        ultimate_creditor,
        coalesce(
            remittance_unstructured, case when tx_count = 1 then remittance_info end
        ) as remittance_unstructured,
        remittance_info as entry_remittance_info,
        creditor_reference,
        creditor_reference_type,
        referred_documents,
        transaction_code,
        coalesce(tx_domain_code, domain_code) as domain_code,
        coalesce(tx_family_code, family_code) as family_code,
        coalesce(tx_sub_family_code, sub_family_code) as sub_family_code,
        coalesce(tx_proprietary_code, proprietary_code) as proprietary_code,
        batch_count,
        coalesce(charges, case when tx_count = 1 then entry_charges end) as charges,
        charge_bearer,
        instructed_amount,
        instructed_currency,
        exchange_rate,
        return_reason,
        coalesce(tx_info, entry_info) as additional_info,
        _source as source_file,
        _loaded_at as loaded_at
    from entries
)

select * from final
