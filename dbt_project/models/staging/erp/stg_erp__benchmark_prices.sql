with

prices as (
    {{ erp_latest('zmm_price_bench', ['matnr', 'spmon']) }}
),

final as (
    select
        matnr as product_id,
        {{ sap_month('spmon') }} as price_month,
        cast(kbetr as numeric) as benchmark_price,
        waers as currency_code,
        kmein as price_uom
    from prices
)

select * from final
