-- Every billing document issued by the as-of date is in fct_invoices with the same amount.
select billing.invoice_id
from {{ ref('stg_erp__billing_documents') }} as billing
left join {{ ref('fct_invoices') }} as invoices on billing.invoice_id = invoices.invoice_id
where billing.invoice_date <= {{ as_of_date() }}
    and (invoices.invoice_id is null or abs(invoices.net_amount - billing.net_amount) > 0.01)
