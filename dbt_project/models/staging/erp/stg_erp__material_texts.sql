{#- Material descriptions per language (MAKT); SPRAS E is English, 1 is Chinese. -#}
with

texts as (
    {{ erp_latest('makt', ['matnr', 'spras']) }}
),

final as (
    select
        matnr || '-' || spras as material_text_id,
        matnr as product_id,
        spras as language_key,
        maktx as description
    from texts
)

select * from final
