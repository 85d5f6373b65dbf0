{#- Grain: one row per bank receipt of the cash application window with cash no rule applied: all of it, or
    the excess of an over-payment. With its age and the three open items (of any customer, in the receipt's
    currency) closest in amount. A returned receipt is not
    unapplied cash. -#}
with

receipts as (select * from {{ ref('int_cash_receipts') }}),

applications as (
    select * from {{ ref('int_cash_application_log') }}
    where decided_on <= {{ as_of_date() }} and (superseded_on is null or superseded_on > {{ as_of_date() }})
),

items as (
    select * from {{ ref('int_cash_open_items') }}
    where clearing_date is null and not is_credit
),

fx as (select * from {{ ref('int_fx_rates_daily') }}),

applied as (
    select
        payment_id,
        bool_or(settlement = 'overpayment') as is_overpayment,
        min(difference_amount) as difference_amount,
        min(currency_code) as currency_code,
        array_agg(distinct customer_id) as customer_ids
    from applications
    group by payment_id
),

unapplied as (
    select
        receipts.*,
        case
            when applied.payment_id is null then receipts.amount
            when applied.is_overpayment and applied.currency_code = receipts.currency_code
                then -applied.difference_amount
            when applied.is_overpayment
                then round(
                        -applied.difference_amount * receipts.amount
                        / nullif(receipts.amount + (-applied.difference_amount), 0), 2
                    )
            else 0
        end as unapplied_amount,
        applied.payment_id is not null as is_partly_applied
    from receipts
    left join applied on receipts.payment_id = applied.payment_id
    where receipts.returned_on is null
),

closest as (
    select
        unapplied.payment_id,
        array_agg(candidate.customer_item_id order by candidate.distance, candidate.customer_item_id)
            as candidate_item_ids,
        array_agg(candidate.invoice_id order by candidate.distance, candidate.customer_item_id)
            as candidate_invoice_ids,
        array_agg(candidate.amount order by candidate.distance, candidate.customer_item_id)
            as candidate_amounts
    from unapplied
    cross join
        lateral (
            select
                items.customer_item_id,
                items.invoice_id,
                items.amount,
                abs(items.amount - unapplied.unapplied_amount) as distance
            from items
            where items.currency_code = unapplied.currency_code and items.posting_date <= {{ as_of_date() }}
            order by abs(items.amount - unapplied.unapplied_amount), items.customer_item_id
            limit 3
        ) as candidate
    where unapplied.unapplied_amount > 0
    group by unapplied.payment_id
),

final as (
    select
        unapplied.payment_id,
        unapplied.account_id,
        unapplied.booking_date,
        {{ as_of_date() }} - unapplied.booking_date as age_days,
        unapplied.payer_name,
        unapplied.payer_account,
        unapplied.amount,
        unapplied.currency_code,
        unapplied.unapplied_amount,
        round(unapplied.unapplied_amount * fx.to_usd, 2) as unapplied_amount_usd,
        unapplied.is_partly_applied,
        unapplied.remittance_unstructured as remittance_info,
        unapplied.end_to_end_id,
        unapplied.bank_reference,
        closest.candidate_item_ids,
        closest.candidate_invoice_ids,
        closest.candidate_amounts
    from unapplied
    left join closest on unapplied.payment_id = closest.payment_id
    left join fx on unapplied.currency_code = fx.currency_code and fx.rate_date = {{ as_of_date() }}
    where unapplied.unapplied_amount > 0
)

select * from final
