{#- A reporting-currency amount (e.g. net_amount_usd) is null while its base amount is not: the currency had
    no exchange rate path on the rate date (see int_fx_rates_daily). One failing row per such record.
    amount defaults to the column name without its _usd / _cny suffix. -#}
{% test reporting_amount_converted(model, column_name, amount=none) %}
    {%- set base = amount or modules.re.sub('_(usd|cny)$', '', column_name) -%}
    {%- if base == column_name -%}
        {{ exceptions.raise_compiler_error(
            "reporting_amount_converted on " ~ column_name ~ ": name the base amount (arguments: amount)"
        ) }}
    {%- endif %}
select *
from {{ model }}
where {{ base }} is not null and {{ column_name }} is null
{% endtest %}
