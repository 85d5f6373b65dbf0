{#- Grain: one row per open statement integrity issue of a bank account as of the as-of date: a statement
    whose opening balance is not the previous statement's closing balance, or a gap in the statement numbers
    (ops.bank_integrity_issues, recorded when the files landed; an issue a later file closed is gone). -#}
with

issues as (
    select * from {{ ref('stg_bank__integrity_issues') }}
    where is_open
),

final as (
    select
        issue_id::text as issue_id,
        kind,
        account_id,
        currency_code,
        statement_id,
        sequence_number,
        statement_date,
        previous_statement_id,
        previous_date,
        expected_opening,
        stated_opening,
        difference,
        missing_sequences,
        message,
        file_name,
        (detected_at at time zone '{{ var("business_timezone") }}')::date as detected_date,
        {{ as_of_date() }} - (detected_at at time zone '{{ var("business_timezone") }}')::date as days_open
    from issues
)

select * from final
