{#- Change document headers (CDHDR): who changed which object when. UDATE/UTIME are the SAP system's local
    time (Asia/Shanghai, var business_timezone); changed_at is that moment in UTC. -#}
with

headers as (
    {{ erp_latest('cdhdr') }}
),

final as (
    select
        objectclas || '-' || objectid || '-' || changenr as change_document_id,
        objectclas as object_class,
        objectid as object_id,
        changenr as change_number,
        username as changed_by,
        tcode as transaction_code,
        {{ sap_date('udate') }} as change_date_local,
        case
            when {{ sap_date('udate') }} is not null and utime ~ '^[0-9]{6}$'
                then (
                    {{ sap_date('udate') }}
                    + cast(regexp_replace(utime, '^(..)(..)(..)$', '\1:\2:\3') as time)
                ) at time zone '{{ var("business_timezone") }}'
        end as changed_at
    from headers
)

select * from final
