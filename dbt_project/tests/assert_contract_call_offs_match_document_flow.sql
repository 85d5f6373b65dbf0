{#- fct_contracts.called_off_qty (from the call-off lines' VBAP VGBEL reference) = the quantity the document
    flow (VBFA, contract -> order, category C) records for the same non-rejected call-off lines entered by the
    as-of date: two independent links from a contract to its call-offs must agree. -#}
with

flow as (
    select
        flows.preceding_document_id as contract_id,
        sum(flows.referenced_qty) as flow_qty
    from {{ ref('stg_erp__document_flow') }} as flows
    inner join {{ ref('fct_orders') }} as orders on flows.subsequent_item_id = orders.order_line_id
    where
        flows.preceding_category_code = 'G'
        and flows.subsequent_category_code = 'C'
        and not orders.is_rejected
    group by flows.preceding_document_id
),

contracts as (select * from {{ ref('fct_contracts') }})

select
    contracts.contract_id,
    contracts.called_off_qty,
    flow.flow_qty
from contracts
left join flow on contracts.contract_id = flow.contract_id
where contracts.called_off_qty <> coalesce(flow.flow_qty, 0)
