with

headers as (
    {{ erp_latest('vbrk', ['vbeln']) }}
),

final as (
    select
        vbeln as invoice_id,
        fkart as billing_type,
        {{ sap_date('fkdat') }} as invoice_date,
        kunag as customer_id,
        waerk as currency_code,
        cast(netwr as numeric) as net_amount,
        cast(mwsbk as numeric) as tax_amount,
        zterm as payment_terms_code,
        coalesce(fksto = 'X', false) as is_cancelled,
        bukrs as company_code,
        nullif(trim(vbtyp), '') as document_category_code,
        case vbtyp
            when 'M' then 'invoice'
            when 'N' then 'invoice_cancellation'
            when 'O' then 'credit_memo'
            when 'P' then 'debit_memo'
        end as document_category,
        nullif(trim(sfakn), '') as cancelled_invoice_id
    from headers
)

select * from final
