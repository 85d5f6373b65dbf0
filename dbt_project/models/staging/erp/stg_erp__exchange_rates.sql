with

rates as (
    {{ erp_latest('tcurr', ['kurst', 'fcurr', 'tcurr', 'gdatu']) }}
),

final as (
    select
        kurst as rate_type,
        fcurr as from_currency_code,
        tcurr as to_currency_code,
        {{ sap_date('gdatu') }} as valid_from_date,
        cast(ukurs as numeric) as exchange_rate
    from rates
)

select * from final
