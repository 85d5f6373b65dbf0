"""The abnormal-order rule catalog as Great Expectations suites (one suite per mart it checks).

Each expectation carries ``meta.rule_id``; the failing rows' keys come back through
``unexpected_index_column_names``. Thresholds come from ``rules.yml`` beside this file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import great_expectations as gx


@dataclass(frozen=True)
class SuiteSpec:
    """One suite and the query (over the marts) its batch reads."""

    name: str
    query: str
    key_columns: list[str]
    extra_columns: list[str]
    suite: gx.ExpectationSuite


# The finance rules' queries spell out their detail texts' parts in both languages (a missing value named as
# such, not left blank). GX wants a query to start with SELECT (no CTE); no '%' (the driver formats the text)
# and no ':name' (SQLAlchemy's bind syntax).
UNAPPLIED_CASH_QUERY = """
select
    payment_id,
    account_id,
    booking_date::text as booking_date,
    age_days,
    amount::text as amount,
    currency_code,
    unapplied_amount::text as unapplied_amount,
    coalesce(nullif(trim(payer_name), ''), 'an unknown payer')
        || coalesce(' (' || nullif(trim(payer_account), '') || ')', '') as payer_en,
    coalesce(nullif(trim(payer_name), ''), '未知付款人')
        || coalesce('（' || nullif(trim(payer_account), '') || '）', '') as payer_zh,
    coalesce(left(nullif(regexp_replace(trim(remittance_info), '[[:space:]]+', ' ', 'g'), ''), 100), 'none')
        as remittance_en,
    coalesce(left(nullif(regexp_replace(trim(remittance_info), '[[:space:]]+', ' ', 'g'), ''), 100), '无')
        as remittance_zh,
    coalesce(nullif(trim(bank_reference), ''), 'none') as bank_reference_en,
    coalesce(nullif(trim(bank_reference), ''), '无') as bank_reference_zh,
    coalesce(candidates.listed, 'none') as candidates_en,
    coalesce(candidates.listed, '无') as candidates_zh
from marts.fct_unapplied_cash
left join lateral (
    -- closest first: the invoice (else the customer item) and its open amount
    select string_agg(
        coalesce(candidate.invoice_id, candidate.item_id) || ' (' || candidate.open_amount::text || ')',
        ', ' order by candidate.position
    ) as listed
    from unnest(candidate_invoice_ids, candidate_item_ids, candidate_amounts) with ordinality
        as candidate (invoice_id, item_id, open_amount, position)
) as candidates on true
"""

STATEMENT_BREAKS_QUERY = """
select
    issue_id,
    kind,
    account_id,
    currency_code,
    statement_id,
    statement_date::text as statement_date,
    previous_statement_id,
    previous_date::text as previous_date,
    case kind
        when 'balance_break' then labels.statement_en || ' opens at ' || coalesce(stated_opening::text, '?')
            || ', but the previous ' || labels.previous_en || ' closed at '
            || coalesce(expected_opening::text, '?') || ' (difference ' || coalesce(difference::text, '?') || ')'
        when 'sequence_gap' then 'statement numbers missing between ' || labels.previous_en || ' and '
            || labels.statement_en || ' (' || coalesce(missing_sequences, '?') || ')'
        else coalesce(message, kind)
    end as break_en,
    case kind
        when 'balance_break' then labels.statement_zh || '的期初余额 ' || coalesce(stated_opening::text, '?')
            || ' 与上一张' || labels.previous_zh || '的期末余额 ' || coalesce(expected_opening::text, '?')
            || ' 不符（差额 ' || coalesce(difference::text, '?') || '）'
        when 'sequence_gap' then labels.previous_zh || '与' || labels.statement_zh || '之间缺少对账单编号（'
            || coalesce(missing_sequences, '?') || '）'
        else coalesce(message, kind)
    end as break_zh,
    file_name,
    detected_date::text as detected_date,
    days_open
from marts.fct_bank_statement_breaks
cross join lateral (
    select
        'statement ' || statement_id || ' of ' || coalesce(statement_date::text, '?') as statement_en,
        'statement ' || previous_statement_id || ' of ' || coalesce(previous_date::text, '?') as previous_en,
        '对账单 ' || statement_id || '（' || coalesce(statement_date::text, '?') || '）' as statement_zh,
        '对账单 ' || previous_statement_id || '（' || coalesce(previous_date::text, '?') || '）' as previous_zh
) as labels
"""


def build_suites(rules: dict[str, dict[str, Any]], as_of: str) -> list[SuiteSpec]:
    """The suites for one as-of date (ISO string), with thresholds from ``rules``."""
    orders = gx.ExpectationSuite(name="abnormal_orders__fct_orders")
    orders.add_expectation(
        gx.expectations.ExpectColumnValuesToBeBetween(
            column="days_past_promise",
            max_value=int(rules["ORD_OVERDUE"]["grace_days"]),
            meta={"rule_id": "ORD_OVERDUE", "measure": "days_past_promise"},
        )
    )
    orders.add_expectation(
        gx.expectations.ExpectColumnValuesToBeInSet(
            column="is_qty_within_tolerance",
            value_set=[True],
            meta={"rule_id": "QTY_TOLERANCE", "measure": "delivered_qty_variance_pct"},
        )
    )
    band = float(rules["PRICE_BAND"]["band_pct"])
    orders.add_expectation(
        gx.expectations.ExpectColumnValuesToBeBetween(
            column="price_deviation_pct",
            min_value=-band,
            max_value=band,
            meta={"rule_id": "PRICE_BAND", "measure": "price_deviation_text"},
        )
    )

    receivables = gx.ExpectationSuite(name="abnormal_orders__fct_receivables_daily")
    receivables.add_expectation(
        gx.expectations.ExpectColumnValuesToBeBetween(
            column="days_past_due",
            max_value=int(rules["AR_OVERDUE"]["grace_days"]),
            meta={"rule_id": "AR_OVERDUE", "measure": "days_past_due"},
        )
    )

    unapplied_cash = gx.ExpectationSuite(name="abnormal_orders__fct_unapplied_cash")
    unapplied_cash.add_expectation(
        gx.expectations.ExpectColumnValuesToBeBetween(
            column="age_days",
            max_value=int(rules["UNAPPLIED_CASH"]["max_age_days"]),  # exactly max_age_days old is not flagged
            meta={"rule_id": "UNAPPLIED_CASH", "measure": "age_days"},
        )
    )

    statement_breaks = gx.ExpectationSuite(name="abnormal_orders__fct_bank_statement_breaks")
    statement_breaks.add_expectation(
        # the mart lists open integrity issues only, and none is acceptable: every row is an exception
        gx.expectations.ExpectColumnValuesToBeNull(
            column="issue_id",
            meta={"rule_id": "BANK_STMT_INTEGRITY", "measure": "days_open"},
        )
    )

    return [
        SuiteSpec(
            name="fct_orders",
            query=(
                # numbers travel as text (exact; GX serialises Decimals very slowly); the tested
                # columns keep a type GX can compare
                "select order_line_id, order_id, null::text as invoice_id, customer_id, "
                # alerts go to whoever owns the customer now, not the owner on the order date
                "current_owner_rep_id as owner_rep_id, "
                "promised_date::text as promised_date, order_qty::text as order_qty, "
                "delivered_qty::text as delivered_qty, "
                "over_delivery_tolerance_pct::text as over_delivery_tolerance_pct, "
                "unit_price::text as unit_price, currency_code, benchmark_price::text as benchmark_price, "
                "days_past_promise, is_qty_within_tolerance, "
                "delivered_qty_variance_pct::text as delivered_qty_variance_pct, "
                "price_deviation_exact_pct::float8 as price_deviation_pct, "
                "price_deviation_pct::text as price_deviation_text from marts.fct_orders"
            ),
            key_columns=["order_line_id"],
            extra_columns=[
                "order_id",
                "invoice_id",
                "customer_id",
                "owner_rep_id",
                "promised_date",
                "order_qty",
                "delivered_qty",
                "over_delivery_tolerance_pct",
                "unit_price",
                "currency_code",
                "benchmark_price",
                "delivered_qty_variance_pct",
                "price_deviation_text",
                "days_past_promise",
            ],
            suite=orders,
        ),
        SuiteSpec(
            name="fct_receivables_daily",
            query=(
                "select receivables.customer_item_id, "
                "invoices.order_id, receivables.invoice_id, receivables.customer_id, receivables.owner_rep_id, "
                "receivables.open_amount::text as open_amount, receivables.currency_code, "
                "receivables.net_due_date::text as net_due_date, "
                "receivables.days_past_due from marts.fct_receivables_daily as receivables "
                "left join marts.fct_invoices as invoices on receivables.invoice_id = invoices.invoice_id "
                f"where receivables.snapshot_date = date '{as_of}' and receivables.open_amount > 0"
            ),
            key_columns=["customer_item_id"],
            extra_columns=[
                "order_id",
                "invoice_id",
                "customer_id",
                "owner_rep_id",
                "open_amount",
                "currency_code",
                "net_due_date",
                "days_past_due",
            ],
            suite=receivables,
        ),
        SuiteSpec(
            name="fct_unapplied_cash",
            query=UNAPPLIED_CASH_QUERY,
            key_columns=["payment_id"],
            extra_columns=[
                "account_id",
                "booking_date",
                "age_days",
                "amount",
                "currency_code",
                "unapplied_amount",
                "payer_en",
                "payer_zh",
                "remittance_en",
                "remittance_zh",
                "bank_reference_en",
                "bank_reference_zh",
                "candidates_en",
                "candidates_zh",
            ],
            suite=unapplied_cash,
        ),
        SuiteSpec(
            name="fct_bank_statement_breaks",
            query=STATEMENT_BREAKS_QUERY,
            key_columns=["issue_id"],
            extra_columns=[
                "kind",
                "account_id",
                "currency_code",
                "statement_id",
                "statement_date",
                "previous_statement_id",
                "previous_date",
                "break_en",
                "break_zh",
                "file_name",
                "detected_date",
                "days_open",
            ],
            suite=statement_breaks,
        ),
    ]
