"""A bank file's reports and entries as rows of ``raw_bank.statements`` and ``raw_bank.entries``.

A report's identity is :func:`statement_key`: what the bank says identifies it (account, statement id,
sequence, opening and closing date and balance, entry count; for an intraday report or a notification also
its kind and creation time), so the same report read from another file lands nothing new. An entry row is
one *payment* of an entry (``tx_seq``): a batch booking's transaction details, one row each, or the entry
itself; the entry's own fields repeat on each of its rows (``tx_seq`` 1 carries the entry for staging).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from o2c.sources.bank.model import (
    CREDIT,
    REPORT_STATEMENT,
    BankEntry,
    BankStatement,
    StatementHead,
    StatementStream,
    StatementTail,
)

STATEMENT_COLUMNS = (
    "statement_key",
    "file_sha256",
    "file_format",
    "file_version",
    "statement_seq",
    "statement_id",
    "sequence_number",
    "account_id",
    "currency",
    "opening_balance",
    "opening_date",
    "closing_balance",
    "closing_date",
    "entry_count",
    "report_kind",
    "message_id",
    "created_at",
    "legal_sequence",
    "account_bic",
    "credit_count",
    "debit_count",
    "credit_total",
    "debit_total",
)
ENTRY_COLUMNS = (
    "statement_key",
    "file_sha256",
    "statement_seq",
    "statement_id",
    "account_id",
    "entry_seq",
    "booking_date",
    "value_date",
    "amount",
    "currency",
    "direction",
    "is_reversal",
    "bank_reference",
    "customer_reference",
    "counterparty_name",
    "counterparty_account",
    "remittance_info",
    "transaction_code",
    "entry_reference",
    "domain_code",
    "family_code",
    "sub_family_code",
    "proprietary_code",
    "entry_charges",
    "batch_count",
    "entry_info",
    "tx_seq",
    "tx_count",
    "tx_amount",
    "tx_direction",
    "end_to_end_id",
    "instruction_id",
    "transaction_id",
    "mandate_id",
    "tx_bank_reference",
    "remittance_unstructured",
    "creditor_reference",
    "creditor_reference_type",
    "referred_documents",
    "tx_counterparty_name",
    "tx_counterparty_account",
    "counterparty_bic",
    "ultimate_debtor",
    "ultimate_creditor",
    "tx_domain_code",
    "tx_family_code",
    "tx_sub_family_code",
    "tx_proprietary_code",
    "charges",
    "charge_bearer",
    "instructed_amount",
    "instructed_currency",
    "exchange_rate",
    "return_reason",
    "tx_info",
    "report_kind",
)
_SEP = chr(31)


def _key_part(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):  # numerically equal balances are the same: 100, 100.0 and 100.00
        return "0" if value == 0 else format(value.normalize(), "f")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def report_key(head: StatementHead, tail: StatementTail, entry_count: int) -> str:
    """A report's identity, whatever file (or format) it came in: md5 of its account, statement id,
    sequence, opening date and balance, closing date and balance (as stated: ``None`` when the file has
    none) and entry count; an intraday report or notification adds its kind, creation time and message id
    (it has no balances to tell two of a day apart). ``schema.sql`` computes the same for statements landed before
    keys existed."""
    parts: list[object] = [
        head.account_id,
        head.statement_id,
        head.sequence,
        head.opening.on if head.opening else None,
        head.opening.amount if head.opening else None,
        tail.closing.on if tail.closing else None,
        tail.closing.amount if tail.closing else None,
        entry_count,
    ]
    if head.report_kind != REPORT_STATEMENT:
        # no balances tell two intraday reports of a day apart: their kind, message and creation time do
        parts += [head.report_kind, head.created_at.isoformat() if head.created_at else None, head.message_id]
    return hashlib.md5(_SEP.join(map(_key_part, parts)).encode(), usedforsecurity=False).hexdigest()


def statement_key(stmt: BankStatement) -> str:
    """:func:`report_key` of a whole statement."""
    closing = None
    if stmt.has_closing_balance:
        from o2c.sources.bank.model import Balance

        closing = Balance(stmt.closing_balance, stmt.closing_date)
    return report_key(stmt.head, StatementTail(closing, stmt.totals), len(stmt.entries))


@dataclass
class LandedReport:
    """What landing needs to remember of a report once its entries have streamed past."""

    seq: int
    head: StatementHead
    tail: StatementTail
    key: str
    entry_count: int
    credit_count: int
    debit_count: int
    credit_total: Decimal
    debit_total: Decimal

    @property
    def label(self) -> str:
        return self.head.label


@dataclass
class ReportRows:
    """Turns a stream of reports into entry rows (:meth:`entry_rows`), remembering each report
    (:attr:`reports`) for its statement row, which can only be written once its entries are counted."""

    sha: str
    file_format: str
    file_version: str | None
    reports: list[LandedReport] = field(default_factory=list)

    def entry_rows(self, statements: Iterator[StatementStream]) -> Iterator[tuple[object, ...]]:
        """Every payment row of every report, in file order. A report's rows are keyed by a provisional
        key until its tail is read; :meth:`rekey` gives the final one (see :func:`land_rows`)."""
        for seq, statement in enumerate(statements, start=1):
            head = statement.head
            counts = [0, 0]
            totals = [Decimal(0), Decimal(0)]
            placeholder = f"pending:{self.sha}:{seq}"
            entry_count = 0
            for entry in statement.entries():
                entry_count += 1
                credit = entry.direction == CREDIT
                counts[0 if credit else 1] += 1
                totals[0 if credit else 1] += entry.amount
                yield from _payment_rows(placeholder, self.sha, seq, head, entry)
            tail = statement.tail
            self.reports.append(
                LandedReport(
                    seq,
                    head,
                    tail,
                    report_key(head, tail, entry_count),
                    entry_count,
                    counts[0],
                    counts[1],
                    totals[0],
                    totals[1],
                )
            )

    def statement_rows(self) -> Iterator[tuple[object, ...]]:
        """The reports as rows of :data:`STATEMENT_COLUMNS` (after :meth:`entry_rows` is exhausted)."""
        for report in self.reports:
            head, tail = report.head, report.tail
            yield (
                report.key,
                self.sha,
                self.file_format,
                self.file_version,
                report.seq,
                head.statement_id,
                head.sequence,
                head.account_id,
                head.currency,
                head.opening.amount if head.opening else None,
                head.opening.on if head.opening else None,
                tail.closing.amount if tail.closing else None,
                tail.closing.on if tail.closing else None,
                report.entry_count,
                head.report_kind,
                head.message_id,
                head.created_at,
                head.legal_sequence,
                head.account_bic,
                report.credit_count,
                report.debit_count,
                report.credit_total,
                report.debit_total,
            )


def _payment_rows(
    key: str, sha: str, seq: int, head: StatementHead, e: BankEntry
) -> Iterator[tuple[object, ...]]:
    payments = e.payments()
    for tx in payments:
        yield (
            key,
            sha,
            seq,
            head.statement_id,
            head.account_id,
            e.entry_seq,
            e.booking_date,
            e.value_date,
            e.amount,
            e.currency,
            e.direction,
            e.is_reversal,
            e.bank_reference,
            e.customer_reference,
            e.counterparty_name,
            e.counterparty_account,
            e.remittance_info,
            e.transaction_code,
            e.entry_reference,
            e.domain_code,
            e.family_code,
            e.sub_family_code,
            e.proprietary_code,
            e.charges,
            e.batch_count,
            e.additional_info,
            tx.tx_seq,
            len(payments),
            tx.amount,
            tx.direction,
            tx.end_to_end_id,
            tx.instruction_id,
            tx.transaction_id,
            tx.mandate_id,
            tx.account_servicer_reference,
            tx.remittance_unstructured,
            tx.creditor_reference,
            tx.creditor_reference_type,
            " ".join(tx.referred_documents) or None,
            tx.counterparty_name,
            tx.counterparty_account,
            tx.counterparty_bic,
            tx.ultimate_debtor,
            tx.ultimate_creditor,
            tx.domain_code,
            tx.family_code,
            tx.sub_family_code,
            tx.proprietary_code,
            tx.charges,
            tx.charge_bearer,
            tx.instructed_amount,
            tx.instructed_currency,
            tx.exchange_rate,
            tx.return_reason,
            tx.additional_info,
            head.report_kind,
        )


def stream_of(statement: BankStatement) -> StatementStream:
    """A whole statement as a stream (a file read ahead in full lands through the same code)."""
    from o2c.sources.bank.model import Balance

    closing = (
        Balance(statement.closing_balance, statement.closing_date) if statement.has_closing_balance else None
    )
    tail = StatementTail(closing, statement.totals)
    return StatementStream(statement.head, iter(statement.entries), _const(tail))


def _const(tail: StatementTail) -> Callable[[], StatementTail]:
    return lambda: tail
