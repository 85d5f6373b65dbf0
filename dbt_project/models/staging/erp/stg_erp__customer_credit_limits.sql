{#- Customers' credit limits per credit control area (KNKK). -#}
with

credit as (
    {{ erp_latest('knkk', ['kunnr', 'kkber']) }}
),

final as (
    select
        kunnr || '-' || kkber as customer_credit_limit_id,
        kunnr as customer_id,
        kkber as credit_control_area,
        cast(klimk as numeric) as credit_limit,
        waers as currency_code
    from credit
)

select * from final
