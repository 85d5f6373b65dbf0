{#- Whether a customer item is a candidate for a receipt (int_cash_applications): posted by its booking date,
    not cleared before it; an item a clearing posted on the receipt's day (a residual, a deduction in dispute,
    a payment on account) is what a payment of that day left open, not something the receipt pays. A filter
    for items reached by a key (a quoted number, the payer's group, a set's items): never a join of every
    receipt with every item. -#}
{% macro cash_candidate(item='items', receipt='receipts') -%}
    (
        {{ receipt }}.booking_date > {{ item }}.posting_date
        or ({{ receipt }}.booking_date = {{ item }}.posting_date and not {{ item }}.is_posted_by_clearing)
    )
    and ({{ item }}.clearing_date is null or {{ receipt }}.booking_date <= {{ item }}.clearing_date)
{%- endmacro %}

{#- The receipt's amount in an item's currency: as booked when the currencies agree, the instructed amount when
    the payer instructed in the item's currency (the bank converted it), else converted at the booking date's
    type-M rates (int_fx_rates_daily, joined as fx_receipt and fx_item). -#}
{% macro receipt_amount_in(item_currency, receipt='receipts') -%}
    case
        when {{ receipt }}.currency_code = {{ item_currency }} then {{ receipt }}.amount
        when {{ receipt }}.instructed_currency = {{ item_currency }} then {{ receipt }}.instructed_amount
        else round({{ receipt }}.amount * fx_receipt.to_usd / nullif(fx_item.to_usd, 0), 2)
    end
{%- endmacro %}

{#- Whether a receipt reaches an item's currency through an exchange: booked in another currency, or booked in
    it but converted by the bank from what the payer instructed in another (an FX difference is then the
    payer's, within the FX tolerance like a converted receipt's). -#}
{% macro is_converted(item_currency, receipt='receipts') -%}
    (
        {{ receipt }}.currency_code <> {{ item_currency }}
        or coalesce({{ receipt }}.instructed_currency, {{ item_currency }}) <> {{ item_currency }}
    )
{%- endmacro %}

{#- How much a receipt may fall short of the items it settles, in the items' currency: the configured charge
    tolerance of the currency (var cash_application.charge_tolerance, else the USD default converted), or the
    charges the bank states when larger. -#}
{% macro charge_tolerance(item_currency, receipt='receipts') -%}
    {%- set cfg = var('cash_application') -%}
    greatest(
        case {{ item_currency }}
            {%- for currency, amount in cfg.charge_tolerance.items() %}
            when '{{ currency }}' then {{ amount }}
            {%- endfor %}
            else round({{ cfg.charge_tolerance_default_usd }} / nullif(fx_item.to_usd, 0), 2)
        end,
        coalesce(
            case
                when {{ receipt }}.currency_code = {{ item_currency }} then {{ receipt }}.charges
                else round({{ receipt }}.charges * fx_receipt.to_usd / nullif(fx_item.to_usd, 0), 2)
            end,
            0
        )
    )
{%- endmacro %}

{#- The kind of fit of a receipt (amount a, in the items' currency) to items of open amount total: exact,
    charges (short by at most the charge tolerance), fx (converted, within fx_tolerance_pct), else null. -#}
{% macro settlement_fit(total, a, tolerance, converted) -%}
    {%- set pct = var('cash_application').fx_tolerance_pct -%}
    case
        when {{ total }} = {{ a }} then 'exact'
        when {{ total }} > {{ a }} and {{ total }} - {{ a }} <= {{ tolerance }} then 'charges'
        when {{ converted }} and abs({{ total }} - {{ a }}) <= abs({{ total }}) * {{ pct }} / 100 then 'fx'
    end
{%- endmacro %}

{#- The candidate sets of a stage of the ladder (int_cash_applications), each with its receipt's booking date,
    amount in the set's currency, charge tolerance, whether it was converted and how it settles the set
    (settlement_fit; null when it does not): the same reading of the receipt for every stage. The receipt's
    receipt_columns are added before booking_date. Needs the model's receipts and fx CTEs. -#}
{% macro fitted_sets(sets, receipt_columns=()) -%}
    select
        fitted.*,
        {{ settlement_fit('fitted.total', 'fitted.receipt_amount', 'fitted.tolerance', 'fitted.converted') }} as fit
    from (
        select
            candidate_sets.*,
            {%- for column in receipt_columns %}
            receipts.{{ column }},
            {%- endfor %}
            receipts.booking_date,
            {{ receipt_amount_in('candidate_sets.currency_code') }} as receipt_amount,
            {{ charge_tolerance('candidate_sets.currency_code') }} as tolerance,
            {{ is_converted('candidate_sets.currency_code') }} as converted
        from {{ sets }} as candidate_sets
        inner join receipts on candidate_sets.payment_id = receipts.payment_id
        left join fx as fx_receipt
            on receipts.currency_code = fx_receipt.currency_code and receipts.booking_date = fx_receipt.rate_date
        left join fx as fx_item
            on candidate_sets.currency_code = fx_item.currency_code and receipts.booking_date = fx_item.rate_date
    ) as fitted
{%- endmacro %}

{#- What a receipt's applications are, as one text to compare (int_cash_application_log): per item, the amount
    applied, the rule and the return; an aggregate over one receipt's rows. -#}
{% macro application_fingerprint() -%}
    string_agg(
        concat_ws(
            ':',
            customer_item_id,
            cast(trim_scale(applied_amount) as text),
            match_rule,
            cast(returned_on as text)
        ),
        ';' order by customer_item_id
    )
{%- endmacro %}
