{#- SAP's net due date of a customer item (function NET_DUE_DATE_GET): a credit memo (SHKZG H) that does
    not refer to an invoice (REBZG blank) is due at its baseline date; otherwise the last of the terms'
    periods that is set: ZBD3T, else ZBD2T, else ZBD1T days after the baseline date ZFBDT. -#}
{% macro sap_net_due_date(baseline_date, zbd1t, zbd2t, zbd3t, shkzg, rebzg) -%}
    case
        when {{ shkzg }} = 'H' and coalesce(trim({{ rebzg }}), '') = '' then {{ baseline_date }}
        when coalesce(cast(nullif(trim({{ zbd3t }}), '') as integer), 0) > 0
            then {{ baseline_date }} + cast(trim({{ zbd3t }}) as integer)
        when coalesce(cast(nullif(trim({{ zbd2t }}), '') as integer), 0) > 0
            then {{ baseline_date }} + cast(trim({{ zbd2t }}) as integer)
        else {{ baseline_date }} + coalesce(cast(nullif(trim({{ zbd1t }}), '') as integer), 0)
    end
{%- endmacro %}

{#- The typed columns of a customer FI item (BSID open, BSAD cleared: one layout). -#}
{% macro customer_item_columns(cleared) -%}
    bukrs || '-' || gjahr || '-' || belnr || '-' || buzei as customer_item_id,
    bukrs as company_code,
    belnr as accounting_document_id,
    gjahr as fiscal_year,
    buzei as line_item,
    kunnr as customer_id,
    nullif(vbeln, '') as invoice_id,
    xblnr as reference,
    shkzg = 'H' as is_credit,
    nullif(trim(rebzg), '') as reference_invoice_document,
    {{ sap_date('budat') }} as posting_date,
    {{ sap_date('zfbdt') }} as baseline_date,
    {{ sap_net_due_date(sap_date('zfbdt'), 'zbd1t', 'zbd2t', 'zbd3t', 'shkzg', 'rebzg') }} as net_due_date,
    zterm as payment_terms_code,
    case when shkzg = 'H' then -1 else 1 end * cast(wrbtr as numeric) as amount,
    waers as currency_code,
    {%- if cleared %}
    {{ sap_date('augdt') }} as clearing_date,
    nullif(augbl, '') as clearing_document_id,
    {%- endif %}
    cast(changed_at as timestamptz) as changed_at
{%- endmacro %}
