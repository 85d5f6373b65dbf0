{#- Grain: one row per landed bank report (final statement, intraday report or notification) closed by the
    as-of date (its closing date, else its opening date, else its creation date; a report with none is kept). -#}
with

statements as (
    select * from {{ source('bank', 'statements') }}
    -- as of the run: reports closed by its as-of date (a backfill never shows a later balance)
    where
        coalesce(
            closing_date, opening_date, (created_at at time zone '{{ var("business_timezone") }}')::date,
            {{ as_of_date() }}
        ) <= {{ as_of_date() }}
),

final as (
    select
        statement_key as bank_statement_id,
        report_kind,
        account_id,
        statement_id,
        sequence_number,
        legal_sequence,
        message_id,
        created_at,
        currency as currency_code,
        opening_balance,
        opening_date,
        closing_balance,
        closing_date,
        entry_count,
        credit_count,
        debit_count,
        credit_total,
        debit_total,
        file_format,
        file_version,
        file_sha256,
        _source as source_file,
        _loaded_at as loaded_at
    from statements
)

select * from final
