with

terms as (
    {{ erp_latest('vbkd', ['vbeln', 'posnr']) }}
),

final as (
    select
        vbeln as sales_document_id,
        posnr as item_number,
        zterm as payment_terms_code,
        inco1 as incoterms,
        inco2 as incoterms_place
    from terms
)

select * from final
