{#- Customer FI items: open (BSID) and cleared (BSAD). An item cleared by the cutoff is in BSAD;
    its BSID row was deleted in the ERP, which a change-timestamp extract cannot see, so BSAD wins. -#}
with

open_items as (
    {{ erp_latest('bsid', ['bukrs', 'belnr', 'gjahr', 'buzei']) }}
),

cleared_items as (
    {{ erp_latest('bsad', ['bukrs', 'belnr', 'gjahr', 'buzei']) }}
),

unioned as (
    select
        bukrs,
        belnr,
        gjahr,
        buzei,
        kunnr,
        budat,
        bldat,
        zfbdt,
        zbd1t,
        zterm,
        shkzg,
        wrbtr,
        waers,
        xblnr,
        vbeln,
        null as augdt,
        null as augbl,
        0 as priority
    from open_items
    union all
    select
        bukrs,
        belnr,
        gjahr,
        buzei,
        kunnr,
        budat,
        bldat,
        zfbdt,
        zbd1t,
        zterm,
        shkzg,
        wrbtr,
        waers,
        xblnr,
        vbeln,
        augdt,
        augbl,
        1 as priority
    from cleared_items
),

latest as (
    select distinct on (bukrs, belnr, gjahr, buzei) *
    from unioned
    order by bukrs asc, belnr asc, gjahr asc, buzei asc, priority desc
),

final as (
    select
        bukrs || '-' || gjahr || '-' || belnr || '-' || buzei as customer_item_id,
        bukrs as company_code,
        belnr as accounting_document_id,
        kunnr as customer_id,
        nullif(vbeln, '') as invoice_id,
        xblnr as reference,
        {{ sap_date('budat') }} as posting_date,
        {{ sap_date('zfbdt') }} as baseline_date,
        {{ sap_date('zfbdt') }} + cast(zbd1t as integer) as net_due_date,
        zterm as payment_terms_code,
        case when shkzg = 'H' then -1 else 1 end * cast(wrbtr as numeric) as amount,
        waers as currency_code,
        {{ sap_date('augdt') }} as clearing_date,
        augbl as clearing_document_id
    from latest
)

select * from final
