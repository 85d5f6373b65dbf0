"""Parse ISO 20022 camt.053 bank-to-customer statements into the normalized bank model.

Elements are found by local name, so any ``urn:iso:std:iso:20022:tech:xsd:camt.053.001.NN``
namespace (and none) works; schema-invalid but readable files are accepted. One
:class:`BankStatement` per ``Stmt``, one :class:`BankEntry` per ``Ntry``: a batch entry is one entry
with the ``Ntry`` amount and its ``TxDtls`` only add references, counterparty and remittance text.

Rules:

* Only booked entries count: ``Sts`` = ``BOOK`` (v2-v7) or ``Sts/Cd`` = ``BOOK`` (v8+). An entry
  without ``Sts`` is taken as booked, with a warning; ``PDNG``/``INFO``/other entries are skipped,
  with a warning.
* Opening balance = ``OPBD``, else ``PRCD``; closing balance = ``CLBD``. A ``Bal`` without
  ``CdtDbtInd`` is taken as a credit balance, with a warning; if the statement then does not
  reconcile, the sign is ambiguous and the file is rejected.
* Dates come from ``Dt`` or ``DtTm`` (its date part, as written). Without ``BookgDt`` the booking
  date falls back to ``ValDt``, then to the closing/opening balance date, with a warning.
* Reversals (``RvslInd`` = true): ``CdtDbtInd`` of a reversal entry is already the effective
  direction on the account; ``RvslInd`` only says that the entry undoes an earlier one of the
  opposite direction. ISO 20022 documents it that way ("if CreditDebitIndicator is CRDT and
  ReversalIndicator is Yes, the original operation was a debit entry"), and the real files prove
  it: ING's example (``ing__example_camt.xml``, a returned direct debit booked ``DBIT`` with
  ``RvslInd`` true) and PostFinance's v4 example (two ``DBIT`` refunds with ``RvslInd`` true) only
  reconcile when the ``CdtDbtInd`` is used as is; flipping it breaks both. MT940 is different:
  its ``RC``/``RD`` mark names the *original* direction (see :mod:`o2c.sources.bank.mt940`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from lxml import etree

from o2c.sources.bank.model import (
    CREDIT,
    DEBIT,
    BankEntry,
    BankFileError,
    BankStatement,
    ParsedBankFile,
)

FORMAT = "camt053"

_NAMESPACE = re.compile(r"^urn:iso:std:iso:20022:tech:xsd:(camt\.\d{3})\.001\.(\d{2})$")
_SUPPORTED_VERSIONS = range(2, 11)
_AMOUNT = re.compile(r"^\d+(?:\.\d+)?$")
_DATE_PREFIX = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")
_TRUE = frozenset({"true", "1"})
_BOOKED = "BOOK"
_OPENING_CODES = ("OPBD", "PRCD")
_CLOSING_CODES = ("CLBD",)
_NOT_PROVIDED = frozenset({"", "NOTPROVIDED", "NONREF", "NONE"})
_AMOUNT_DETAILS = ("InstdAmt", "TxAmt", "CntrValAmt", "AnncdPstngAmt")

Element = etree._Element


def _xml_parser() -> etree.XMLParser:
    """A parser that never fetches anything or expands external entities."""
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, remove_comments=True,
        remove_pis=True, huge_tree=False,
    )  # fmt: skip


# --------------------------------------------------------------------------------------------------
# Namespace-agnostic element access
# --------------------------------------------------------------------------------------------------


def _local(element: Element) -> str:
    """The local name of an element (without namespace)."""
    return etree.QName(element).localname


def _kids(element: Element | None, name: str) -> list[Element]:
    """Direct children with the given local name (an element's tag is ``{namespace}local`` or ``local``;
    comments and processing instructions have no string tag)."""
    if element is None:
        return []
    return [c for c in element if isinstance(c.tag, str) and c.tag.rpartition("}")[2] == name]


def _kid(element: Element | None, *path: str) -> Element | None:
    """The first element along a path of local names, or None."""
    for name in path:
        if element is None:
            return None
        for child in element:
            if isinstance(child.tag, str) and child.tag.rpartition("}")[2] == name:
                element = child
                break
        else:
            return None
    return element


def _text(element: Element | None, *path: str) -> str | None:
    """Whitespace-normalized text at a path, None when absent or blank."""
    found = _kid(element, *path)
    if found is None or found.text is None:
        return None
    text = " ".join(found.text.split())
    return text or None


def _ref(element: Element | None, *path: str) -> str | None:
    """Like :func:`_text`, but ``NOTPROVIDED``/``NONREF`` count as absent."""
    text = _text(element, *path)
    return None if text is None or text.upper() in _NOT_PROVIDED else text


# --------------------------------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------------------------------


def _amount(element: Element | None, where: str) -> tuple[Decimal, str | None]:
    """A non-negative amount and its ``Ccy`` attribute."""
    if element is None:
        raise BankFileError(f"{where}: missing Amt")
    text = (element.text or "").strip()
    if not _AMOUNT.match(text):
        raise BankFileError(f"{where}: invalid amount {text!r}")
    return Decimal(text), element.get("Ccy")


def _parse_date(text: str, where: str) -> date:
    """The date part of an ISO date or date-time, as written (no time zone shift)."""
    match = _DATE_PREFIX.match(text.strip())
    if not match:
        raise BankFileError(f"{where}: invalid date {text!r}")
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError as exc:
        raise BankFileError(f"{where}: invalid date {text!r} ({exc})") from exc


def _date_choice(element: Element | None, where: str) -> date | None:
    """Date of a ``DateAndDateTimeChoice`` (``Dt`` or ``DtTm``)."""
    text = _text(element, "Dt") or _text(element, "DtTm")
    return _parse_date(text, where) if text else None


def _status(entry: Element) -> str | None:
    """Entry status: ``Sts`` text (v2-v7) or ``Sts/Cd``/``Sts/Prtry`` (v8+); None when absent."""
    status = _kid(entry, "Sts")
    if status is None:
        return None
    return _text(status, "Cd") or _text(status, "Prtry") or _text(status) or ""


def _account_id(account: Element | None) -> str | None:
    """IBAN or other identification of an account element."""
    return _text(account, "Id", "IBAN") or _text(account, "Id", "Othr", "Id")


def _transaction_code(element: Element | None) -> str | None:
    """``Domain/Family/SubFamily`` bank transaction code, else the proprietary code."""
    code = _kid(element, "BkTxCd")
    domain = _text(code, "Domn", "Cd")
    if domain:
        family = _text(code, "Domn", "Fmly", "Cd")
        sub_family = _text(code, "Domn", "Fmly", "SubFmlyCd")
        return "/".join(part for part in (domain, family, sub_family) if part)
    return _text(code, "Prtry", "Cd")


# --------------------------------------------------------------------------------------------------
# Balances
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Balance:
    """One ``Bal`` element."""

    code: str
    amount: Decimal
    """Signed, credit positive."""
    currency: str | None
    on: date | None
    sign_assumed: bool


def _balance(element: Element, where: str) -> _Balance | None:
    """Parse a ``Bal``; None for proprietary balance types."""
    code = _text(element, "Tp", "CdOrPrtry", "Cd") or _text(element, "Tp", "Cd")
    if code is None:
        return None
    where = f"{where}, balance {code}"
    amount, currency = _amount(_kid(element, "Amt"), where)
    indicator = _text(element, "CdtDbtInd")
    if indicator not in (CREDIT, DEBIT, None):
        raise BankFileError(f"{where}: invalid CdtDbtInd {indicator!r}")
    return _Balance(
        code=code,
        amount=-amount if indicator == DEBIT else amount,
        currency=currency,
        on=_date_choice(_kid(element, "Dt"), where),
        sign_assumed=indicator is None,
    )


def _pick(balances: list[_Balance], codes: tuple[str, ...]) -> _Balance | None:
    """The first balance of the first code in ``codes`` that is present."""
    for code in codes:
        for balance in balances:
            if balance.code == code:
                return balance
    return None


# --------------------------------------------------------------------------------------------------
# Entries
# --------------------------------------------------------------------------------------------------


@dataclass
class _StatementContext:
    """What an entry needs from its statement, and the counters for aggregated warnings."""

    label: str
    currency: str
    fallback_date: date | None
    missing_status: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    converted_amounts: int = 0
    dates_from_value: int = 0
    dates_from_balance: int = 0


def _transaction_details(entry: Element) -> list[Element]:
    """All ``NtryDtls/TxDtls`` of an entry."""
    return [tx for details in _kids(entry, "NtryDtls") for tx in _kids(details, "TxDtls")]


def _unique(values: Iterable[str | None]) -> str | None:
    """The single distinct non-empty value, else None."""
    distinct = {v for v in values if v}
    return distinct.pop() if len(distinct) == 1 else None


def _customer_reference(tx: Element) -> str | None:
    """End-to-end id, else instruction id, else payment information id of a transaction."""
    refs = _kid(tx, "Refs")
    return _ref(refs, "EndToEndId") or _ref(refs, "InstrId") or _ref(refs, "PmtInfId")


def _party_name(parties: Element | None, role: str) -> str | None:
    """Name of ``Dbtr``/``Cdtr`` (``Nm`` up to v7, ``Pty/Nm`` from v8), else the ultimate party."""
    return (
        _text(parties, role, "Nm")
        or _text(parties, role, "Pty", "Nm")
        or _text(parties, f"Ultmt{role}", "Nm")
        or _text(parties, f"Ultmt{role}", "Pty", "Nm")
    )


def _counterparty(tx: Element, original_credit: bool) -> tuple[str | None, str | None]:
    """Counterparty name and account: the debtor of a credit, the creditor of a debit.

    ``original_credit`` is the direction of the original payment, so the counterparty of a
    reversal is the party of the payment it reverses.
    """
    parties = _kid(tx, "RltdPties")
    role = "Dbtr" if original_credit else "Cdtr"
    return _party_name(parties, role), _account_id(_kid(parties, f"{role}Acct"))


def _remittance(tx: Element) -> str | None:
    """Unstructured lines and structured references of one transaction."""
    info = _kid(tx, "RmtInf")
    parts = [_text(u) for u in _kids(info, "Ustrd")]
    for structured in _kids(info, "Strd"):
        parts.append(_text(structured, "CdtrRefInf", "Ref"))
        parts.extend(_text(d, "Nb") for d in _kids(structured, "RfrdDocInf"))
        parts.extend(_text(a) for a in _kids(structured, "AddtlRmtInf"))
    text = " ".join(p for p in parts if p)
    return text or None


def _joined(values: Iterable[str | None]) -> str | None:
    """Distinct non-empty values in order, joined with `` | ``."""
    distinct = list(dict.fromkeys(v for v in values if v))
    return " | ".join(distinct) or None


def _booking_date(entry: Element, ctx: _StatementContext, where: str) -> tuple[date, date | None]:
    """Booking and value date; a missing ``BookgDt`` falls back to ``ValDt`` or a balance date."""
    value_date = _date_choice(_kid(entry, "ValDt"), f"{where}, ValDt")
    booking = _date_choice(_kid(entry, "BookgDt"), f"{where}, BookgDt")
    if booking is not None:
        return booking, value_date
    if value_date is not None:
        ctx.dates_from_value += 1
        return value_date, value_date
    if ctx.fallback_date is None:
        raise BankFileError(f"{where}: no BookgDt, no ValDt and no balance date")
    ctx.dates_from_balance += 1
    return ctx.fallback_date, None


def _entry_amount(entry: Element, ctx: _StatementContext, where: str) -> tuple[Decimal, str]:
    """The entry amount in the account currency.

    Some banks put the transaction currency into ``Ntry/Amt`` and the account-currency amount
    into ``AmtDtls`` (e.g. ``InstdAmt``); the latter is what was booked on the account.
    """
    amount, currency = _amount(_kid(entry, "Amt"), where)
    if currency is None or currency == ctx.currency:
        return amount, ctx.currency
    for kind in _AMOUNT_DETAILS:
        element = _kid(entry, "AmtDtls", kind, "Amt")
        if element is not None and element.get("Ccy") == ctx.currency:
            ctx.converted_amounts += 1
            return _amount(element, f"{where}, AmtDtls/{kind}")[0], ctx.currency
    return amount, currency


def _is_booked(entry: Element, ctx: _StatementContext) -> bool:
    """Whether an entry counts (booked); counts the missing and skipped statuses."""
    status = _status(entry)
    if status is None:
        ctx.missing_status += 1
        return True
    if status.upper() == _BOOKED:
        return True
    ctx.skipped[status or "(empty)"] += 1
    return False


def _entry(entry: Element, seq: int, ctx: _StatementContext) -> BankEntry:
    """Build one :class:`BankEntry` from a booked ``Ntry``."""
    where = f"{ctx.label}, Ntry {seq}"
    amount, currency = _entry_amount(entry, ctx, where)
    direction = _text(entry, "CdtDbtInd")
    if direction not in (CREDIT, DEBIT):
        raise BankFileError(f"{where}: CdtDbtInd must be CRDT or DBIT, not {direction!r}")
    is_reversal = (_text(entry, "RvslInd") or "").lower() in _TRUE
    booking_date, value_date = _booking_date(entry, ctx, where)
    transactions = _transaction_details(entry)
    original_credit = (direction == CREDIT) != is_reversal
    parties = [_counterparty(tx, original_credit) for tx in transactions]
    return BankEntry(
        entry_seq=seq,
        booking_date=booking_date,
        value_date=value_date,
        amount=amount,
        currency=currency,
        direction=direction,
        is_reversal=is_reversal,
        bank_reference=(
            _ref(entry, "AcctSvcrRef")
            or _unique(_ref(tx, "Refs", "AcctSvcrRef") for tx in transactions)
            or _ref(entry, "NtryRef")
        ),
        customer_reference=(
            _unique(_customer_reference(tx) for tx in transactions)
            or _ref(entry, "NtryDtls", "Btch", "PmtInfId")
        ),
        counterparty_name=_unique(name for name, _ in parties),
        counterparty_account=_unique(account for _, account in parties),
        remittance_info=(
            _joined(_remittance(tx) for tx in transactions)
            or _text(entry, "AddtlNtryInf")
            or _joined(_text(tx, "AddtlTxInf") for tx in transactions)
        ),
        transaction_code=(_transaction_code(entry) or _unique(_transaction_code(tx) for tx in transactions)),
    )


def _booked_entries(statement: Element, ctx: _StatementContext) -> Iterator[BankEntry]:
    """The booked entries of a statement, numbered from 1."""
    booked = (e for e in _kids(statement, "Ntry") if _is_booked(e, ctx))
    for seq, entry in enumerate(booked, start=1):
        yield _entry(entry, seq, ctx)


def _entry_warnings(ctx: _StatementContext) -> list[str]:
    """Aggregated warnings about the entries of one statement."""
    warnings = []
    if ctx.missing_status:
        warnings.append(f"{ctx.label}: {ctx.missing_status} entries have no Sts; taken as booked")
    for status, count in sorted(ctx.skipped.items()):
        warnings.append(f"{ctx.label}: skipped {count} entries with status {status} (not booked)")
    if ctx.converted_amounts:
        warnings.append(
            f"{ctx.label}: {ctx.converted_amounts} entries have Ntry/Amt in a foreign currency;"
            f" used the {ctx.currency} amount from AmtDtls"
        )
    if ctx.dates_from_value:
        warnings.append(f"{ctx.label}: {ctx.dates_from_value} entries have no BookgDt; used ValDt")
    if ctx.dates_from_balance:
        warnings.append(
            f"{ctx.label}: {ctx.dates_from_balance} entries have no BookgDt nor ValDt;"
            f" used the balance date {ctx.fallback_date}"
        )
    return warnings


# --------------------------------------------------------------------------------------------------
# Statements
# --------------------------------------------------------------------------------------------------


def _statement_currency(statement: Element, balances: list[_Balance], where: str) -> str:
    """Account currency, else the currency of the balances or of the first entry."""
    currency = _text(statement, "Acct", "Ccy")
    if currency:
        return currency
    amounts = [_kid(e, "Amt") for e in _kids(statement, "Ntry")]
    candidates = [b.currency for b in balances] + [a.get("Ccy") for a in amounts if a is not None]
    currency = next((c for c in candidates if c), None)
    if currency is None:
        raise BankFileError(f"{where}: no currency in Acct/Ccy, balances or entries")
    return currency


def _check_balance_currency(balance: _Balance | None, currency: str, label: str) -> None:
    """A balance must be in the statement currency."""
    if balance is not None and balance.currency and balance.currency != currency:
        raise BankFileError(
            f"{label}: {balance.code} balance is in {balance.currency},"
            f" but the account currency is {currency}"
        )


def _sign_warnings(label: str, assumed: list[str]) -> list[str]:
    """Warning for balances whose sign had to be assumed."""
    if not assumed:
        return []
    return [f"{label}: balance {', '.join(assumed)} without CdtDbtInd; assumed CRDT (positive)"]


def _check_assumed_signs(statement: BankStatement, assumed: list[str]) -> None:
    """Reject a statement whose assumed balance signs do not make it reconcile."""
    mismatch = statement.balance_mismatch()
    if assumed and mismatch:
        raise BankFileError(
            f"{mismatch}; the sign is ambiguous because {', '.join(assumed)}"
            " had no CdtDbtInd and were assumed to be credit balances"
        )


def _statement(element: Element, index: int, warnings: list[str]) -> BankStatement:
    """Build one :class:`BankStatement` from a ``Stmt`` element."""
    where = f"Stmt #{index}"
    statement_id = _text(element, "Id")
    if statement_id is None:
        raise BankFileError(f"{where}: missing Stmt/Id")
    account = _account_id(_kid(element, "Acct"))
    if account is None:
        raise BankFileError(f"statement {statement_id}: missing Acct/Id (IBAN or Othr/Id)")
    sequence = _text(element, "ElctrncSeqNb") or _text(element, "LglSeqNb")
    label = f"statement {statement_id}{'/' + sequence if sequence else ''} of account {account}"
    balances = [b for b in (_balance(e, label) for e in _kids(element, "Bal")) if b is not None]
    currency = _statement_currency(element, balances, label)
    opening, closing = _pick(balances, _OPENING_CODES), _pick(balances, _CLOSING_CODES)
    for balance in (opening, closing):
        _check_balance_currency(balance, currency, label)
    fallback = (closing.on if closing else None) or (opening.on if opening else None)
    ctx = _StatementContext(label=label, currency=currency, fallback_date=fallback)
    entries = tuple(_booked_entries(element, ctx))
    statement = BankStatement.with_balances(
        statement_id=statement_id,
        sequence=sequence,
        account_id=account,
        currency=currency,
        opening=opening,
        closing=closing,
        entries=entries,
    )
    assumed = [b.code for b in (opening, closing) if b is not None and b.sign_assumed]
    _check_assumed_signs(statement, assumed)
    warnings.extend(_sign_warnings(label, assumed))
    warnings.extend(_entry_warnings(ctx))
    return statement


# --------------------------------------------------------------------------------------------------
# Document
# --------------------------------------------------------------------------------------------------


def _version(root: Element, warnings: list[str]) -> str | None:
    """The camt.053 version from the root namespace; rejects other ISO 20022 messages."""
    namespace = etree.QName(root).namespace
    if not namespace:
        warnings.append("no ISO 20022 namespace; parsed by element names")
        return None
    match = _NAMESPACE.match(namespace)
    if not match:
        raise BankFileError(f"namespace {namespace!r} is not a camt.053 namespace")
    message, variant = match.groups()
    if message != "camt.053":
        raise BankFileError(f"{message} is not a camt.053 statement (namespace {namespace})")
    version = f"camt.053.001.{variant}"
    if int(variant) not in _SUPPORTED_VERSIONS:
        warnings.append(f"{version} is outside the supported .02-.10; parsed by element names")
    return version


def _statement_container(root: Element) -> Element:
    """The ``BkToCstmrStmt`` element (root or child of ``Document``)."""
    if _local(root) == "BkToCstmrStmt":
        return root
    container = _kid(root, "BkToCstmrStmt")
    if container is None:
        raise BankFileError(f"<{_local(root)}> has no BkToCstmrStmt element: not a camt.053 message")
    return container


def _parse_xml(data: bytes) -> Element:
    """Parse the XML document safely."""
    try:
        return etree.fromstring(data, parser=_xml_parser())
    except etree.XMLSyntaxError as exc:
        raise BankFileError(f"not well-formed XML: {exc}") from exc


def parse_camt053(data: bytes, name: str) -> ParsedBankFile:
    """Parse a camt.053 file.

    Args:
        data: The raw XML.
        name: The file name, used in error messages.

    Returns:
        The statements in document order, not yet balance-validated (except that a statement
        whose balance signs had to be assumed must reconcile);
        see :func:`o2c.sources.bank.parse.parse_bank_file`.

    Raises:
        BankFileError: The file cannot be read unambiguously; ``reason`` says why and where. Nothing
            else is caught: any other exception is a defect of the parser and propagates.
    """
    warnings: list[str] = []
    try:
        root = _parse_xml(data)
        version = _version(root, warnings)
        stmts = _kids(_statement_container(root), "Stmt")
        if not stmts:
            raise BankFileError("BkToCstmrStmt contains no Stmt: the file holds no statement")
        statements = tuple(_statement(s, i, warnings) for i, s in enumerate(stmts, start=1))
    except BankFileError as exc:
        if exc.file_name:
            raise
        raise BankFileError(exc.reason, name) from exc
    # Anything else is a bug in this parser, not a property of the file: it propagates, so that the
    # ingest fails loudly and leaves the file in the inbox instead of quarantining it.
    return ParsedBankFile(FORMAT, version, statements, tuple(warnings))
