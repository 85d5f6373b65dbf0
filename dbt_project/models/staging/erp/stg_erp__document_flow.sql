{#- Document flow (VBFA): which document (item) each sales, delivery and billing document (item) follows.
    Written by the simulated ERP for contract -> call-off order (G -> C), order -> delivery (C -> J),
    delivery -> invoice (J -> M) and invoice -> credit memo, debit memo, cancellation (M -> O, P, N). A row
    is deleted with the document it leads to (key reconciliation sees that: o2c.sources.erp.tables). -#}
with

flows as (
    {{ erp_latest('vbfa') }}
),

final as (
    select
        vbelv || '-' || posnv || '-' || vbeln || '-' || posnn || '-' || vbtyp_n as document_flow_id,
        vbelv as preceding_document_id,
        posnv as preceding_item_number,
        vbelv || '-' || posnv as preceding_item_id,
        vbtyp_v as preceding_category_code,
        case vbtyp_v
            when 'G' then 'contract'
            when 'C' then 'order'
            when 'J' then 'delivery'
            when 'M' then 'invoice'
            when 'N' then 'invoice_cancellation'
            when 'O' then 'credit_memo'
            when 'P' then 'debit_memo'
            else 'other'
        end as preceding_document_category,
        vbeln as subsequent_document_id,
        posnn as subsequent_item_number,
        vbeln || '-' || posnn as subsequent_item_id,
        vbtyp_n as subsequent_category_code,
        case vbtyp_n
            when 'G' then 'contract'
            when 'C' then 'order'
            when 'J' then 'delivery'
            when 'M' then 'invoice'
            when 'N' then 'invoice_cancellation'
            when 'O' then 'credit_memo'
            when 'P' then 'debit_memo'
            else 'other'
        end as subsequent_document_category,
        cast(rfmng as numeric) as referenced_qty,
        nullif(trim(meins), '') as uom,
        cast(rfwrt as numeric) as referenced_amount,
        nullif(trim(waers), '') as currency_code,
        {{ sap_date('erdat') }} as created_date,
        case
            when erzet ~ '^([01][0-9]|2[0-3])[0-5][0-9][0-5][0-9]$'
                then cast(regexp_replace(erzet, '^(..)(..)(..)$', '\1:\2:\3') as time)
        end as created_time,
        cast(changed_at as timestamptz) as changed_at
    from flows
)

select * from final
