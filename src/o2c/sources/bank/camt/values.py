"""Typed values of camt elements: amounts, dates, indicators, account and agent identifications.

Every reader here raises :class:`~o2c.sources.bank.model.BankFileError` for a value it cannot read,
with ``where`` (the report, entry and element) in the reason; none raises anything else for bad input.
"""

from __future__ import annotations

import functools
import re
from datetime import date, datetime
from decimal import Decimal

from o2c.sources.bank.camt.elements import Element, Node, normalized, pick
from o2c.sources.bank.model import CREDIT, DEBIT, BankFileError

_AMOUNT = re.compile(r"\d+(?:\.\d+)?")
_COUNT = re.compile(r"\d+")
_DATE_PREFIX = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_TRUE = frozenset({"true", "1"})
_FALSE = frozenset({"false", "0"})


def decimal(text: str | None, where: str, what: str = "amount") -> Decimal:
    """A non-negative decimal written as digits with an optional fraction (no sign, no exponent)."""
    if text is None or not _AMOUNT.fullmatch(text):
        raise BankFileError(f"{where}: invalid {what} {text!r}")
    return Decimal(text)


def amount(node: Node | Element | None, where: str, name: str = "Amt") -> tuple[Decimal, str | None]:
    """A non-negative amount element (wrapped or not) and its ``Ccy`` attribute; ``name`` is the element's,
    for the reason of an error."""
    if node is None:
        raise BankFileError(f"{where}: missing {name}")
    element = node.element if isinstance(node, Node) else node
    text = (element.text or "").strip()
    if not _AMOUNT.fullmatch(text):
        raise BankFileError(f"{where}, {name}: invalid amount {text!r}")
    currency = element.get("Ccy")
    return Decimal(text), (currency.strip() or None) if currency else None


def count(node: Node | None, where: str) -> int | None:
    """A count such as ``NbOfTxs`` or ``NbOfNtries``; ``None`` when absent."""
    if node is None:
        return None
    text = node.stripped
    if text is None or not _COUNT.fullmatch(text):
        raise BankFileError(f"{where}: invalid count {text!r}")
    return int(text)


@functools.lru_cache(maxsize=4096)
def _date(prefix: str) -> date | str:
    """The date of ``YYYY-MM-DD``, else what is wrong with it (cached: a file has few distinct dates)."""
    match = _DATE_PREFIX.fullmatch(prefix)
    if not match:
        return ""
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError as exc:
        return f" ({exc})"


def parse_date(text: str, where: str, element: str = "") -> date:
    """The date part of an ISO date or date-time, as written (no time zone shift); ``element`` is added to
    ``where`` in the reason of an error."""
    value = _date(text.strip()[:10])
    if isinstance(value, str):
        inside = f"{where}, {element}" if element else where
        raise BankFileError(f"{inside}: invalid date {text!r}{value}")
    return value


def date_choice(node: Node | None, where: str) -> date | None:
    """Date of a ``DateAndDateTimeChoice`` (``Dt`` or ``DtTm``); ``None`` when absent."""
    if node is None:
        return None
    text = node.raw("Dt") or node.raw("DtTm")
    return parse_date(text, where) if text else None


def parse_datetime(text: str | None) -> datetime | None:
    """An ISO date-time such as ``CreDtTm``: time zone aware when it has an offset (or ``Z``), else naive;
    ``None`` when absent or unreadable."""
    if not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def boolean(text: str | None, where: str, default: bool) -> bool:
    """An XML boolean (``true``/``false``/``1``/``0``); ``default`` when absent."""
    if text is None:
        return default
    lowered = text.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise BankFileError(f"{where}: invalid boolean {text!r}")


def indicator(text: str | None, where: str) -> str:
    """A ``CdtDbtInd``: ``CRDT`` or ``DBIT``."""
    if text != CREDIT and text != DEBIT:
        raise BankFileError(f"{where}: CdtDbtInd must be CRDT or DBIT, not {text!r}")
    return text


def account_id(account: Element | Node | None) -> str | None:
    """The identification of an account element: ``IBAN``, else ``Othr/Id`` (v2+), else the v1
    ``BBAN``/``UPIC``/``PrtryAcct/Id``."""
    if account is None:
        return None
    element = account.element if isinstance(account, Node) else account
    identification = pick(element, ("Id",)).get("Id")
    if identification is None:
        return None
    found = pick(identification, ("IBAN", "Othr", "BBAN", "UPIC", "PrtryAcct"))
    for name in ("IBAN", "Othr", "BBAN", "UPIC", "PrtryAcct"):
        if name not in found:
            continue
        if name in ("Othr", "PrtryAcct"):
            inner = pick(found[name], ("Id",)).get("Id")
            value = None if inner is None else normalized(inner.text)
        else:
            value = normalized(found[name].text)
        if value:
            return value
    return None


def bic(agent: Node | None) -> str | None:
    """The BIC of an agent (``FinInstnId/BICFI`` from v3, ``BIC`` before, ``CmbndId/BIC`` in v1)."""
    if agent is None:
        return None
    institution = agent.find("FinInstnId")
    if institution is None:
        return None
    return institution.text("BICFI") or institution.text("BIC") or institution.text("CmbndId", "BIC")
