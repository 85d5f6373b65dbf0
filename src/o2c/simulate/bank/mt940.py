"""SWIFT MT940 (customer statement) and MT942 (interim transaction report) as the USD and SGD accounts' bank
sends them.

Each entry is a ``:61:`` statement line (value date, entry date, mark, amount, ``N`` + transaction type, the
payer's reference, ``//`` and the bank's reference) and a ``:86:`` of at most six lines of 65 characters in
the SWIFT character set, with structured details (the Dutch banks' ``/CODE/value`` style):
``/EREF/`` end-to-end id, ``/NAME/`` and ``/IBAN/`` counterparty, ``/OCMT/`` the original (instructed) amount
with its currency, ``/EXCH/`` the exchange rate, ``/CHGS/`` fees deducted, ``/RTRN/`` a return reason,
``/CDTRREF/`` an RF creditor reference, and ``/REMI/`` the remittance text, always last. A returned credit is
marked ``RC`` (reversal of a credit: a debit), transaction type ``RTI``.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal

from o2c.business_calendar import BUSINESS_TZ
from o2c.simulate.bank.statements import DayStatement
from o2c.simulate.model import BankEntry

LINE = 65
"""Characters per ``:86:`` line."""
LINES = 6
"""Lines per ``:86:`` field."""
_NOT_SWIFT = re.compile(r"[^A-Za-z0-9/\-?:().,'+ ]")
TYPES = {"credit": "TRF", "fee": "CHG", "supplier": "TRF", "return": "RTI", "refund": "TRF"}


def swift_text(text: str) -> str:
    """``text`` in the SWIFT X character set: anything else becomes a blank."""
    return _NOT_SWIFT.sub(" ", text)


def amount(value: Decimal) -> str:
    """A SWIFT amount: decimal comma, no thousands separator."""
    return f"{value:.2f}".replace(".", ",")


def _rate(value: Decimal) -> str:
    return f"{value.normalize():f}".replace(".", ",")


def details(entry: BankEntry) -> str:
    """The ``:86:`` text of a (single-transaction) entry, before line wrapping."""
    parts: list[tuple[str, str]] = []
    currency = entry.currency
    if entry.debit is None:
        [payment] = entry.credits
        parts.append(("EREF", payment.end_to_end_id or "NOTPROVIDED"))
        parts.append(("NAME", payment.payer_name))
        if payment.payer_account:
            parts.append(("IBAN", payment.payer_account))
        if payment.instructed_amount is not None and (payment.exchange_rate or payment.charges):
            parts.append(("OCMT", f"{payment.instructed_currency}{amount(payment.instructed_amount)}"))
        if payment.exchange_rate is not None:
            parts.append(("EXCH", _rate(payment.exchange_rate)))
        if payment.charges:
            parts.append(("CHGS", f"{currency}{amount(payment.charges)}"))
        if payment.creditor_reference:
            parts.append(("CDTRREF", payment.creditor_reference))
        parts.append(("REMI", payment.remittance))
    else:
        debit = entry.debit
        if debit.kind in ("return", "refund"):
            parts.append(("EREF", debit.reference))
        if debit.return_reason:
            parts.append(("RTRN", debit.return_reason))
        if debit.kind != "fee":
            parts.append(("NAME", debit.counterparty))
        if debit.counterparty_account:
            parts.append(("IBAN", debit.counterparty_account))
        parts.append(("REMI", debit.remittance))
    return swift_text("".join(f"/{code}/{value}" for code, value in parts))


def statement_line(entry: BankEntry) -> list[str]:
    """The ``:61:`` and ``:86:`` lines of an entry."""
    day = entry.booking_date
    if entry.debit is None:
        mark, kind, reference = "C", "credit", entry.credits[0].end_to_end_id
    else:
        debit = entry.debit
        mark = "RC" if debit.kind == "return" else "D"
        kind, reference = debit.kind, debit.reference
    customer = swift_text(reference or "NONREF")[:16].strip() or "NONREF"
    lines = [
        f":61:{day:%y%m%d}{day:%m%d}{mark}{amount(entry.amount)}N{TYPES[kind]}{customer}//{entry.reference}"
    ]
    chunks = wrap(details(entry))
    lines.append(":86:" + chunks[0])
    lines.extend(chunks[1:])
    return lines


def wrap(text: str) -> list[str]:
    """``text`` in at most :data:`LINES` lines of :data:`LINE` characters (the rest is cut off); no line
    after the first starts with ``:`` or ``-``, which would read as a new field or the message's end."""
    chunks: list[str] = []
    while text and len(chunks) < LINES:
        cut = min(LINE, len(text))
        while cut < len(text) and cut > 1 and text[cut] in ":-":
            cut -= 1
        chunks.append(text[:cut])
        text = text[cut:]
    return chunks or [""]


def _header(stmt: DayStatement, message: str) -> list[str]:
    bic = stmt.account.bic
    return [f"{{1:F01{bic}0000000000}}{{2:I{message}{bic}N}}{{4:"]


def render_mt940(stmt: DayStatement, closing_override: Decimal | None = None) -> bytes:
    """The day's statement (``closing_override``: a corrupt first transmission's closing balance)."""
    yymmdd = stmt.day.strftime("%y%m%d")
    closing = stmt.closing if closing_override is None else closing_override

    def balance(tag: str, value: Decimal) -> str:
        return f":{tag}:{'C' if value >= 0 else 'D'}{yymmdd}{stmt.currency}{amount(abs(value))}"

    lines = [
        *_header(stmt, "940"),
        f":20:STMT{stmt.day:%Y%m%d}{stmt.currency}",
        f":25:{stmt.account.iban}",
        f":28C:{stmt.seq:05d}/001",
        balance("60F", stmt.opening),
    ]
    for entry in stmt.entries:
        lines.extend(statement_line(entry))
    lines += [balance("62F", closing), "-}"]
    return ("\r\n".join(lines) + "\r\n").encode("ascii")


def render_mt942(stmt: DayStatement, until: datetime) -> bytes:
    """The intraday report at ``until``: the day's entries booked before then (the statement repeats them,
    with the same bank references), their count and sum per direction (``:90D:``, ``:90C:``)."""
    entries = [e for e in stmt.entries if e.booked_at < until]
    local = until.astimezone(BUSINESS_TZ)
    offset = local.strftime("%z")
    debits = [e.amount for e in entries if e.direction == "DBIT"]
    credits = [e.amount for e in entries if e.direction == "CRDT"]
    lines = [
        *_header(stmt, "942"),
        f":20:I{local:%y%m%d%H%M}{stmt.currency}",
        f":25:{stmt.account.iban}",
        f":28C:{stmt.seq:05d}/001",
        f":34F:{stmt.currency}0,",
        f":13D:{local:%y%m%d%H%M}{offset}",
    ]
    for entry in entries:
        lines.extend(statement_line(entry))
    lines += [
        f":90D:{len(debits)}{stmt.currency}{amount(sum(debits, Decimal(0)))}",
        f":90C:{len(credits)}{stmt.currency}{amount(sum(credits, Decimal(0)))}",
        "-}",
    ]
    return ("\r\n".join(lines) + "\r\n").encode("ascii")
