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
    ]
