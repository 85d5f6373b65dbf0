{#- Grain: one row per (bank receipt, customer item) the automatic cash application settles as of the as-of
    date: the applications of int_cash_application_log decided by then and not yet replaced; the rule, its
    confidence, the reason in English and Chinese, and for a re-application what it replaced. -#}
with

applications as (
    select * from {{ ref('int_cash_application_log') }}
    where decided_on <= {{ as_of_date() }} and (superseded_on is null or superseded_on > {{ as_of_date() }})
),

texts as (
    select
        applications.*,
        coalesce(applications.invoice_id, applications.customer_item_id) as document_label,
        case applications.settlement
            when 'charges'
                then format(
                        ' (short by %s %s: bank charges)', applications.difference_amount,
                        applications.currency_code
                    )
            when
                'fx'
                then format(
                        ' (FX difference %s %s)', applications.difference_amount, applications.currency_code
                    )
            else ''
        end as settlement_en,
        case applications.settlement
            when 'charges'
                then format(
                        '（短收 %s %s：银行手续费）', applications.difference_amount,
                        applications.currency_code
                    )
            when 'fx' then format('（汇兑差额 %s %s）', applications.difference_amount, applications.currency_code)
            else ''
        end as settlement_zh
    from applications
),

final as (
    select
        payment_id,
        customer_item_id,
        invoice_id,
        customer_id,
        booking_date as applied_date,
        applied_amount,
        currency_code,
        residual_amount,
        match_rule,
        confidence,
        settlement,
        difference_amount,
        returned_on,
        revision,
        decided_on,
        previous_decided_on,
        previous_match_rules,
        case
            when revision > 1 and previous_match_rules is not null
                then format(
                        'Re-applied on %s (was: %s, %s). ',
                        decided_on,
                        previous_match_rules,
                        previous_decided_on
                    )
            when revision > 1 then format('Applied on %s after being left unapplied. ', decided_on)
            else ''
        end || case match_rule
            when 'rf_reference' then format('RF creditor reference of %s in the payment', document_label)
            when 'invoice_reference' then format('Invoice %s quoted in the remittance', document_label)
            when
                'invoice_reference_fuzzy'
                then format('Invoice %s quoted with a typo in the remittance', document_label)
            when
                'document_reference'
                then format('Order, delivery or contract of %s quoted in the remittance', document_label)
            when 'partial_payment'
                then format(
                        'Part payment of %s: %s %s stays open', document_label, residual_amount,
                        currency_code
                    )
            when 'overpayment'
                then format(
                        '%s paid in full; the excess %s %s is unapplied cash', document_label,
                        -difference_amount, currency_code
                    )
            when
                'payer_amount'
                then format('The one open item of the payer with this amount: %s', document_label)
            when
                'combined_payment'
                then format('%s is one of the payer''s open items the payment adds up to', document_label)
            when 'group_payer' then format('%s paid by a company of the customer''s group', document_label)
            when 'erp_clearing' then format('%s cleared by hand in the ERP with this receipt', document_label)
        end || settlement_en as reason_en,
        case
            when revision > 1 and previous_match_rules is not null
                then format('%s 重新核销（原为：%s，%s）。', decided_on, previous_match_rules, previous_decided_on)
            when revision > 1 then format('%s 核销（此前未核销）。', decided_on)
            else ''
        end
        || case match_rule
            when 'rf_reference' then format('付款中的 RF 参考号对应 %s', document_label)
            when 'invoice_reference' then format('汇款附言注明发票 %s', document_label)
            when 'invoice_reference_fuzzy' then format('汇款附言中的发票号有笔误，对应 %s', document_label)
            when 'document_reference' then format('汇款附言注明 %s 的订单、交货单或合同号', document_label)
            when
                'partial_payment'
                then format('%s 部分付款：尚余 %s %s 未付', document_label, residual_amount, currency_code)
            when 'overpayment'
                then format(
                        '%s 已全额付款；多付 %s %s 列为未核销款项', document_label, -difference_amount,
                        currency_code
                    )
            when 'payer_amount' then format('付款人唯一金额相符的未清项：%s', document_label)
            when 'combined_payment' then format('%s 属付款人的未清项，合计与付款金额相符', document_label)
            when 'group_payer' then format('%s 由客户所属集团公司代付', document_label)
            when 'erp_clearing' then format('%s 已在 ERP 中以此笔收款手工清账', document_label)
        end || settlement_zh as reason_zh
    from texts
)

select * from final
