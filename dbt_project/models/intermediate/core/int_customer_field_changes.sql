{#- Changes SAP recorded in change documents (CDPOS updates with their CDHDR time) to the customer master
    fields int_customer_history tracks: KNA1 name and country, KNB1 payment terms (company code 1000), KNKK
    credit limit (control area 1000), KNVP owner (partner function VE, sales org 1000). Grain: one row per
    change document item. change_date is the business date whose cutoff first sees the change
    (business_date_of). They give the values a row had before o2c first read it: a first load (or a night
    with several changes) lands only the row's latest version, the change documents keep every step. -#}
with

items as (select * from {{ ref('stg_erp__change_document_items') }}),

headers as (select * from {{ ref('stg_erp__change_document_headers') }}),

tracked as (
    select
        items.change_document_item_id,
        items.table_name,
        items.field_name,
        trim(substr(items.table_key, 4, 10)) as customer_id,
        items.change_number,
        nullif(trim(items.value_old), '') as value_old,
        nullif(trim(items.value_new), '') as value_new,
        headers.changed_at
    from items
    inner join headers on items.change_document_id = headers.change_document_id
    where
        items.change_indicator = 'U'
        and (
            (items.table_name = 'KNA1' and items.field_name in ('NAME1', 'NAME2', 'LAND1', 'REGIO', 'ORT01'))
            or (
                items.table_name = 'KNB1'
                and items.field_name = 'ZTERM'
                and substr(items.table_key, 14, 4) = '1000'
            )
            or (
                items.table_name = 'KNKK'
                and items.field_name = 'KLIMK'
                and substr(items.table_key, 14, 4) = '1000'
            )
            or (
                items.table_name = 'KNVP' and items.field_name = 'PERNR'
                and substr(items.table_key, 14, 4) = '1000' and substr(items.table_key, 18, 2) = 'VE'
            )
        )
),

final as (
    select
        *,
        {{ business_date_of('changed_at') }} as change_date
    from tracked
    where changed_at is not null
)

select * from final
