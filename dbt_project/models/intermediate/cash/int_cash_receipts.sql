{#- Grain: one row per customer receipt (a bank credit that is not a reversal) booked in the cash application
    window (the window_days before the as-of date, var cash_application), with the return that sent it back,
    if any: a debit of the same account, end-to-end id and amount, booked on or after it (camt RtrInf, MT940
    RC /RTRN/). The payer is named by account when the bank gives one, else by name (upper-cased, spaces
    collapsed). -#}
{{ config(materialized='table') }}
{%- set cfg = var('cash_application') %}

with

payments as (
    select * from {{ ref('int_bank_payments') }}
    where booking_date > {{ as_of_date() }} - {{ cfg.window_days }}
),

receipts as (
    select * from payments
    where direction = 'CRDT' and not is_reversal and amount > 0
),

returns as (
    select
        account_id,
        end_to_end_id,
        amount,
        booking_date,
        payment_id,
        return_reason
    from payments
    where direction = 'DBIT' and (is_reversal or return_reason is not null) and end_to_end_id is not null
),

final as (
    select
        receipts.payment_id,
        receipts.bank_entry_id,
        receipts.account_id,
        receipts.booking_date,
        receipts.value_date,
        receipts.amount,
        receipts.currency_code,
        receipts.instructed_amount,
        receipts.instructed_currency,
        receipts.exchange_rate,
        receipts.charges,
        receipts.charge_bearer,
        receipts.counterparty_name as payer_name,
        receipts.counterparty_account as payer_account,
        nullif(upper(regexp_replace(trim(receipts.counterparty_name), '\s+', ' ', 'g')), '')
            as payer_name_key,
        receipts.ultimate_debtor,
        receipts.end_to_end_id,
        receipts.remittance_unstructured,
        receipts.referred_documents,
        receipts.creditor_reference,
        receipts.bank_reference,
        receipts.tx_seq,
        receipts.in_final_statement,
        returned.booking_date as returned_on,
        returned.payment_id as return_payment_id,
        returned.return_reason
    from receipts
    left join lateral (
        select
            returns.booking_date,
            returns.payment_id,
            returns.return_reason
        from returns
        where
            returns.account_id = receipts.account_id
            and returns.end_to_end_id = receipts.end_to_end_id
            and returns.amount = receipts.amount
            and returns.booking_date >= receipts.booking_date
        order by returns.booking_date, returns.payment_id
        limit 1
    ) as returned on true
)

select * from final
