"""Strict reading of the money fields: balances and the start of ``:61:`` lines.

Debit/credit mark, amount and dates are matched with strict patterns; invalid dates (30 February)
are errors rather than being "fixed". Two unambiguous deviations seen in real files (a decimal point,
no decimal comma) are rewritten to SWIFT form with a warning.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from o2c.sources.bank.model import BankFileError
from o2c.sources.bank.mt940.fields import Field

_YEAR_BASE = 2000
_YEAR_BOUNDARY_DAYS = 330  # same rule as the mt940 library for the entry date's year
# --------------------------------------------------------------------------------------------------

_BALANCE = re.compile(r"^(?P<mark>[CD])(?P<date>\d{6})(?P<currency>[A-Z]{3})(?P<amount>\d[\d,]*)\s*$")
_BALANCE_WITH_DOT = re.compile(r"^(?P<head>[CD]\d{6}[A-Z]{3})(?P<int>\d+)\.(?P<frac>\d*)\s*$")
_STATEMENT_LINE = re.compile(
    r"^(?P<value_date>\d{6})(?P<entry_date>\d{4}|\s{4})?"
    r"(?P<mark>R?[CD])(?P<funds_code>[A-Z])?\n?(?P<amount>\d[\d,]*)"
)
_STATEMENT_LINE_WITH_DOT = re.compile(
    r"^(?P<head>\d{6}(?:\d{4}|\s{4})?R?[CD][A-Z]?)(?P<int>\d+)\.(?P<frac>\d*)(?=[^\d.,]|$)"
)
_BALANCE_INTEGER = re.compile(r"^(?P<head>[CD]\d{6}[A-Z]{3})(?P<int>\d+)(?P<frac>)\s*$")
_STATEMENT_LINE_INTEGER = re.compile(
    r"^(?P<head>\d{6}(?:\d{4}|\s{4})?R?[CD][A-Z]?)(?P<int>\d+)(?P<frac>)(?=[A-Z]|$)"
)


@dataclass(frozen=True)
class Balance:
    """A strictly parsed balance field."""

    amount: Decimal
    """Signed, credit positive."""
    currency: str
    on: date


@dataclass(frozen=True)
class LineHead:
    """The strictly parsed start of a ``:61:`` line."""

    value_date: date
    booking_date: date
    mark: str
    amount: Decimal


def _swift_amount(text: str, where: str) -> Decimal:
    """Convert a SWIFT amount (decimal comma, exactly one) to a non-negative Decimal."""
    if text.count(",") != 1:
        raise BankFileError(f"{where}: amount {text!r} must have exactly one decimal comma")
    try:
        return Decimal(text.replace(",", "."))
    except InvalidOperation as exc:
        raise BankFileError(f"{where}: amount {text!r} is not a number") from exc


def _swift_date(yymmdd: str, where: str) -> date:
    """Convert a ``YYMMDD`` date; invalid dates such as 30 February are errors."""
    try:
        return date(_YEAR_BASE + int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:6]))
    except ValueError as exc:
        raise BankFileError(f"{where}: invalid date {yymmdd!r} ({exc})") from exc


def _entry_date(value_date: date, mmdd: str, where: str) -> date:
    """Resolve the 4-digit entry (booking) date's year from the value date, as the library does."""
    guesses = []
    for year in (value_date.year, value_date.year - 1, value_date.year + 1):
        try:
            guesses.append(date(year, int(mmdd[:2]), int(mmdd[2:])))
        except ValueError:
            continue
    if not guesses:
        raise BankFileError(f"{where}: invalid entry date {mmdd!r} (MMDD)")
    entry = guesses[0]
    if entry.year == value_date.year and abs((entry - value_date).days) >= _YEAR_BOUNDARY_DAYS:
        entry = entry.replace(year=entry.year + (1 if entry < value_date else -1))
    return entry


def normalize_amount(fld: Field, patterns: tuple[re.Pattern[str], ...], warnings: list[str]) -> None:
    """Rewrite an amount with a decimal point (``300.00``) or no comma (``500``) to SWIFT form.

    Both are unambiguous deviations seen in real files (Rabobank legacy, Knab); a dot followed
    by a comma (``1.234,56``) is left alone and fails later.
    """
    for pattern, warning in zip(patterns, _AMOUNT_WARNINGS, strict=True):
        match = pattern.match(fld.first)
        if match:
            rest = fld.first[match.end("frac") :]
            fld.lines[0] = f"{match['head']}{match['int']},{match['frac']}{rest}"
            if warning not in warnings:
                warnings.append(warning)
            return


_AMOUNT_WARNINGS = (
    "amounts use '.' as decimal separator instead of ','; read as decimal point",
    "amounts without decimal comma; read as whole units",
)
BALANCE_FIXES = (_BALANCE_WITH_DOT, _BALANCE_INTEGER)
STATEMENT_LINE_FIXES = (_STATEMENT_LINE_WITH_DOT, _STATEMENT_LINE_INTEGER)


def parse_balance(fld: Field) -> Balance:
    """Strictly parse a ``:60x:``/``:62x:``/``:64:``/``:65:`` balance field."""
    match = _BALANCE.match(fld.first)
    if not match:
        raise BankFileError(f"{fld.describe()}: malformed balance {fld.first!r}")
    amount = _swift_amount(match["amount"], fld.describe())
    return Balance(
        amount=-amount if match["mark"] == "D" else amount,
        currency=match["currency"],
        on=_swift_date(match["date"], fld.describe()),
    )


def parse_line_head(fld: Field) -> LineHead:
    """Strictly parse dates, debit/credit mark and amount at the start of a ``:61:`` line."""
    match = _STATEMENT_LINE.match("\n".join(fld.lines[:2]))
    if not match:
        raise BankFileError(f"{fld.describe()}: malformed statement line {fld.first!r}")
    where = fld.describe()
    value_date = _swift_date(match["value_date"], where)
    raw_entry = (match["entry_date"] or "").strip()
    booking_date = _entry_date(value_date, raw_entry, where) if raw_entry else value_date
    return LineHead(
        value_date=value_date,
        booking_date=booking_date,
        mark=match["mark"],
        amount=_swift_amount(match["amount"], where),
    )
