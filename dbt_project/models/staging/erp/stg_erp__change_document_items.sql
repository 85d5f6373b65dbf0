{#- Change document items (CDPOS): one row per changed field of a table row (CHNGIND U update, I insert,
    D delete; FNAME KEY for a whole row), with the old and new values as SAP's display texts. -#}
with

items as (
    {{ erp_latest('cdpos') }}
),

final as (
    select
        objectclas
        || '-'
        || objectid
        || '-'
        || changenr
        || '-'
        || tabname
        || '-'
        || tabkey
        || '-'
        || fname
        || '-'
        || chngind as change_document_item_id,
        objectclas || '-' || objectid || '-' || changenr as change_document_id,
        objectclas as object_class,
        objectid as object_id,
        changenr as change_number,
        tabname as table_name,
        tabkey as table_key,
        fname as field_name,
        chngind as change_indicator,
        value_old,
        value_new
    from items
)

select * from final
