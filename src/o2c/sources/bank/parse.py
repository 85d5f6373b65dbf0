"""Detect, parse and validate bank files: SWIFT MT940/MT942 and ISO 20022 camt.052/053/054.

:func:`open_bank_stream` is the ingest's entry point: it detects the format, hands the file to its parser
(:func:`o2c.sources.bank.mt940.open_mt`, :func:`o2c.sources.bank.camt.open_camt`) and wraps the parser's
stream with the checks a bank (and SAP's statement import) makes of a file on its own:

- every report adds up: opening + credits − debits = closing, in exact ``Decimal`` (when both balances
  are stated); a report with no balances (an intraday report, a notification) must match the totals it
  states (camt ``TxsSummry``, MT942 ``:90C:``/``:90D:``); a statement with balances whose stated totals
  disagree loads with a warning (the balances decide);
- a statement without an opening or closing balance cannot be verified: it loads, with a warning;
- consecutive statements of one account inside the file chain (closing → next opening), else a warning;
- entries are well-formed for the warehouse: no negative amount, a known direction, the report's
  currency, no NUL character.

The checks run while the entries stream past, so a file of any size is read in flat memory; a failure
raises :class:`~o2c.sources.bank.model.BankFileError` at the point it is found (the ingest lands a file in
one transaction, so nothing of it stays). Checks *across* files (a statement's opening against the
previous file's closing, sequence gaps, repeated statements) need the warehouse: see
:mod:`o2c.sources.bank.integrity`.

A parser raises only :class:`BankFileError`, for input it cannot read; anything else is a defect and is
not caught here, so it can never pass for a quarantine reason (the ingest fails and keeps the file).
"""

from __future__ import annotations

import codecs
import contextlib
import io
import operator
import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import BinaryIO

from o2c.sources.bank.model import (
    CREDIT,
    DIRECTIONS,
    REPORT_STATEMENT,
    BankEntry,
    BankFileError,
    BankFileStream,
    ParsedBankFile,
    StatementHead,
    StatementStream,
    StatementTail,
    materialize,
    movement_mismatch,
)

FORMAT_MT940 = "mt940"
FORMAT_MT942 = "mt942"
FORMAT_CAMT052 = "camt052"
FORMAT_CAMT053 = "camt053"
FORMAT_CAMT054 = "camt054"
FORMATS = (FORMAT_MT940, FORMAT_MT942, FORMAT_CAMT052, FORMAT_CAMT053, FORMAT_CAMT054)

_HEAD_BYTES = 65536
_ISO_MESSAGE = re.compile(r"urn:iso:std:iso:20022:tech:xsd:([a-z]{4}\.\d{3})\.\d{3}\.\d{2}")
_ROOT_MESSAGES = {
    "BkToCstmrStmt": "camt.053",
    "BkToCstmrAcctRpt": "camt.052",
    "BkToCstmrDbtCdtNtfctn": "camt.054",
    "CstmrPmtStsRpt": "pain.002",
}
_CAMT_FORMATS = {"camt.052": FORMAT_CAMT052, "camt.053": FORMAT_CAMT053, "camt.054": FORMAT_CAMT054}
_NOT_BANK_REPORTS = {
    "pain.002": "pain.002 payment status reports are not account statements or reports",
    "pain.001": "pain.001 payment initiations are not account statements or reports",
    "camt.060": "camt.060 account reporting requests are not account statements or reports",
}
_XML_ELEMENT = re.compile(r"<(?:[\w.-]+:)?([A-Za-z][\w.-]*)[\s/>]")
_MT_TAG = re.compile(
    r"(?m)^[ \t\x01\x02\x03\x1a]*:(?:20|21|25|28C?|60[FM]?|61|62[FM]?|64|65|86|NS|13D?|34F|90[CD]):"
)
_SWIFT_HEADER = re.compile(r"\{1:F\d{2}|\{4:")
_MT942_HEADER = re.compile(r"\{2:[IO]942")
_MT942_TAG = re.compile(r"(?m)^:(?:13D|34F|90[CD]):")
_MT_BALANCE_TAG = re.compile(r"(?m)^:(?:60[FM]?|62[FM]?):")
_HINT_ENTRIES = 10_000
"""Entries per report kept (number and signed amount) to name one a balance difference equals."""


def _head_text(data: bytes) -> str:
    """The start of the file as text, good enough for format detection."""
    head = data[:_HEAD_BYTES]
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return head.decode("utf-16", errors="replace")
    return head.removeprefix(codecs.BOM_UTF8).decode("latin-1")


def _detect_xml(head: str) -> str:
    """Classify an XML document: camt.052, camt.053 or camt.054."""
    messages = set(_ISO_MESSAGE.findall(head))
    if not messages:
        elements = _XML_ELEMENT.findall(head.split("?>")[-1] if "?>" in head else head)
        messages = {_ROOT_MESSAGES[e] for e in elements if e in _ROOT_MESSAGES}
    for message in ("camt.053", "camt.052", "camt.054"):
        if message in messages:
            return _CAMT_FORMATS[message]
    for message in sorted(messages):
        if message in _NOT_BANK_REPORTS:
            raise BankFileError(_NOT_BANK_REPORTS[message])
    if messages:
        raise BankFileError(
            f"ISO 20022 {', '.join(sorted(messages))} is not a camt.052, camt.053 or camt.054 message"
        )
    root = next(iter(_XML_ELEMENT.findall(head.split("?>")[-1])), "?")
    raise BankFileError(
        f"not a bank statement file: XML document <{root}> has no camt.052/053/054 namespace"
        " and no BkToCstmrStmt, BkToCstmrAcctRpt or BkToCstmrDbtCdtNtfctn element"
    )


def detect_format(data: bytes) -> str:
    """Tell the format of a bank file from its first bytes.

    Returns:
        One of :data:`FORMATS`.

    Raises:
        BankFileError: For anything else (pain.002, other XML, text without SWIFT tags, an empty file),
            with a reason saying what the file is.
    """
    head = _head_text(data)
    stripped = head.strip(" \t\r\n\x00\x01\x02\x03\x1a\ufeff")
    if not stripped:
        raise BankFileError("not a bank statement file: the file is empty")
    if stripped.startswith("<"):
        return _detect_xml(stripped)
    if _MT942_HEADER.search(head) or (_MT942_TAG.search(head) and not _MT_BALANCE_TAG.search(head)):
        return FORMAT_MT942
    if _MT_TAG.search(head) or _SWIFT_HEADER.search(head):
        return FORMAT_MT940
    raise BankFileError(
        f"not a bank statement file: neither XML nor SWIFT MT tags (starts with {stripped[:40]!r})"
    )


_TEXT_FIELDS = (
    "bank_reference",
    "customer_reference",
    "counterparty_name",
    "counterparty_account",
    "remittance_info",
    "transaction_code",
    "entry_reference",
    "additional_info",
)
_TRANSACTION_TEXT_FIELDS = (
    "end_to_end_id",
    "instruction_id",
    "transaction_id",
    "mandate_id",
    "account_servicer_reference",
    "remittance_unstructured",
    "creditor_reference",
    "counterparty_name",
    "counterparty_account",
    "counterparty_bic",
    "ultimate_debtor",
    "ultimate_creditor",
    "proprietary_code",
    "return_reason",
    "additional_info",
)


def _check_head(head: StatementHead) -> None:
    for name in ("statement_id", "sequence", "account_id", "message_id"):
        if "\x00" in (getattr(head, name) or ""):
            raise BankFileError(f"{head.label}: {name} contains a NUL character")


_ENTRY_TEXTS = operator.attrgetter(*_TEXT_FIELDS)
_TRANSACTION_TEXTS = operator.attrgetter(*_TRANSACTION_TEXT_FIELDS)


def _check_entry(head: StatementHead, entry: BankEntry) -> None:
    """Model invariants: non-negative amounts, known directions, one currency, text a database can hold
    (no NUL character: PostgreSQL text cannot store it, so such a file is bad data, not a landing error).

    Every entry passes through here, so the checks run first as one cheap pass: every text of the entry and
    its transactions joined and searched for a NUL at C level, then the amounts, direction and currency,
    without building a message. Only an entry that fails one is checked again field by field, in the
    original order, by :func:`_entry_error`, which raises the error for the first failing check.
    """
    transactions = entry.transactions
    if len(transactions) == 1:
        tx = transactions[0]
        texts = _ENTRY_TEXTS(entry) + _TRANSACTION_TEXTS(tx) + tx.referred_documents
    else:
        texts = _ENTRY_TEXTS(entry)
        for tx in transactions:
            texts += _TRANSACTION_TEXTS(tx) + tx.referred_documents
    if "\x00" in "".join(filter(None, texts)):
        _entry_error(head, entry)
    for tx in transactions:
        amount = tx.amount
        if amount is not None and amount < 0:
            _entry_error(head, entry)
    if entry.amount < 0 or entry.direction not in DIRECTIONS or entry.currency != head.currency:
        _entry_error(head, entry)


def _entry_error(head: StatementHead, entry: BankEntry) -> None:
    """Raise the error of the first check of :func:`_check_entry` an entry fails, field by field."""
    where = f"{head.label}, entry {entry.entry_seq}"
    for name in _TEXT_FIELDS:
        if "\x00" in (getattr(entry, name) or ""):
            raise BankFileError(f"{where}: {name} contains a NUL character")
    for tx in entry.transactions:
        for name in _TRANSACTION_TEXT_FIELDS:
            if "\x00" in (getattr(tx, name) or ""):
                raise BankFileError(f"{where}, transaction {tx.tx_seq}: {name} contains a NUL character")
        if any("\x00" in document for document in tx.referred_documents):
            raise BankFileError(
                f"{where}, transaction {tx.tx_seq}: a referred document contains a NUL character"
            )
        if tx.amount is not None and tx.amount < 0:
            raise BankFileError(f"{where}, transaction {tx.tx_seq}: negative amount {tx.amount}")
    if entry.amount < 0:
        raise BankFileError(f"{where}: negative amount {entry.amount}")
    if entry.direction not in DIRECTIONS:
        raise BankFileError(f"{where}: unknown direction {entry.direction!r}")
    if entry.currency != head.currency:
        raise BankFileError(
            f"{where}: amount in {entry.currency}, but the {head.label} is in {head.currency}"
        )


class _Tally:
    """Running totals of one report's entries, and the first few for a balance-difference hint."""

    def __init__(self) -> None:
        self.credits = Decimal(0)
        self.debits = Decimal(0)
        self.credit_count = 0
        self.debit_count = 0
        self.kept: list[tuple[int, Decimal]] = []

    def add(self, entry: BankEntry) -> None:
        if entry.direction == CREDIT:
            self.credits += entry.amount
            self.credit_count += 1
        else:
            self.debits += entry.amount
            self.debit_count += 1
        if len(self.kept) < _HINT_ENTRIES:
            self.kept.append((entry.entry_seq, entry.signed_amount))


class _Validator:
    """Wraps a parser's stream: checks each report as its entries pass (see the module docstring)."""

    def __init__(self, stream: BankFileStream) -> None:
        self.stream = stream
        self.previous: tuple[StatementHead, StatementTail] | None = None
        self.count = 0

    def statements(self) -> Iterator[StatementStream]:
        for statement in self.stream.statements:
            self.count += 1
            _check_head(statement.head)
            tally = _Tally()
            yield StatementStream(
                statement.head,
                self._entries(statement, tally),
                self._tail(statement, tally),
            )
        if not self.count:
            raise BankFileError("the file contains no statements or reports")

    def _entries(self, statement: StatementStream, tally: _Tally) -> Iterator[BankEntry]:
        for entry in statement.entries():
            _check_entry(statement.head, entry)
            if len(entry.transactions) > 1:
                self._check_payments(statement.head, entry)
            tally.add(entry)
            yield entry

    def _check_payments(self, head: StatementHead, entry: BankEntry) -> None:
        """A batch whose payments do not add up to the entry loads (the entry's amount is what was booked),
        with a warning: its payments' amounts cannot be relied on one by one."""
        if len(entry.transactions) < 2:
            return
        amounts = [tx.amount for tx in entry.transactions]
        signed = sum(
            (
                a if tx.direction == entry.direction else -a
                for tx, a in zip(entry.transactions, amounts, strict=True)
                if a is not None
            ),
            Decimal(0),
        )
        if None in amounts or signed != entry.amount:
            stated = "some without an amount" if None in amounts else f"adding up to {signed}"
            self.stream.warnings.append(
                f"{head.label}, entry {entry.entry_seq}: its {len(entry.transactions)} payments ({stated}) do not"
                f" make up the entry's {entry.amount} {entry.currency}"
            )

    def _tail(self, statement: StatementStream, tally: _Tally) -> Callable[[], StatementTail]:
        def check() -> StatementTail:
            tail = statement.tail
            self._check(statement.head, tail, tally)
            self.previous = (statement.head, tail)
            return tail

        return check

    def _check(self, head: StatementHead, tail: StatementTail, tally: _Tally) -> None:
        warnings = self.stream.warnings
        opening = head.opening.amount if head.opening else None
        closing = tail.closing.amount if tail.closing else None
        mismatch = movement_mismatch(head.label, opening, closing, tally.credits, tally.debits, tally.kept)
        if mismatch:
            raise BankFileError(mismatch)
        totals = (
            tail.totals.mismatch(tally.credit_count, tally.credits, tally.debit_count, tally.debits)
            if tail.totals
            else None
        )
        if totals and (opening is None or closing is None):
            raise BankFileError(f"{head.label}: its entries do not add up to the totals it states: {totals}")
        if totals:
            warnings.append(
                f"{head.label}: the stated totals disagree with the entries ({totals}); the balances reconcile"
            )
        if head.report_kind == REPORT_STATEMENT:
            if opening is None:
                warnings.append(f"{head.label}: no opening balance: cannot verify")
            if closing is None:
                warnings.append(f"{head.label}: no closing balance: cannot verify")
        if self.previous is not None and head.report_kind == REPORT_STATEMENT:
            before, before_tail = self.previous
            if (
                before.report_kind == REPORT_STATEMENT
                and before.account_id == head.account_id
                and before.currency == head.currency
                and before_tail.closing is not None
                and opening is not None
                and before_tail.closing.amount != opening
            ):
                warnings.append(
                    f"{head.label}: opening balance {opening} differs from the closing balance"
                    f" {before_tail.closing.amount} of the preceding {before.label}"
                )


def _parser(fmt: str) -> Callable[[BinaryIO, str], BankFileStream]:
    if fmt in (FORMAT_MT940, FORMAT_MT942):
        from o2c.sources.bank.mt940 import open_mt

        return open_mt
    from o2c.sources.bank.camt import open_camt

    return open_camt


def open_bank_stream(source: BinaryIO, name: str) -> BankFileStream:
    """Detect the format of a seekable binary file and read it as a validated stream.

    Errors surface as :class:`BankFileError` (naming ``name``) when the head is read or, later, while the
    reports stream; the ingest runs a file in one transaction, so a late error leaves nothing behind.
    """
    try:
        head = source.read(_HEAD_BYTES)
        source.seek(0)
        fmt = detect_format(head)
        stream = _parser(fmt)(source, name)
    except BankFileError as exc:
        raise _named(exc, name) from exc
    validator = _Validator(stream)
    return BankFileStream(
        stream.format,
        stream.version,
        stream.report_kind,
        _named_errors(validator.statements(), name),
        stream.warnings,
    )


def _named(exc: BankFileError, name: str) -> BankFileError:
    return exc if exc.file_name else BankFileError(exc.reason, name)


def _named_errors(statements: Iterator[StatementStream], name: str) -> Iterator[StatementStream]:
    """Re-raise a :class:`BankFileError` of the stream (a report's head, entries or tail) with the file name."""
    try:
        for statement in statements:
            yield StatementStream(
                statement.head, _named_entries(statement, name), _named_tail(statement, name)
            )
    except BankFileError as exc:
        raise _named(exc, name) from exc


def _named_entries(statement: StatementStream, name: str) -> Iterator[BankEntry]:
    try:
        yield from statement.entries()
    except BankFileError as exc:
        raise _named(exc, name) from exc


def _named_tail(statement: StatementStream, name: str) -> Callable[[], StatementTail]:
    def tail() -> StatementTail:
        try:
            return statement.tail
        except BankFileError as exc:
            raise _named(exc, name) from exc

    return tail


def parse_bank_bytes(data: bytes, name: str) -> ParsedBankFile:
    """Detect, parse and validate a whole bank file held in memory (tests, small files).

    Raises:
        BankFileError: The file cannot be loaded; never any other exception for bad input. Any other
            exception is a defect of the parser and propagates unchanged.
    """
    return materialize(open_bank_stream(io.BytesIO(data), name))


@contextlib.contextmanager
def open_bank_file(path: Path) -> Iterator[BankFileStream]:
    """Open a bank file as a validated stream (see :func:`open_bank_stream`); the file closes on exit.

    Raises:
        BankFileError: The file cannot be read or its head is not a bank file.
    """
    path = Path(path)
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise BankFileError(f"cannot read file: {exc.strerror or exc}", path.name) from exc
    with handle:
        yield open_bank_stream(handle, path.name)


def parse_bank_file(path: Path) -> ParsedBankFile:
    """Read, detect, parse and validate one bank file whole (tests, small files).

    Returns:
        The parsed file; every report with both balances reconciles exactly, every report without them
        matches the totals it states.

    Raises:
        BankFileError: The file cannot be read, is not a bank file, cannot be parsed unambiguously, has no
            reports, or does not add up.
    """
    with open_bank_file(path) as stream:
        return materialize(stream)
