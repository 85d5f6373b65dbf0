{#- Delivery headers (LIKP): planned and actual goods issue. -#}
with

headers as (
    {{ erp_latest('likp', ['vbeln']) }}
),

final as (
    select
        vbeln as delivery_id,
        kunnr as customer_id,
        vstel as shipping_point,
        {{ sap_date('erdat') }} as created_date,
        {{ sap_date('lfdat') }} as delivery_date,
        {{ sap_date('wadat') }} as planned_goods_issue_date,
        {{ sap_date('wadat_ist') }} as goods_issue_date
    from headers
)

select * from final
