{#- Grain: one row per bank payment up to the as-of date: each booked entry once whatever reports carried it
    (int_bank_payments), a batch booking as its payments. -#}
with

payments as (select * from {{ ref('int_bank_payments') }}),

fx as (select * from {{ ref('int_fx_rates_daily') }}),

final as (
    select
        payments.payment_id,
        payments.bank_entry_id,
        payments.account_id,
        payments.statement_id,
        payments.report_kind,
        payments.in_final_statement,
        payments.booking_date,
        payments.value_date,
        payments.direction,
        payments.is_reversal,
        payments.direction = 'CRDT' and not payments.is_reversal as is_customer_receipt,
        payments.amount,
        payments.entry_amount,
        payments.tx_seq,
        payments.tx_count,
        payments.currency_code,
        case when payments.direction = 'CRDT' then payments.amount else -payments.amount end as signed_amount,
        round(payments.amount * fx.to_usd, 2) as amount_usd,
        round(payments.amount * fx.to_cny, 2) as amount_cny,
        fx.to_usd as usd_rate,
        fx.to_cny as cny_rate,
        fx.rate_date as fx_rate_date,
        payments.counterparty_name as payer_name,
        payments.counterparty_account as payer_account,
        payments.counterparty_bic as payer_bic,
        payments.ultimate_debtor,
        payments.remittance_unstructured as remittance_info,
        payments.creditor_reference,
        payments.creditor_reference_type,
        payments.referred_documents,
        payments.end_to_end_id,
        payments.bank_reference,
        payments.transaction_code,
        payments.domain_code,
        payments.family_code,
        payments.sub_family_code,
        payments.proprietary_code,
        payments.charges,
        payments.charge_bearer,
        payments.instructed_amount,
        payments.instructed_currency,
        payments.exchange_rate,
        payments.return_reason,
        substring(payments.remittance_unstructured from '(9[0-9]{7})') as invoice_reference_hint,
        payments.source_file
    from payments
    left join fx on payments.currency_code = fx.currency_code and payments.booking_date = fx.rate_date
)

select * from final
