{#- One row per rate type, currency pair and valid-from date (TCURR), as SAP stores it decoded:
    GDATU is an inverted date (99999999 - YYYYMMDD), UKURS < 0 an indirect quotation, FFACT/TFACT ratio factors.
    exchange_rate: units of to-currency per 1 unit of from-currency; inverse_exchange_rate: the reverse, each
    computed from the quoted figures. A rate is valid from valid_from_date until the next one of the pair. -#}
with

rates as (
    {{ erp_latest('tcurr', ['kurst', 'fcurr', 'tcurr', 'gdatu']) }}
),

final as (
    select
        kurst as rate_type,
        fcurr as from_currency_code,
        tcurr as to_currency_code,
        {{ sap_inverted_date('gdatu') }} as valid_from_date,
        cast(nullif(trim(ukurs), '') as numeric) < 0 as is_indirect_quotation,
        {{ sap_exchange_rate('ukurs', 'ffact', 'tfact') }} as exchange_rate,
        {{ sap_exchange_rate('ukurs', 'ffact', 'tfact', inverse=true) }} as inverse_exchange_rate
    from rates
)

select * from final
