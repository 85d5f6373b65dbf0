"""Cash application against the simulator's ground truth: the share of paid invoices applied automatically,
the share of wrong applications and the share of the cash amount applied.

Only the demo and the tests read the ground truth; the pipeline never does. The receipts scored are the
customer receipts booked in the cash application window (the ``window_days`` up to the as-of date) that the
bank files carry (``bank_payments.csv``: credits other than returns and refunds). A receipt is recognised in
the warehouse by its bank reference and position in its entry (``fct_payments.bank_reference``, ``tx_seq``).

- **paid invoices applied**: of the billing documents the ground truth says these receipts paid (in full, in
  part or less a deduction), the share that ``fct_cash_applications`` applies one of these receipts to,
  with the item the ground truth names, by an automatic rule (not ``erp_clearing``, which follows the ERP's
  clearing by hand);
- **wrong applications**: the share of ``fct_cash_applications`` rows of these receipts whose (receipt,
  item) the ground truth does not have;
- **cash applied**: the share of the receipts' amount (in USD) on receipts with at least one automatic
  application.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from psycopg import sql

PAID = frozenset({"paid", "partial", "claim_deduction", "credit_deducted", "on_account_used"})
"""Ground-truth reasons of an application a receipt makes to an item it pays."""
BY_HAND = frozenset({"erp_clearing"})
"""Rules that follow the ERP's clearing by hand: not automatic applications (but they can be wrong)."""
NOT_RECEIPTS = frozenset({"return", "refund"})
"""Ground-truth kinds of bank transactions that are not customer receipts."""


@dataclass
class CashScore:
    receipts: int
    paid_invoices: int
    invoices_applied: int
    applications: int
    wrong_applications: int
    amount_usd: Decimal
    amount_applied_usd: Decimal
    wrong: list[str] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)

    @property
    def hit_rate(self) -> float:
        return self.invoices_applied / self.paid_invoices if self.paid_invoices else 1.0

    @property
    def wrong_rate(self) -> float:
        return self.wrong_applications / self.applications if self.applications else 0.0

    @property
    def amount_share(self) -> float:
        return float(self.amount_applied_usd / self.amount_usd) if self.amount_usd else 1.0


def _truth(
    ground_truth: Path, first: date, as_of: date
) -> tuple[set[tuple[str, str]], dict[tuple[str, str], set[tuple[str, str]]]]:
    """Receipts in scope (bank reference, tx_seq) and, per receipt, the (item, invoice) pairs it pays."""
    receipts: set[tuple[str, str]] = set()
    with (ground_truth / "bank_payments.csv").open() as handle:
        for row in csv.DictReader(handle):
            booked = date.fromisoformat(row["booking_date"])
            if row["direction"] == "CRDT" and row["kind"] not in NOT_RECEIPTS and first <= booked <= as_of:
                receipts.add((row["bank_reference"], row["tx_seq"]))
    pays: dict[tuple[str, str], set[tuple[str, str]]] = {}
    with (ground_truth / "cash_applications.csv").open() as handle:
        for row in csv.DictReader(handle):
            key = (row["bank_reference"], row["tx_seq"])
            if key in receipts and row["reason"] in PAID:
                pays.setdefault(key, set()).add((row["customer_item_id"], row["invoice_id"]))
    return receipts, pays


def score_cash_application(
    conn: Any, ground_truth: Path, as_of: date, window_days: int, schema: str = "marts"
) -> CashScore:
    """Score ``<schema>.fct_cash_applications`` of ``as_of`` against the ground truth (see the module docstring).

    ``schema`` is ``marts`` (what BI sees) or a shadow schema a build has not published yet.
    """
    first = as_of - timedelta(days=window_days - 1)
    receipts, pays = _truth(ground_truth, first, as_of)
    rows = conn.execute(
        sql.SQL(
            """
            select p.bank_reference, p.tx_seq::text, p.amount_usd, a.customer_item_id, a.match_rule
            from {schema}.fct_payments as p
            left join {schema}.fct_cash_applications as a on a.payment_id = p.payment_id
            where p.is_customer_receipt and p.booking_date between %s and %s
            """
        ).format(schema=sql.Identifier(schema)),
        (first, as_of),
    ).fetchall()
    applied: dict[tuple[str, str], set[str]] = {}
    automatic: dict[tuple[str, str], set[str]] = {}
    amounts: dict[tuple[str, str], Decimal] = {}
    for reference, tx_seq, amount_usd, item, rule in rows:
        key = (reference, tx_seq)
        if key not in receipts:
            continue
        amounts[key] = Decimal(amount_usd or 0)
        if item is not None:
            applied.setdefault(key, set()).add(item)
            if rule not in BY_HAND:
                automatic.setdefault(key, set()).add(item)
    paid = {(key, invoice) for key, pairs in pays.items() for _, invoice in pairs if invoice}
    hit = {
        (key, invoice)
        for key, pairs in pays.items()
        for item, invoice in pairs
        if invoice and item in automatic.get(key, set())
    }
    wrong = sorted(
        f"{key[0]}/{key[1]} -> {item}"
        for key, items in applied.items()
        for item in items
        if item not in {i for i, _ in pays.get(key, set())}
    )
    return CashScore(
        receipts=len(amounts),
        paid_invoices=len({invoice for _, invoice in paid}),
        invoices_applied=len({invoice for _, invoice in hit}),
        applications=sum(len(items) for items in applied.values()),
        wrong_applications=len(wrong),
        amount_usd=sum(amounts.values(), Decimal(0)),
        amount_applied_usd=sum((amounts[key] for key in automatic), Decimal(0)),
        wrong=wrong,
        missed=sorted(f"{key[0]}/{key[1]} -> {invoice}" for key, invoice in paid - hit),
    )


def cash_application_window(dbt_project_dir: Path) -> int:
    """The window the cash application reconsiders each night, the one to score: dbt var
    ``cash_application.window_days`` of the project's ``dbt_project.yml``."""
    import yaml

    project = yaml.safe_load((dbt_project_dir / "dbt_project.yml").read_text())
    return int(project["vars"]["cash_application"]["window_days"])
