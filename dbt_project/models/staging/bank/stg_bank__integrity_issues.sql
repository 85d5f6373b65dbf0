{#- Grain: one row per statement integrity issue (ops.bank_integrity_issues) detected by the as-of date's
    cutoff, with whether it was still unresolved at that cutoff. -#}
with

issues as (
    select * from {{ source('bank_intake', 'bank_integrity_issues') }}
    where detected_at < {{ as_of_cutoff() }}
),

final as (
    select
        issue_id,
        kind,
        account_id,
        currency as currency_code,
        statement_key,
        statement_id,
        sequence_number,
        statement_date,
        previous_statement_key,
        previous_statement_id,
        previous_sequence_number,
        previous_date,
        expected_opening,
        stated_opening,
        difference,
        missing_sequences,
        message,
        file_name,
        detected_at,
        resolved_at,
        resolved_by_file,
        resolved_at is null or resolved_at >= {{ as_of_cutoff() }} as is_open
    from issues
)

select * from final
