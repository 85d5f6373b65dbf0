with

entries as (
    select * from {{ source('bank', 'entries') }}
    where booking_date <= {{ as_of_date() }}
),

final as (
    select
        md5(file_sha256 || ':' || statement_seq || ':' || entry_seq) as bank_entry_id,
        account_id,
        statement_id,
        entry_seq,
        booking_date,
        value_date,
        amount,
        currency as currency_code,
        direction,
        is_reversal,
        bank_reference,
        customer_reference,
        counterparty_name,
        counterparty_account,
        remittance_info,
        transaction_code,
        _source as source_file,
        _loaded_at as loaded_at
    from entries
)

select * from final
