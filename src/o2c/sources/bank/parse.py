"""Detect, parse and validate bank statement files (SWIFT MT940 or ISO 20022 camt.053).

:func:`parse_bank_file` is the entry point for the ingest step: it returns a
:class:`~o2c.sources.bank.model.ParsedBankFile` whose statements all reconcile
(opening + credits - debits == closing, exact Decimal arithmetic), or raises
:class:`~o2c.sources.bank.model.BankFileError` with a reason that names the file and what is wrong.
It never raises anything else for bad input. Any other exception is a defect of the parsers: it is not
caught here (nor in the parsers), so that it can never pass for a data problem in a quarantine reason;
the ingest fails on it and leaves the file in the inbox (:mod:`o2c.sources.bank.ingest`).
"""

from __future__ import annotations

import codecs
import dataclasses
import itertools
import re
from collections.abc import Callable
from pathlib import Path

from o2c.sources.bank.camt053 import parse_camt053
from o2c.sources.bank.model import (
    DIRECTIONS,
    BankFileError,
    BankStatement,
    ParsedBankFile,
)
from o2c.sources.bank.mt940 import parse_mt940

FORMAT_MT940 = "mt940"
FORMAT_CAMT053 = "camt053"

_PARSERS: dict[str, Callable[[bytes, str], ParsedBankFile]] = {
    FORMAT_MT940: parse_mt940,
    FORMAT_CAMT053: parse_camt053,
}

_HEAD_BYTES = 65536
_ISO_MESSAGE = re.compile(r"urn:iso:std:iso:20022:tech:xsd:([a-z]{4}\.\d{3})\.\d{3}\.\d{2}")
_ROOT_MESSAGES = {
    "BkToCstmrStmt": "camt.053",
    "BkToCstmrAcctRpt": "camt.052",
    "BkToCstmrDbtCdtNtfctn": "camt.054",
    "CstmrPmtStsRpt": "pain.002",
}
_NOT_STATEMENTS = {
    "camt.052": "camt.052 reports are not statements: it is an intraday account report",
    "camt.054": "camt.054 notifications are not statements: it is a debit/credit notification",
    "pain.002": "pain.002 payment status reports are not bank statements",
    "pain.001": "pain.001 payment initiations are not bank statements",
    "camt.060": "camt.060 account reporting requests are not statements",
}
_XML_ELEMENT = re.compile(r"<(?:[\w.-]+:)?([A-Za-z][\w.-]*)[\s/>]")
_MT_TAG = re.compile(r"(?m)^[ \t\x01\x02\x03\x1a]*:(?:20|21|25|28C?|60[FM]?|61|62[FM]?|64|65|86|NS):")
_SWIFT_HEADER = re.compile(r"\{1:F\d{2}|\{4:")
_MT942_HEADER = re.compile(r"\{2:[IO]942")
_MT942_TAG = re.compile(r"(?m)^:(?:13D|34F|90[CD]):")
_MT_BALANCE_TAG = re.compile(r"(?m)^:(?:60[FM]?|62[FM]?):")


def _head_text(data: bytes) -> str:
    """The start of the file as text, good enough for format detection."""
    head = data[:_HEAD_BYTES]
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return head.decode("utf-16", errors="replace")
    return head.removeprefix(codecs.BOM_UTF8).decode("latin-1")


def _detect_xml(head: str) -> str:
    """Classify an XML document; only camt.053 is accepted."""
    messages = set(_ISO_MESSAGE.findall(head))
    if not messages:
        elements = _XML_ELEMENT.findall(head.split("?>")[-1] if "?>" in head else head)
        messages = {_ROOT_MESSAGES[e] for e in elements if e in _ROOT_MESSAGES}
    if "camt.053" in messages:
        return FORMAT_CAMT053
    for message in sorted(messages):
        if message in _NOT_STATEMENTS:
            raise BankFileError(_NOT_STATEMENTS[message])
    if messages:
        raise BankFileError(f"ISO 20022 {', '.join(sorted(messages))} is not a camt.053 statement")
    root = next(iter(_XML_ELEMENT.findall(head.split("?>")[-1])), "?")
    raise BankFileError(
        f"not an MT940 or camt.053 file: XML document <{root}> has no camt.053 namespace"
        " and no BkToCstmrStmt element"
    )


def detect_format(data: bytes) -> str:
    """Tell whether ``data`` is an MT940 or a camt.053 file.

    Returns:
        ``"mt940"`` or ``"camt053"``.

    Raises:
        BankFileError: For anything else, including camt.052 reports, camt.054 notifications
            and MT942 interim reports, with a reason saying what the file is.
    """
    head = _head_text(data)
    stripped = head.strip(" \t\r\n\x00\x01\x02\x03\x1a\ufeff")
    if not stripped:
        raise BankFileError("not an MT940 or camt.053 file: the file is empty")
    if stripped.startswith("<"):
        return _detect_xml(stripped)
    if _MT942_HEADER.search(head) or (_MT942_TAG.search(head) and not _MT_BALANCE_TAG.search(head)):
        raise BankFileError("MT942 interim transaction reports are not statements")
    if _MT_TAG.search(head) or _SWIFT_HEADER.search(head):
        return FORMAT_MT940
    preview = stripped[:40].replace("\n", "\\n")
    raise BankFileError(
        f"not an MT940 or camt.053 file: neither XML nor SWIFT tags (starts with {preview!r})"
    )


_TEXT_FIELDS = (
    "bank_reference",
    "customer_reference",
    "counterparty_name",
    "counterparty_account",
    "remittance_info",
    "transaction_code",
)


def _check_entries(statement: BankStatement) -> None:
    """Model invariants: non-negative amounts, known directions, one currency, text a database can hold
    (no NUL character: PostgreSQL text cannot store it, so such a file is bad data, not a landing error)."""
    for name in ("statement_id", "sequence", "account_id"):
        if "\x00" in (getattr(statement, name) or ""):
            raise BankFileError(f"{statement.label}: {name} contains a NUL character")
    for entry in statement.entries:
        where = f"{statement.label}, entry {entry.entry_seq}"
        for name in _TEXT_FIELDS:
            if "\x00" in (getattr(entry, name) or ""):
                raise BankFileError(f"{where}: {name} contains a NUL character")
        if entry.amount < 0:
            raise BankFileError(f"{where}: negative amount {entry.amount}")
        if entry.direction not in DIRECTIONS:
            raise BankFileError(f"{where}: unknown direction {entry.direction!r}")
        if entry.currency != statement.currency:
            raise BankFileError(
                f"{where}: amount in {entry.currency}, but the statement is in {statement.currency}"
            )


def _missing_balance_warnings(statement: BankStatement) -> list[str]:
    """Warnings for balances that are absent, so the statement cannot be verified."""
    warnings = []
    if not statement.has_opening_balance:
        warnings.append(f"{statement.label}: no opening balance: cannot verify")
    if not statement.has_closing_balance:
        warnings.append(f"{statement.label}: no closing balance: cannot verify")
    return warnings


def _continuity_warnings(statements: tuple[BankStatement, ...]) -> list[str]:
    """Warn when consecutive statements of one account do not chain (closing -> next opening)."""
    warnings = []
    for previous, current in itertools.pairwise(statements):
        if (
            previous.account_id == current.account_id
            and previous.currency == current.currency
            and previous.has_closing_balance
            and current.has_opening_balance
            and previous.closing_balance != current.opening_balance
        ):
            warnings.append(
                f"{current.label}: opening balance {current.opening_balance} differs from the"
                f" closing balance {previous.closing_balance} of the preceding {previous.label}"
            )
    return warnings


def validate(parsed: ParsedBankFile) -> ParsedBankFile:
    """Check that every statement reconciles; add warnings for what cannot be verified.

    Raises:
        BankFileError: No statements, an entry in a foreign currency, or a statement whose
            opening + credits - debits differs from its closing balance.
    """
    if not parsed.statements:
        raise BankFileError("the file contains no statements")
    warnings = list(parsed.warnings)
    for statement in parsed.statements:
        _check_entries(statement)
        mismatch = statement.balance_mismatch()
        if mismatch:
            raise BankFileError(mismatch)
        warnings.extend(_missing_balance_warnings(statement))
    warnings.extend(_continuity_warnings(parsed.statements))
    return dataclasses.replace(parsed, warnings=tuple(warnings))


def parse_bank_bytes(data: bytes, name: str) -> ParsedBankFile:
    """Detect, parse and validate the content of a bank file.

    Args:
        data: The raw file content.
        name: The file name, for messages.

    Raises:
        BankFileError: The file cannot be loaded; never any other exception for bad input. Any other
            exception is a defect of the parser and propagates unchanged.
    """
    try:
        parsed = _PARSERS[detect_format(data)](data, name)
        return validate(parsed)
    except BankFileError as exc:
        if exc.file_name:
            raise
        raise BankFileError(exc.reason, name) from exc


def parse_bank_file(path: Path) -> ParsedBankFile:
    """Read, detect, parse and validate one bank statement file.

    Returns:
        The parsed file; every statement with both balances reconciles exactly. Statements that
        lack a balance are kept, with a warning that they cannot be verified.

    Raises:
        BankFileError: The file cannot be read, is not an MT940/camt.053 statement file, cannot
            be parsed unambiguously, has no statements, or does not reconcile.
    """
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise BankFileError(f"cannot read file: {exc.strerror or exc}", Path(path).name) from exc
    return parse_bank_bytes(data, Path(path).name)
