{#- Grain: one row per booked bank entry (MT940 :61: line / camt Ntry) up to the as-of date. -#}
with

entries as (select * from {{ ref('stg_bank__entries') }}),

fx as (select * from {{ ref('int_fx_rates_daily') }}),

final as (
    select
        entries.bank_entry_id as payment_id,
        entries.account_id,
        entries.statement_id,
        entries.booking_date,
        entries.value_date,
        entries.direction,
        entries.is_reversal,
        entries.direction = 'CRDT' and not entries.is_reversal as is_customer_receipt,
        entries.amount,
        entries.currency_code,
        case when entries.direction = 'CRDT' then entries.amount else -entries.amount end as signed_amount,
        round(entries.amount * fx.to_usd, 2) as amount_usd,
        round(entries.amount * fx.to_cny, 2) as amount_cny,
        fx.to_usd as usd_rate,
        fx.to_cny as cny_rate,
        fx.rate_date as fx_rate_date,
        entries.counterparty_name as payer_name,
        entries.counterparty_account as payer_account,
        entries.remittance_info,
        entries.customer_reference as end_to_end_id,
        entries.bank_reference,
        substring(entries.remittance_info from '(9[0-9]{7})') as invoice_reference_hint,
        entries.source_file
    from entries
    left join fx on entries.currency_code = fx.currency_code and entries.booking_date = fx.rate_date
)

select * from final
