with

prices as (
    {{ erp_latest('zmm_price_bench', ['matnr', 'spmon']) }}
),

final as (
    select
        matnr as product_id,
        to_date(spmon || '01', 'YYYYMMDD') as price_month,
        cast(kbetr as numeric) as benchmark_price,
        waers as currency_code,
        kmein as price_uom
    from prices
)

select * from final
