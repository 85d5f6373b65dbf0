{#- Grain: one row per bank payment that counts as of the as-of date: each entry once, whatever reports
    carried it (the final statement, intraday reports, notifications), a batch booking as its payments.

    An entry's identity across reports is the bank's reference for it (camt AcctSvcrRef, the MT940 // bank
    reference) when its report gives it to no other entry, with the account, direction and amount; an entry of
    a final statement without one is its position in that statement; an intraday or notification entry
    without one is its content (booking date, direction, amount, end-to-end id, remittance) and its rank among
    equal ones in its report. Of the reports carrying an entry, the one with its payment details is used (a
    notification detailing a batch the statement books as one entry), then the final statement, then a
    notification, then an intraday report. An intraday or notification entry booked on a day the account's
    final statements cover, and absent from them, does not count (the final statement is the truth of that
    day). See DECISIONLOG "Bank intake: reports, duplicates and integrity". -#}
{{ config(materialized='table') }}

with

payment_rows as (select * from {{ ref('stg_bank__entries') }}),

statements as (select * from {{ ref('stg_bank__statements') }}),

final_through as (
    -- the last day each account's final statements cover
    select
        account_id,
        max(coalesce(closing_date, opening_date)) as covered_through
    from statements
    where report_kind = 'statement'
    group by account_id
),

referenced as (
    select
        payment_rows.*,
        sum(case when payment_rows.tx_seq = 1 then 1 else 0 end) over (
            partition by payment_rows.statement_key, payment_rows.bank_reference
        ) as entries_with_reference,
        row_number() over (
            partition by
                payment_rows.statement_key,
                payment_rows.booking_date,
                payment_rows.entry_direction,
                payment_rows.entry_amount,
                payment_rows.end_to_end_id,
                payment_rows.entry_remittance_info,
                payment_rows.tx_seq
            order by payment_rows.entry_seq
        ) as content_rank
    from payment_rows
),

identified as (
    select
        referenced.*,
        case
            when referenced.bank_reference is not null and referenced.entries_with_reference = 1
                then concat_ws(
                        chr(31), 'ref', referenced.account_id, referenced.bank_reference,
                        referenced.entry_direction, trim_scale(referenced.entry_amount)::text
                    )
            when referenced.report_kind = 'statement'
                then concat_ws(chr(31), 'pos', referenced.statement_key, referenced.entry_seq::text)
            else concat_ws(
                    chr(31), 'content', referenced.account_id, referenced.booking_date::text,
                    referenced.entry_direction, trim_scale(referenced.entry_amount)::text,
                    coalesce(referenced.end_to_end_id, ''), coalesce(referenced.entry_remittance_info, ''),
                    referenced.content_rank::text
                )
        end as entry_identity,
        case referenced.report_kind when 'statement' then 1 when 'notification' then 2 else 3 end as kind_rank
    from referenced
),

sources as (
    -- per entry: the report whose rows are used, and whether a final statement has it
    select
        entry_identity,
        (array_agg(
            statement_key order by (tx_count > 1) desc, kind_rank, loaded_at asc, statement_key asc
        ))[1] as chosen_statement_key,
        bool_or(report_kind = 'statement') as in_final_statement
    from identified
    group by entry_identity
),

final as (
    select
        md5(identified.entry_identity || ':' || identified.tx_seq) as payment_id,
        md5(identified.entry_identity) as bank_entry_id,
        identified.entry_identity,
        identified.report_kind,
        identified.statement_key as bank_statement_id,
        identified.account_id,
        identified.statement_id,
        identified.entry_seq,
        identified.tx_seq,
        identified.tx_count,
        identified.booking_date,
        identified.value_date,
        identified.entry_amount,
        identified.amount,
        identified.currency_code,
        identified.entry_direction,
        identified.direction,
        identified.is_reversal,
        identified.bank_reference,
        identified.entry_reference,
        identified.tx_bank_reference,
        identified.end_to_end_id,
        identified.instruction_id,
        identified.transaction_id,
        identified.mandate_id,
        identified.counterparty_name,
        identified.counterparty_account,
        identified.counterparty_bic,
        identified.ultimate_debtor,
        identified.ultimate_creditor,
        identified.remittance_unstructured,
        identified.entry_remittance_info,
        identified.creditor_reference,
        identified.creditor_reference_type,
        identified.referred_documents,
        identified.transaction_code,
        identified.domain_code,
        identified.family_code,
        identified.sub_family_code,
        identified.proprietary_code,
        identified.batch_count,
        identified.charges,
        identified.charge_bearer,
        identified.instructed_amount,
        identified.instructed_currency,
        identified.exchange_rate,
        identified.return_reason,
        identified.additional_info,
        sources.in_final_statement,
        identified.source_file,
        identified.loaded_at
    from identified
    inner join sources
        on
            identified.entry_identity = sources.entry_identity
            and identified.statement_key = sources.chosen_statement_key
    left join final_through on identified.account_id = final_through.account_id
    where
        sources.in_final_statement
        or final_through.covered_through is null
        or identified.booking_date > final_through.covered_through
)

select * from final
