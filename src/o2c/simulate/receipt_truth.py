"""The ground truth of customer receipts, as rows of the CSV files the driver writes (never read by the
pipeline): every bank transaction that is a customer receipt, a return or a refund (``bank_payments.csv``),
every application cash application should make (``cash_applications.csv``), every item a payment's clearing
posts and what became of it (``payment_difference_items.csv``), and every bank file (``bank_files.csv``).

Only transactions booked within the simulated range appear: later ones are in no bank file.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal

from o2c.simulate.bank.files import BankFile
from o2c.simulate.bank.statements import ACCOUNTS
from o2c.simulate.model import Application, BankDebit, Payment
from o2c.simulate.world import World

BANK_PAYMENT_COLUMNS = [
    "account_iban",
    "account_currency",
    "booking_date",
    "bank_reference",
    "tx_seq",
    "direction",
    "amount",
    "currency",
    "kind",
    "cases",
    "reference_form",
    "payer_name",
    "payer_account",
    "payer_customer_id",
    "customer_ids",
    "end_to_end_id",
    "remittance",
    "creditor_reference",
    "structured_invoices",
    "invoice_ids",
    "clearing_document",
    "cleared_on",
    "clearing_posted_at",
    "charge_bearer",
    "charges",
    "instructed_amount",
    "instructed_currency",
    "exchange_rate",
    "fx_difference",
    "return_reason",
    "original_bank_reference",
    "returned_by",
    "statement_file",
]
CASH_APPLICATION_COLUMNS = [
    "bank_reference",
    "tx_seq",
    "booking_date",
    "customer_item_id",
    "invoice_id",
    "customer_id",
    "applied_amount",
    "residual_amount",
    "currency",
    "reason",
    "clearing_document",
    "cleared_on",
]
DIFFERENCE_ITEM_COLUMNS = [
    "customer_item_id",
    "kind",
    "customer_id",
    "invoice_id",
    "amount",
    "currency",
    "reason_code",
    "posted_on",
    "bank_reference",
    "tx_seq",
    "settled_by",
    "settled_on",
    "settling_document",
    "memo_id",
]
BANK_FILE_COLUMNS = ["file_name", "day", "kind", "currency", "message", "statement_seq", "available_at"]


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, tuple):
        return " ".join(str(v) for v in value)
    return str(value)


def _in_range(world: World, day: date) -> bool:
    return world.config.start <= day <= world.config.end


def statement_files(files: list[BankFile]) -> dict[tuple[str, date], str]:
    """The final statement of each account and day: the one delivered (a corrupt file's resend), or the one
    never sent (``missing``)."""
    rank = {"normal": 0, "resend": 1, "missing": 2, "corrupt": 3}
    best: dict[tuple[str, date], BankFile] = {}
    for bank_file in files:
        if bank_file.kind in rank:
            key = (
                bank_file.currency,
                bank_file.day if bank_file.kind != "resend" else _statement_day(bank_file),
            )
            if key not in best or rank[bank_file.kind] < rank[best[key].kind]:
                best[key] = bank_file
    return {key: bank_file.name for key, bank_file in best.items()}


def _statement_day(bank_file: BankFile) -> date:
    """The statement date in a file name (a resend is delivered the next day)."""
    stamp = bank_file.name.split("_")[3][:8]
    return date(int(stamp[:4]), int(stamp[4:6]), int(stamp[6:]))


def _customers(applications: tuple[Application, ...]) -> str:
    return " ".join(sorted({a.customer_id for a in applications}))


def bank_payment_rows(world: World, files: list[BankFile]) -> Iterator[list[str]]:
    """``bank_payments.csv``: customer receipts, returns and refunds, in booking order per account."""
    statement = statement_files(files)
    for entry in world.bank_entries:
        if not _in_range(world, entry.booking_date):
            continue
        iban = ACCOUNTS[entry.currency].iban
        day = entry.booking_date
        file_name = statement.get((entry.currency, day), "")
        for payment in entry.credits:
            yield [_text(v) for v in _receipt(iban, payment, file_name)]
        if entry.debit is not None and entry.debit.kind in ("return", "refund"):
            yield [_text(v) for v in _debit(iban, entry.debit, file_name)]


def _receipt(iban: str, p: Payment, file_name: str) -> list[object]:
    return [
        iban,
        p.account_currency,
        p.booking_date,
        p.bank_reference,
        p.tx_seq,
        "CRDT",
        p.amount,
        p.account_currency,
        p.kind,
        ";".join(p.cases),
        p.reference_form,
        p.payer_name,
        p.payer_account,
        p.payer_customer_id,
        _customers(p.applications),
        p.end_to_end_id,
        p.remittance,
        p.creditor_reference,
        p.structured_invoices,
        p.invoice_ids,
        p.clearing_document,
        p.cleared_on,
        p.clearing_posted_at,
        p.charge_bearer,
        p.charges,
        p.instructed_amount,
        p.instructed_currency,
        p.exchange_rate,
        p.fx_difference,
        "",
        "",
        p.returned_by,
        file_name,
    ]


def _debit(iban: str, d: BankDebit, file_name: str) -> list[object]:
    original = d.original
    return [
        iban,
        d.account_currency,
        d.booking_date,
        d.bank_reference,
        1,
        "DBIT",
        d.amount,
        d.account_currency,
        d.kind,
        d.kind,
        "",
        d.counterparty,
        d.counterparty_account,
        original.payer_customer_id if original is not None else d.customer_id,
        _customers(d.applications),
        d.reference,
        d.remittance,
        "",
        (),
        tuple(sorted({a.invoice_id for a in d.applications if a.invoice_id})),
        d.clearing_document,
        d.booking_date if d.kind == "refund" else None,
        None,
        "",
        Decimal("0.00"),
        None,
        "",
        None,
        Decimal("0.00"),
        d.return_reason,
        d.original_reference,
        "",
        file_name,
    ]


def cash_application_rows(world: World) -> Iterator[list[str]]:
    """``cash_applications.csv``: one row per item each receipt, return or refund applies to."""
    for entry in world.bank_entries:
        if not _in_range(world, entry.booking_date):
            continue
        for p in entry.credits:
            for a in p.applications:
                yield [
                    _text(v)
                    for v in (
                        p.bank_reference,
                        p.tx_seq,
                        p.booking_date,
                        a.item_id,
                        a.invoice_id,
                        a.customer_id,
                        a.applied_amount,
                        a.residual_amount,
                        p.account_currency,
                        a.reason,
                        p.clearing_document,
                        p.cleared_on,
                    )
                ]
        d = entry.debit
        if d is not None:
            for a in d.applications:
                yield [
                    _text(v)
                    for v in (
                        d.bank_reference,
                        1,
                        d.booking_date,
                        a.item_id,
                        a.invoice_id,
                        a.customer_id,
                        a.applied_amount,
                        a.residual_amount,
                        d.account_currency,
                        a.reason,
                        d.clearing_document,
                        d.booking_date if d.kind == "refund" else None,
                    )
                ]


def difference_item_rows(world: World) -> Iterator[list[str]]:
    """``payment_difference_items.csv``: residual, dispute and on-account items posted by payments booked
    within the range, with what became of them."""
    for item in world.difference_items:
        payment = item.payment
        if not _in_range(world, payment.booking_date):
            continue
        yield [
            _text(v)
            for v in (
                item.item_id,
                item.kind,
                item.customer_id,
                item.invoice_id,
                item.amount,
                item.currency,
                item.reason_code,
                item.posted_on,
                payment.bank_reference,
                payment.tx_seq,
                item.settled_by,
                item.settled_on,
                item.settling_document,
                item.memo_id,
            )
        ]


def bank_file_rows(files: list[BankFile]) -> Iterator[list[str]]:
    """``bank_files.csv``: every file, in the order the banks make them available (never: ``missing``)."""
    for f in files:
        yield [
            _text(v) for v in (f.name, f.day, f.kind, f.currency, f.message, f.statement_seq, f.available_at)
        ]
