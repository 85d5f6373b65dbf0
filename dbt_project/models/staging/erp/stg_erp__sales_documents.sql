with

headers as (
    {{ erp_latest('vbak', ['vbeln']) }}
),

final as (
    select
        vbeln as sales_document_id,
        case vbtyp when 'G' then 'contract' when 'C' then 'order' else 'other' end as document_category,
        vbtyp as document_category_code,
        auart as document_type,
        {{ sap_date('audat') }} as document_date,
        {{ sap_date('erdat') }} as created_date,
        kunnr as customer_id,
        vkorg as sales_org,
        waerk as currency_code,
        cast(netwr as numeric) as net_amount,
        {{ sap_date('guebg') }} as valid_from_date,
        {{ sap_date('gueen') }} as valid_to_date,
        bstnk as customer_po_number,
        cast(changed_at as timestamptz) as changed_at
    from headers
)

select * from final
