with

items as (
    {{ erp_latest('vbap', ['vbeln', 'posnr']) }}
),

final as (
    select
        vbeln || '-' || posnr as sales_item_id,
        vbeln as sales_document_id,
        posnr as item_number,
        matnr as product_id,
        cast(kwmeng as numeric) as order_qty,
        cast(zmeng as numeric) as target_qty,
        vrkme as sales_uom,
        cast(netpr as numeric) / nullif(cast(kpein as numeric), 0) as unit_price,
        cast(netwr as numeric) as net_amount,
        waerk as currency_code,
        werks as plant_id,
        cast(uebto as numeric) as over_delivery_tolerance_pct,
        cast(untto as numeric) as under_delivery_tolerance_pct,
        nullif(vgbel, '') as reference_document_id,
        case when nullif(vgbel, '') is not null then vgbel || '-' || vgpos end as reference_item_id,
        case when nullif(vgbel, '') is not null then vgpos end as reference_item_number,
        nullif(abgru, '') as rejection_reason_code,
        nullif(abgru, '') is not null as is_rejected,
        coalesce(nullif(trim(lfsta), ''), 'A') as delivery_status,
        {{ sap_date('erdat') }} as created_date,
        coalesce(zzprtyp = 'F', false) as is_formula_priced,
        case when zzprtyp = 'F' then nullif(trim(zzqprule), '') end as quotational_period_rule,
        case when zzprtyp = 'F' then cast(zzpremp as numeric) end as formula_premium_pct,
        cast(changed_at as timestamptz) as changed_at
    from items
)

select * from final
