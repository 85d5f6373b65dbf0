with

statements as (
    select * from {{ source('bank', 'statements') }}
    -- as of the run: statements closed by its as-of date (a backfill never shows a later balance)
    where coalesce(closing_date, opening_date, {{ as_of_date() }}) <= {{ as_of_date() }}
),

final as (
    select
        md5(file_sha256 || ':' || statement_seq) as bank_statement_id,
        account_id,
        statement_id,
        sequence_number,
        currency as currency_code,
        opening_balance,
        opening_date,
        closing_balance,
        closing_date,
        entry_count,
        file_format,
        file_version,
        _source as source_file
    from statements
)

select * from final
