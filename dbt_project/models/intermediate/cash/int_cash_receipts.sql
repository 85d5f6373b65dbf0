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

returned as (
    -- the first return of each receipt sent back
    select distinct on (receipts.payment_id)
        receipts.payment_id as receipt_id,
        returns.booking_date,
        returns.payment_id,
        returns.return_reason
    from receipts
    inner join returns
        on
            receipts.account_id = returns.account_id
            and receipts.end_to_end_id = returns.end_to_end_id
            and receipts.amount = returns.amount
            and receipts.booking_date <= returns.booking_date
    order by receipts.payment_id asc, returns.booking_date asc, returns.payment_id asc
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
    left join returned on receipts.payment_id = returned.receipt_id
)

select * from final
