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
