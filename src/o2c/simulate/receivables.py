"""Customer items (FI, BSID/BSAD) and the plans to pay them: the types billing, payment planning and the
receipts share, SAP's net due date, and the weekday arithmetic of payment days."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from o2c.simulate.catalog import Row, at


@dataclass
class FiItem:
    key: tuple[str, str, str, str]
    row: Row
    due: date
    posted: datetime
    """the moment the item was written (its posting)"""

    @property
    def item_id(self) -> str:
        return "-".join((self.key[0], self.key[2], self.key[1], self.key[3]))

    @property
    def amount(self) -> Decimal:
        return Decimal(str(self.row["WRBTR"]))

    @property
    def signed(self) -> Decimal:
        """The amount as the customer owes it: positive for a debit (``SHKZG`` S), negative for a credit."""
        return self.amount if self.row["SHKZG"] == "S" else -self.amount

    @property
    def billing_document(self) -> str:
        return str(self.row["VBELN"])

    @property
    def customer_id(self) -> str:
        return str(self.row["KUNNR"])


@dataclass
class Receivable:
    """A debit customer item and the day it is to be paid (``None``: never), settled by
    :meth:`Payments.build_payments`."""

    item: FiItem
    customer: Row
    order: str
    reference: str
    """the contract (or the order of a spot sale) a remittance may quote"""
    pay_day: date | None
    clean: bool
    """paid ahead of its due date by the usual plan, no boundary case: may be paid with other items or in part"""
    credits: list[FiItem] = field(default_factory=list)
    """credit items deducted from its payment"""


@dataclass
class OpenCredit:
    """A credit memo item deducted from the customer's next payment on or after its posting (preferably
    the payment of ``preferred``)."""

    item: FiItem
    customer: Row
    preferred: list[Receivable]


@dataclass
class Settlement:
    """A payment as the customer decides it (:class:`~o2c.simulate.payments.Payments`): which items, which
    day, how much. :class:`~o2c.simulate.receipts.Receipts` then decides how it reaches the bank (payer,
    references, charges, currency) and posts the ERP's clearing."""

    customer: Row
    day: date
    items: list[FiItem]
    """every item the clearing clears: debit items and the credits deducted"""
    amount: Decimal
    """what the customer means to pay: the items' net amount, or the part of a partial payment"""
    remittance: str
    """the remittance text of the payment as planned (a receipt's reference noise may replace it)"""
    kind: str
    """full, partial, residual or combined (``Payment.kind``)"""
    invoice_id: str | None
    invoice_ids: set[str]
    clearing: str
    """the clearing document, numbered when the payment is planned"""
    receivables: list[Receivable]
    """the planned items it pays (their order and contract numbers)"""
    style: str = "invoice"
    """the remittance as the customer usually words it: ``order`` (invoice and order), ``contract``
    (invoice and contract) or ``name`` (no reference, only the payer's name)"""
    residual: FiItem | None = None
    """a partial payment's residual item, posted in the clearing document when the clearing is"""
    on_account: list[FiItem] = field(default_factory=list)
    """payments on account of the customer deducted from this payment (``Receipts``)"""

    @property
    def debit_items(self) -> list[FiItem]:
        return [item for item in self.items if item.row["SHKZG"] == "S"]


def from_dats(value: str) -> date:
    return date(int(value[:4]), int(value[4:6]), int(value[6:8]))


def net_due(row: Row) -> date:
    """SAP's net due date (``NET_DUE_DATE_GET``): a credit without invoice reference (REBZG blank) is due at
    its baseline date; otherwise ZBD3T, else ZBD2T, else ZBD1T days after it."""
    baseline = from_dats(str(row["ZFBDT"]))
    if row["SHKZG"] == "H" and not str(row["REBZG"]).strip():
        return baseline
    days = next((int(row[f]) for f in ("ZBD3T", "ZBD2T", "ZBD1T") if int(row[f] or 0) > 0), 0)
    return baseline + timedelta(days=days)


def weekday_on_or_before(day: date) -> date:
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


def weekday_on_or_after(day: date) -> date:
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def business_days_after(day: date, count: int) -> date:
    """The ``count``-th weekday after ``day`` (``day`` itself for 0)."""
    for _ in range(count):
        day = weekday_on_or_after(day + timedelta(days=1))
    return day


def clearing_moment(
    rng: random.Random, weights: tuple[float, float, float], day: date, latest: datetime, dues: list[date]
) -> datetime:
    """When the clearing of a payment the bank booked on ``day`` is posted: on or after the earliest due date
    of its debit items (``dues``), that day at 16:30; before it, 0, 1 or 2 business days later (``weights``),
    but never after that due date, so that no item looks overdue at a night only because its clearing was
    still to come. Never before ``latest`` (half an hour after its items were posted)."""
    if not dues or day >= min(dues):
        return max(at(day, 16.5), latest)
    delay = rng.choices((0, 1, 2), weights=weights)[0]
    posted = day
    for _ in range(delay):
        following = business_days_after(posted, 1)
        if following > min(dues):
            break
        posted = following
    moment = at(day, 16.5) if posted == day else at(posted, rng.uniform(9.0, 17.5))
    return max(moment, latest)
