"""Read a ``:61:`` statement line: ``6!n[4!n]2a[1!a]15d1!a3!c16x[//16x]`` and ``[34x]`` on the next line.

Value date, optional entry date (``MMDD``, or four blanks), debit/credit mark, optional funds code,
amount, transaction type, the reference for the account owner (customer reference), the bank's reference
after ``//``, and supplementary details.

Marks follow the SWIFT standard: ``C`` credit, ``D`` debit, ``RC`` reversal of a credit (a debit on the
account), ``RD`` reversal of a debit (a credit on the account). The letter after the mark is the optional
funds code (the third letter of the currency code), so ``DR`` is a debit with funds code ``R``, not a
reversal: the mark is matched before the funds code.

Real files bend the layout, and the reading follows the mt-940 library's three patterns (standard, GLS,
ASN): a customer reference longer than 16 characters is kept whole up to ``//`` (GLS) or, without ``//``,
when it is an IBAN or, up to the first blank, when its first word is that long (ASN puts the counterparty
IBAN there); otherwise the fixed 16-character reference is followed by supplementary text on the same
line (``0121470966      W.P. Jansen``). A type may be preceded by a blank (Deutsche Bank ``12,35 NRTI``), an
amount may sit on the second line, and ``NONREF`` straight after the amount is a reference, not a type.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from o2c.sources.bank.model import BankFileError
from o2c.sources.bank.mt940.details import clean
from o2c.sources.bank.mt940.fields import Field
from o2c.sources.bank.mt940.money import amount_text, entry_date, known_dates, swift_amount, swift_date

_HEAD = re.compile(r"(\d{6})(\d{4}|\s{4})?(R?[CD])([A-Z])?\n?(\d[\d,.]*)")
_TYPE = re.compile(r" ?([A-Z][A-Z0-9 ]{3})")
_REFERENCE_WIDTH = 16
_IBAN = re.compile(r"[A-Z]{2}\d{2}[A-Z0-9]{10,30}")


class StatementLine(NamedTuple):
    """The values of one ``:61:`` line (text whitespace-normalized; empty, and references ``NONREF`` or
    ``NOTPROVIDED``, as ``None``)."""

    value_date: date
    booking_date: date
    mark: str
    """``C``, ``D``, ``RC`` or ``RD``."""
    funds_code: str | None
    amount: Decimal
    transaction_type: str | None
    """e.g. ``NTRF``, ``NMSC``, ``N527``."""
    customer_reference: str | None
    bank_reference: str | None
    supplementary: str | None
    """The supplementary details (the line after, and text after a fixed-width reference)."""
    fix: str | None
    """The warning for an amount deviation that was read (decimal point, whole units)."""


def _references(body: str) -> tuple[str, str, str]:
    """``(customer reference, bank reference, same-line supplementary text)`` of the part after the type."""
    separator = body.find("//")
    if separator >= 0:
        return body[:separator], body[separator + 2 :], ""
    if len(body) > _REFERENCE_WIDTH:
        blank = body.find(" ")
        first_word = body if blank < 0 else body[:blank]
        if blank > _REFERENCE_WIDTH or (blank < 0 and _IBAN.fullmatch(body)):
            return first_word, "", body[len(first_word) :]
        return body[:_REFERENCE_WIDTH], "", body[_REFERENCE_WIDTH:]
    return body, "", ""


def parse_statement_line(fld: Field) -> StatementLine:
    """Read a ``:61:`` field strictly: dates, mark and amount must match, invalid dates are errors."""
    lines = fld.lines
    text = lines[0]
    rest_from = 1
    match = _HEAD.match(text)
    if match is None and len(lines) > 1:
        text = f"{lines[0]}\n{lines[1]}"
        rest_from = 2
        match = _HEAD.match(text)
    if match is None:
        raise BankFileError(f"{fld.describe()}: malformed statement line {fld.first!r}")
    value_text, entry_text, mark, funds_code, raw_amount = match.groups()
    rest = text[match.end() :]
    if raw_amount.count(",") == 1 and "." not in raw_amount:
        fix = None
    else:
        raw_amount, fix = amount_text(raw_amount, fld, rest[:1])
    value_date = known_dates.get(value_text) or swift_date(value_text, fld)
    booking_date = value_date
    if entry_text and not entry_text.isspace():
        booking_date = entry_date(value_date, entry_text, fld)

    transaction_type = None
    if rest[:6] != "NONREF":
        typed = _TYPE.match(rest)
        if typed is not None:
            transaction_type = typed.group(1).rstrip()
            rest = rest[typed.end() :]
    customer, bank, extra = _references(rest)
    if len(lines) > rest_from:
        extra = " ".join([extra, *lines[rest_from:]])
    return StatementLine(
        value_date,
        booking_date,
        mark,
        funds_code,
        swift_amount(raw_amount, fld),
        transaction_type,
        clean(customer) if customer else None,
        clean(bank) if bank else None,
        (" ".join(extra.split()) or None) if extra else None,
        fix,
    )
