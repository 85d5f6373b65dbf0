"""Strict reading of amounts, dates and the other values of statement-level fields: balances, ``:28C:``,
``:13D:``, ``:34F:``, ``:90C:``/``:90D:``.

An amount has exactly one decimal comma; two unambiguous deviations seen in real files are read with a
warning: a decimal point (``300.00``, Rabobank legacy) and no decimal separator at all (``500``, Knab).
Dates are ``YYMMDD`` (20YY); an invalid date (30 February) is an error rather than being "fixed".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation

from o2c.sources.bank.model import BankFileError
from o2c.sources.bank.mt940.fields import Field

_YEAR_BASE = 2000
_YEAR_BOUNDARY_DAYS = 330
"""As the mt-940 library: an entry date this far from the value date is in the next or previous year."""
_CACHE_LIMIT = 50_000

DECIMAL_POINT = "amounts use '.' as decimal separator instead of ','; read as decimal point"
WHOLE_UNITS = "amounts without decimal comma; read as whole units"

_BALANCE = re.compile(r"([CD])(\d{6})([A-Z]{3})(\d[\d,.]*)\s*$")
_STATEMENT_NUMBER = re.compile(r"\s*(\d*)\s*(?:/\s*(\d*))?\s*$")
_DATE_TIME = re.compile(r"(\d{6})(\d{2})(\d{2})(?:([+-])(\d{2})(\d{2}))?\s*$")
_SUM = re.compile(r"(\d*)([A-Z]{3})(\d[\d,.]*)\s*$")
_FLOOR_LIMIT = re.compile(r"([A-Z]{3})[DC]?\d[\d,.]*\s*$")

known_dates: dict[str, date] = {}
"""``YYMMDD`` → date, for the dates read so far (a cache: a statement repeats its few dates)."""
_entry_dates: dict[tuple[date, str], date] = {}


@dataclass(frozen=True)
class Balance:
    """A strictly parsed balance field."""

    amount: Decimal
    """Signed, credit positive."""
    currency: str
    on: date


def amount_text(raw: str, fld: Field, followed_by: str = "") -> tuple[str, str | None]:
    """Check the text of an amount and bring it to SWIFT form.

    Args:
        raw: The digits, commas and points matched.
        fld: The field, for messages.
        followed_by: The character after the amount (a whole-unit amount must be followed by a letter or
            nothing, so that ``500 NTRF`` is not read as 500).

    Returns:
        The amount with a decimal comma, and the warning for a deviation that was read (or ``None``).
    """
    commas = raw.count(",")
    points = raw.count(".")
    if commas == 1 and not points:
        return raw, None
    if points == 1 and not commas:
        return raw.replace(".", ","), DECIMAL_POINT
    if not commas and not points and (not followed_by or "A" <= followed_by <= "Z"):
        return raw + ",", WHOLE_UNITS
    raise BankFileError(f"{fld.describe()}: amount {raw!r} must have exactly one decimal comma")


def swift_amount(text: str, fld: Field) -> Decimal:
    """A SWIFT amount (one decimal comma, checked by :func:`amount_text`) as a non-negative Decimal."""
    try:
        return Decimal(text.replace(",", "."))
    except InvalidOperation as exc:  # e.g. a lone ','
        raise BankFileError(f"{fld.describe()}: amount {text!r} is not a number") from exc


def swift_date(yymmdd: str, fld: Field) -> date:
    """Convert a ``YYMMDD`` date; invalid dates such as 30 February are errors."""
    known = known_dates.get(yymmdd)
    if known is not None:
        return known
    try:
        value = date(_YEAR_BASE + int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:6]))
    except ValueError as exc:
        raise BankFileError(f"{fld.describe()}: invalid date {yymmdd!r} ({exc})") from exc
    if len(known_dates) > _CACHE_LIMIT:
        known_dates.clear()
    known_dates[yymmdd] = value
    return value


def entry_date(value_date: date, mmdd: str, fld: Field) -> date:
    """Resolve the 4-digit entry (booking) date's year from the value date, as the mt-940 library does:
    the value date's year, unless that puts the two dates 330 days or more apart."""
    key = (value_date, mmdd)
    known = _entry_dates.get(key)
    if known is not None:
        return known
    guesses = []
    for year in (value_date.year, value_date.year - 1, value_date.year + 1):
        try:
            guesses.append(date(year, int(mmdd[:2]), int(mmdd[2:])))
        except ValueError:
            continue
    if not guesses:
        raise BankFileError(f"{fld.describe()}: invalid entry date {mmdd!r} (MMDD)")
    value = guesses[0]
    if value.year == value_date.year and abs((value - value_date).days) >= _YEAR_BOUNDARY_DAYS:
        value = value.replace(year=value.year + (1 if value < value_date else -1))
    if len(_entry_dates) > _CACHE_LIMIT:
        _entry_dates.clear()
    _entry_dates[key] = value
    return value


def parse_balance(fld: Field) -> tuple[Balance, str | None]:
    """Strictly parse a ``:60x:``/``:62x:``/``:64:``/``:65:`` balance field.

    Returns:
        The balance and the warning for an amount deviation that was read (or ``None``).
    """
    match = _BALANCE.match(fld.first)
    if not match:
        raise BankFileError(f"{fld.describe()}: malformed balance {fld.first!r}")
    mark, yymmdd, currency, raw = match.groups()
    text, fix = amount_text(raw, fld)
    amount = swift_amount(text, fld)
    return Balance(-amount if mark == "D" else amount, currency, swift_date(yymmdd, fld)), fix


def parse_statement_number(fld: Field) -> tuple[str | None, str | None]:
    """``(number, sequence)`` of ``:28:``/``:28C:`` (``00001/001``, ``0``, `` /1``), blanks as ``None``."""
    match = _STATEMENT_NUMBER.match(fld.first)
    if not match:
        raise BankFileError(f"{fld.describe()}: malformed statement number {fld.first!r}")
    return match.group(1) or None, match.group(2) or None


def parse_date_time(fld: Field) -> datetime:
    """``:13D:`` (``YYMMDDHHMM+HHMM``) as a datetime, time-zone aware when the offset is given."""
    match = _DATE_TIME.match(fld.first)
    if not match:
        raise BankFileError(f"{fld.describe()}: malformed date and time {fld.first!r} (YYMMDDHHMM+HHMM)")
    yymmdd, hour, minute, sign, offset_hours, offset_minutes = match.groups()
    day = swift_date(yymmdd, fld)
    zone = None
    try:
        if sign:
            offset = timedelta(hours=int(offset_hours), minutes=int(offset_minutes))
            zone = timezone(-offset if sign == "-" else offset)
        return datetime(day.year, day.month, day.day, int(hour), int(minute), tzinfo=zone)
    except ValueError as exc:
        raise BankFileError(f"{fld.describe()}: invalid date and time {fld.first!r} ({exc})") from exc


def parse_sum(fld: Field) -> tuple[int, str, Decimal, str | None]:
    """``:90C:``/``:90D:``: number of entries, currency and sum, and an amount deviation warning."""
    match = _SUM.match(fld.first)
    if not match:
        raise BankFileError(f"{fld.describe()}: malformed number and sum of entries {fld.first!r}")
    count, currency, raw = match.groups()
    text, fix = amount_text(raw, fld)
    return int(count or 0), currency, swift_amount(text, fld), fix


def floor_limit_currency(fld: Field) -> str:
    """The currency of a ``:34F:`` floor limit (``EURD0,00``, ``EUR0,``)."""
    match = _FLOOR_LIMIT.match(fld.first)
    if not match:
        raise BankFileError(f"{fld.describe()}: malformed floor limit {fld.first!r}")
    return match.group(1)
