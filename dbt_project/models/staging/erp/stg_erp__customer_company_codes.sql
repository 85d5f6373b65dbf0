{#- Customers' company-code data (KNB1): payment terms and reconciliation account. -#}
with

company_codes as (
    {{ erp_latest('knb1', ['kunnr', 'bukrs']) }}
),

final as (
    select
        kunnr || '-' || bukrs as customer_company_code_id,
        kunnr as customer_id,
        bukrs as company_code,
        zterm as payment_terms_code,
        akont as reconciliation_account
    from company_codes
)

select * from final
