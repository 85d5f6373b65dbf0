"""Parse SWIFT MT940 customer statement files into the normalized bank model.

The field-level parsing of balances, ``:61:`` statement lines and ``:86:`` details is done by the
maintained ``mt-940`` library (import name ``mt940``). Around it this module adds what real files
need:

* robust decoding (UTF-8, else cp1252/latin-1 with a warning) and removal of control characters
  (SOH/ETX/SUB around SWIFT messages) and of the SWIFT envelope blocks ``{1:}{2:}{3:}{4: ... -}{5:}``;
* its own tokenizer, which splits the file into statements at every ``:20:``, drops bank header
  lines (``ABNANL2A``, ``0000 01INGBNL2AXXXX00001``, ``:940:``) and statement-level ``:86:`` lines
  that follow the closing balance (ING, Zenith), and keeps line numbers for error messages;
* strict checks of the money fields: the debit/credit mark, amount and dates of every ``:61:`` and
  balance are matched with a strict pattern, invalid dates (30 February) are errors rather than
  being "fixed", and the library's reading of mark and amount must agree with the strict one.

Debit/credit marks follow the SWIFT standard: ``C`` credit, ``D`` debit, ``RC`` reversal of a
credit (a debit on the account), ``RD`` reversal of a debit (a credit on the account). The letter
after the mark is the optional funds code (third letter of the currency code), so ``DR`` is a debit
with funds code ``R``, not a reversal; the mark is always matched before the funds code.

Each ``:20:`` block is one :class:`BankStatement`; the pages of a multi-page statement
(``:60M:``/``:62M:`` intermediate balances, ``:28C: 999/1``, ``999/2``) are separate statements whose
balances must each add up.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

import mt940.tags
from mt940.models import Transactions
from mt940.options import Options

from o2c.sources.bank.model import (
    CREDIT,
    DEBIT,
    BankEntry,
    BankFileError,
    BankStatement,
    ParsedBankFile,
)

FORMAT = "mt940"

_SWIFT_LINE_WIDTH = 65
_YEAR_BASE = 2000
_YEAR_BOUNDARY_DAYS = 330  # same rule as the mt940 library for the entry date's year

# --------------------------------------------------------------------------------------------------
# Decoding and clean-up
# --------------------------------------------------------------------------------------------------

_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL_NAMES = {0x00: "NUL", 0x01: "SOH", 0x02: "STX", 0x03: "ETX", 0x1A: "SUB"}
_SWIFT_HEADER_BLOCK = re.compile(r"\{[1235]:(?:[^{}]|\{[^{}]*\})*\}")
_SWIFT_MESSAGE_TYPE = re.compile(r"\{2:[IO](\d{3})")
_LONE_COLON = re.compile(r"(?m)^:\n(?=(?:\d{2}[A-Z]?|NS[A-Z]?):)")
_MT942_TYPES = frozenset({"942"})


def decode_text(data: bytes) -> tuple[str, list[str]]:
    """Decode statement bytes: UTF-8 (BOM allowed), else cp1252, else latin-1.

    Returns:
        The text and the warnings about the encoding that had to be guessed.
    """
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16"), []
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        where = f"byte 0x{data[exc.start]:02X} at offset {exc.start}"
    try:
        text, encoding = data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        text, encoding = data.decode("latin-1"), "latin-1"
    return text, [f"not valid UTF-8 ({where}); decoded as {encoding}, accents may be wrong"]


def _strip_control_chars(text: str) -> tuple[str, list[str]]:
    """Remove control characters other than tab and line breaks."""
    found = _CONTROL_CHARS.findall(text)
    if not found:
        return text, []
    names = sorted({_CONTROL_NAMES.get(ord(c), f"0x{ord(c):02X}") for c in found})
    warning = f"removed {len(found)} control character(s) ({', '.join(names)})"
    return _CONTROL_CHARS.sub("", text), [warning]


def _strip_swift_envelope(text: str) -> tuple[str, set[str]]:
    """Remove SWIFT FIN blocks 1, 2, 3 and 5 and the block 4 delimiters.

    Returns:
        The text with one statement message per ``-``-terminated section, and the message types
        named in block 2 headers (e.g. ``{"940"}``).
    """
    message_types = set(_SWIFT_MESSAGE_TYPE.findall(text))
    text = _SWIFT_HEADER_BLOCK.sub("\n", text)
    text = text.replace("{4:", "\n").replace("-}", "\n-\n")
    return text, message_types


def _normalize_newlines(text: str) -> str:
    """Use ``\\n`` line breaks and rejoin a tag whose leading colon sits on its own line."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _LONE_COLON.sub(":", text)


def clean_text(data: bytes) -> tuple[str, set[str], list[str]]:
    """Decode and clean raw MT940 bytes.

    Returns:
        The cleaned text, the SWIFT message types found in block 2 headers, and warnings.
    """
    text, warnings = decode_text(data)
    text, control_warnings = _strip_control_chars(text)
    text, message_types = _strip_swift_envelope(text)
    return _normalize_newlines(text), message_types, warnings + control_warnings


# --------------------------------------------------------------------------------------------------
# Tokenizer: fields and statement blocks
# --------------------------------------------------------------------------------------------------

_TAG_LINE = re.compile(r"^:(?P<tag>\d{2}[A-Z]?|NS[A-Z]?):(?P<value>.*)$")
_KNOWN_TAG_BASES = frozenset(str(key)[:2] for key in mt940.tags.TAG_BY_ID)
_OPENING_TAGS = frozenset({"60", "60F", "60M"})
_CLOSING_TAGS = frozenset({"62", "62F", "62M"})
_AVAILABLE_TAGS = frozenset({"64", "65", "65F"})
_MT942_TAG_BASES = frozenset({"13", "34", "90"})


@dataclass
class _Field:
    """One tag with its value lines and the line number where it starts."""

    tag: str
    lines: list[str]
    line_no: int

    @property
    def first(self) -> str:
        """The first value line (the one holding the tag)."""
        return self.lines[0]

    def describe(self) -> str:
        """``:TAG: (line N)`` for messages."""
        return f":{self.tag}: (line {self.line_no})"


@dataclass
class _EntryFields:
    """A ``:61:`` statement line and the ``:86:`` fields that belong to it."""

    line: _Field
    details: list[_Field] = field(default_factory=list)


@dataclass
class _Block:
    """The fields of one statement (from one ``:20:`` to the next)."""

    reference: _Field
    account: _Field | None = None
    number: _Field | None = None
    opening: _Field | None = None
    closing: _Field | None = None
    entries: list[_EntryFields] = field(default_factory=list)
    mt942_tags: list[_Field] = field(default_factory=list)


def _is_known_tag(tag: str) -> bool:
    """Whether the mt940 library knows the tag; unknown ones (``:12:``) are plain text."""
    return tag[:2] in _KNOWN_TAG_BASES


def tokenize(text: str) -> list[_Field]:
    """Split cleaned MT940 text into fields.

    Lines that are not tags continue the current field. A line holding only ``-`` ends a SWIFT
    message; text after it up to the next tag (bank header lines) is skipped, as is text before
    the first tag. Empty lines are dropped.
    """
    fields: list[_Field] = []
    current: _Field | None = None
    for line_no, line in enumerate(text.split("\n"), start=1):
        match = _TAG_LINE.match(line)
        if match and _is_known_tag(match["tag"]):
            current = _Field(match["tag"], [match["value"]], line_no)
            fields.append(current)
        elif line.strip() == "-":
            current = None
        elif current is not None and line.strip():
            current.lines.append(line)
    return fields


def split_statements(fields: list[_Field]) -> tuple[list[list[_Field]], list[_Field]]:
    """Group fields into statements, each starting at a ``:20:``.

    Returns:
        The statement field lists and the fields found before the first ``:20:``.
    """
    blocks: list[list[_Field]] = []
    leading: list[_Field] = []
    for fld in fields:
        if fld.tag == "20":
            blocks.append([fld])
        elif blocks:
            blocks[-1].append(fld)
        else:
            leading.append(fld)
    return blocks, leading


def _set_once(block: _Block, attr: str, fld: _Field, what: str) -> None:
    """Set a statement-level field, rejecting a second occurrence."""
    existing = getattr(block, attr)
    if existing is not None:
        raise BankFileError(
            f"statement at line {block.reference.line_no}: second {what} {fld.describe()}"
            f" after {existing.describe()}; statements must be separated by :20:"
        )
    setattr(block, attr, fld)


def assemble_block(fields: list[_Field]) -> _Block:
    """Assign the fields of one ``:20:`` block to their roles.

    A ``:86:`` belongs to the preceding ``:61:``; a ``:86:`` after a balance (the statement-level
    information some banks append after ``:62F:``) or before any ``:61:`` is ignored.
    """
    block = _Block(reference=fields[0])
    attach_details = False
    for fld in fields[1:]:
        base = fld.tag[:2]
        if fld.tag == "25":
            _set_once(block, "account", fld, "account identification")
        elif base == "28":
            _set_once(block, "number", fld, "statement number")
        elif fld.tag in _OPENING_TAGS:
            _set_once(block, "opening", fld, "opening balance")
        elif fld.tag in _CLOSING_TAGS:
            _set_once(block, "closing", fld, "closing balance")
        elif fld.tag == "61":
            if block.closing is not None:
                raise BankFileError(
                    f"statement at line {block.reference.line_no}: statement line"
                    f" {fld.describe()} after the closing balance {block.closing.describe()}"
                )
            block.entries.append(_EntryFields(fld))
            attach_details = True
            continue
        elif fld.tag == "86":
            if attach_details:
                block.entries[-1].details.append(fld)
            continue
        elif base == "NS":
            continue  # bank-specific free text; does not end the entry
        elif base in _MT942_TAG_BASES:
            block.mt942_tags.append(fld)
        attach_details = False
    return block


# --------------------------------------------------------------------------------------------------
# Strict checks of money fields
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
_STATEMENT_NUMBER = re.compile(r"^\s*(?P<number>\d*)\s*(?:/\s*(?P<sequence>\d*))?\s*$")


@dataclass(frozen=True)
class _Balance:
    """A strictly parsed balance field."""

    amount: Decimal
    """Signed, credit positive."""
    currency: str
    on: date


@dataclass(frozen=True)
class _LineHead:
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


def _normalize_amount(fld: _Field, patterns: tuple[re.Pattern[str], ...], warnings: list[str]) -> None:
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
_BALANCE_FIXES = (_BALANCE_WITH_DOT, _BALANCE_INTEGER)
_STATEMENT_LINE_FIXES = (_STATEMENT_LINE_WITH_DOT, _STATEMENT_LINE_INTEGER)


def parse_balance(fld: _Field) -> _Balance:
    """Strictly parse a ``:60x:``/``:62x:``/``:64:``/``:65:`` balance field."""
    match = _BALANCE.match(fld.first)
    if not match:
        raise BankFileError(f"{fld.describe()}: malformed balance {fld.first!r}")
    amount = _swift_amount(match["amount"], fld.describe())
    return _Balance(
        amount=-amount if match["mark"] == "D" else amount,
        currency=match["currency"],
        on=_swift_date(match["date"], fld.describe()),
    )


def parse_line_head(fld: _Field) -> _LineHead:
    """Strictly parse dates, debit/credit mark and amount at the start of a ``:61:`` line."""
    match = _STATEMENT_LINE.match("\n".join(fld.lines[:2]))
    if not match:
        raise BankFileError(f"{fld.describe()}: malformed statement line {fld.first!r}")
    where = fld.describe()
    value_date = _swift_date(match["value_date"], where)
    raw_entry = (match["entry_date"] or "").strip()
    booking_date = _entry_date(value_date, raw_entry, where) if raw_entry else value_date
    return _LineHead(
        value_date=value_date,
        booking_date=booking_date,
        mark=match["mark"],
        amount=_swift_amount(match["amount"], where),
    )


# --------------------------------------------------------------------------------------------------
# The mt940 library, configured
# --------------------------------------------------------------------------------------------------


class StatementNumber(mt940.tags.StatementNumber):
    """``:28C:`` accepting over-long numbers and a blank statement number (``" /1"``)."""

    pattern: ClassVar[str] = _STATEMENT_NUMBER.pattern


class TolerantStatement(mt940.tags.Statement):
    """``:61:`` trying the library's standard, GLS and ASN patterns in turn.

    GLS and ASN banks put more than 16 characters (an IBAN) into the customer reference. Only the
    references depend on the pattern chosen; mark, amount and dates are checked independently.
    """

    _patterns: ClassVar[tuple[re.Pattern[str], ...]] = tuple(
        re.compile(cls.pattern, mt940.tags.Tag.RE_FLAGS)
        for cls in (mt940.tags.Statement, mt940.tags.StatementGLS, mt940.tags.StatementASNB)
    )

    def parse(self, transactions: Transactions, value: str) -> dict[str, str | None]:
        """Match ``value`` against each pattern; raise RuntimeError when none fits."""
        del transactions
        for pattern in self._patterns:
            match = pattern.match(value)
            if match:
                return match.groupdict()
        raise RuntimeError(f"no :61: pattern of the mt940 library matches {value!r}")


def _stash_statement_line(
    transactions: Transactions, tag: Any, tag_dict: dict[str, Any], result: dict[str, Any]
) -> dict[str, Any]:
    """Keep the ``:61:`` references under private keys, before ``:86:`` sub-fields merge in."""
    del transactions, tag, tag_dict
    for key in ("customer_reference", "bank_reference", "id", "extra_details", "status"):
        result[f"swift_{key}"] = result.get(key)
    return result


_LIBRARY_OPTIONS = Options(
    applicant_iban=True,
    merge_keeps_values=True,
    reversal_sign=True,
    case_insensitive_marks=True,
    unbounded_details=True,
    non_swift_free_text=True,
    gvc_leading_text=True,
    strip_bom=True,
)
_LIBRARY_TAGS: dict[int | str, mt940.tags.Tag] = {
    28: StatementNumber(),
    61: TolerantStatement(),
}
# Our :61: tag has its own slug, so the library's date "fix-up" of 30 February does not run.
_LIBRARY_PROCESSORS: dict[str, list[Any]] = {
    f"pre_{_LIBRARY_TAGS[61].slug}": [],
    f"post_{_LIBRARY_TAGS[61].slug}": [_stash_statement_line],
}


def _library_parse(text: str) -> Transactions:
    """Run the mt940 library on a small, already validated piece of MT940."""
    transactions = Transactions(processors=_LIBRARY_PROCESSORS, tags=_LIBRARY_TAGS, options=_LIBRARY_OPTIONS)
    transactions.parse(text)
    return transactions


def _describe_library_error(exc: Exception) -> str:
    """Readable text for an exception raised inside the mt940 library."""
    if isinstance(exc, RuntimeError) and len(exc.args) >= 3:
        return f"the mt940 library cannot parse {exc.args[2]!r}"
    return f"the mt940 library failed: {type(exc).__name__}: {exc}"


# --------------------------------------------------------------------------------------------------
# :86: details
# --------------------------------------------------------------------------------------------------

_SUBFIELD_DETAILS = re.compile(r"^(?:\d{3}[?>]\d{2}|/[A-Z]{2,9}/)")
"""German ``?NN`` / Triodos ``>NN`` sub-fields, or Dutch ``/TAG/`` structured details."""
_IBAN = re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9]{10,30}$")
_STRUCTURED_KEYS = (
    "TRTP|IBAN|BIC|NAME|REMI|EREF|ORDP|BENM|ADDR|CSID|MARF|PREF|RTRN|ISDT|CNTP|SVCL|PURP"
    "|ULTC|ULTD|ULTB|BUSP|OCMT|CHGS|EXCH|CDTRREFTP|CDTRREF|TRCD|ID"
)
_STRUCTURED_TOKEN = re.compile(rf"/({_STRUCTURED_KEYS})/")
_STRUCTURED_KEY_SET = frozenset(_STRUCTURED_KEYS.split("|"))
_ACCOUNT = re.compile(r"^(?:[A-Z]{2}\d{2}[A-Z0-9]{10,30}|\d{7,18})$")
_NOT_PROVIDED = frozenset({"", "NONREF", "NOTPROVIDED", "NONE"})


def _join_lines(lines: list[str], first_offset: int, hard_wrap_only: bool) -> str:
    """Join wrapped lines: no space after a full-width (65) line, else one space."""
    text = lines[0]
    full_width = len(lines[0]) + first_offset >= _SWIFT_LINE_WIDTH
    for line in lines[1:]:
        text = f"{text}{line}" if hard_wrap_only or full_width else f"{text.rstrip()} {line}"
        full_width = len(line) >= _SWIFT_LINE_WIDTH
    return " ".join(text.split())


def join_details(details: list[_Field]) -> str | None:
    """Join the lines of the ``:86:`` fields of an entry into one string.

    SWIFT wraps ``:86:`` at 65 characters regardless of words, so a full-width line continues
    without a space; shorter lines were broken on purpose and are joined with a space.
    Sub-field formats (German ``?NN``, Triodos ``>NN``, Dutch ``/TAG/``) are hard-wrapped
    anywhere, even mid-word on short lines, so their lines are always joined without a space.
    Runs of blanks become one blank.
    """
    parts = []
    for fld in details:
        lines = [line for line in fld.lines if line.strip()]
        if lines:
            sub_fields = bool(_SUBFIELD_DETAILS.match(lines[0]))
            parts.append(_join_lines(lines, len(fld.tag) + 2, sub_fields))
    joined = " ".join(part for part in parts if part)
    return joined or None


def parse_structured_details(text: str) -> dict[str, str]:
    """Split Dutch-style structured details (``/CNTP/…/REMI/…/EREF/…``) into key → value."""
    if not text.startswith("/"):
        return {}
    tokens = _STRUCTURED_TOKEN.split(text)
    # tokens: [prefix, key1, value1, key2, value2, ...]
    values: dict[str, str] = {}
    for key, value in zip(tokens[1::2], tokens[2::2], strict=True):
        values.setdefault(key, value.strip().rstrip("/").strip())
    return values


def _counterparty_from_structured(values: dict[str, str]) -> tuple[str | None, str | None]:
    """Counterparty (name, account) from structured details."""
    if "CNTP" in values:
        parts = [p.strip() for p in values["CNTP"].split("/")]
        account = parts[0] if parts and parts[0] else None
        name = parts[2] if len(parts) > 2 and parts[2] else None
        return name, account
    return values.get("NAME") or None, values.get("IBAN") or None


def _clean_ref(value: object) -> str | None:
    """A reference as a stripped string, or None for empty/``NONREF``/``NOTPROVIDED``."""
    if not isinstance(value, str):
        return None
    text = " ".join(value.split())
    return None if text.upper() in _NOT_PROVIDED else text


# --------------------------------------------------------------------------------------------------
# Entries and statements
# --------------------------------------------------------------------------------------------------

_DIRECTIONS = {"C": (CREDIT, False), "D": (DEBIT, False), "RC": (DEBIT, True), "RD": (CREDIT, True)}


def _render_entry(entry: _EntryFields) -> str:
    """MT940 text of one ``:61:`` (supplementary lines joined) and its ``:86:`` fields."""
    line = entry.line.lines
    head = line[0] if len(line) == 1 else f"{line[0]}\n{' '.join(s.strip() for s in line[1:])}"
    details = "".join(f"\n:86:{chr(10).join(fld.lines)}" for fld in entry.details)
    return f":61:{head}{details}"


def _library_entry(entry: _EntryFields) -> dict[str, Any]:
    """Parse one entry with the library and return its transaction data."""
    try:
        transactions = _library_parse(_render_entry(entry))
    except Exception as exc:
        raise BankFileError(f"{entry.line.describe()}: {_describe_library_error(exc)}") from exc
    if len(transactions.transactions) != 1:
        raise BankFileError(f"{entry.line.describe()}: the mt940 library found no single entry")
    return transactions.transactions[0].data


def _check_library_agrees(entry: _EntryFields, head: _LineHead, data: dict[str, Any]) -> None:
    """The library's mark and amount must equal the strict reading."""
    amount = data.get("amount")
    library_amount = abs(amount.amount) if amount is not None else None
    if data.get("swift_status") != head.mark or library_amount != head.amount:
        raise BankFileError(
            f"{entry.line.describe()}: ambiguous statement line {entry.line.first!r}:"
            f" read as {head.mark} {head.amount}, the mt940 library reads"
            f" {data.get('swift_status')} {library_amount}"
        )


def _references(
    data: dict[str, Any], structured: dict[str, str]
) -> tuple[str | None, str | None, str | None]:
    """Customer reference, counterparty name and counterparty account of an entry.

    Sources, in order: German ``?NN`` sub-fields (parsed by the library), Dutch ``/TAG/``
    details, and two bank habits on the ``:61:`` line itself: ASN/SNS put the counterparty IBAN
    into the customer reference and its name on the supplementary line; Rabobank puts the
    counterparty account on the supplementary line and a placeholder such as ``EREF`` into the
    customer reference, meaning "see /EREF/ in :86:".
    """
    reference = _clean_ref(data.get("swift_customer_reference"))
    extra = _clean_ref(data.get("swift_extra_details"))
    if "applicant_name" in data or "applicant_iban" in data:
        name, account = (
            _clean_ref(data.get("applicant_name")),
            _clean_ref(data.get("applicant_iban")),
        )
    else:
        name, account = _counterparty_from_structured(structured)
    if reference and _IBAN.match(reference):
        account, name, reference = account or reference, name or extra, None
    elif extra and _ACCOUNT.match(extra):
        account = account or extra
    if reference and reference.upper() in _STRUCTURED_KEY_SET:
        reference = _clean_ref(structured.get(reference.upper()))
    reference = (
        reference or _clean_ref(data.get("end_to_end_reference")) or _clean_ref(structured.get("EREF"))
    )
    return reference, name, account


def build_entry(entry: _EntryFields, seq: int, currency: str) -> BankEntry:
    """Build a :class:`BankEntry` from a ``:61:`` and its ``:86:`` fields."""
    head = parse_line_head(entry.line)
    data = _library_entry(entry)
    _check_library_agrees(entry, head, data)
    direction, is_reversal = _DIRECTIONS[head.mark]
    remittance = join_details(entry.details)
    structured = parse_structured_details(remittance or "")
    customer_reference, name, account = _references(data, structured)
    return BankEntry(
        entry_seq=seq,
        booking_date=head.booking_date,
        value_date=head.value_date,
        amount=head.amount,
        currency=currency,
        direction=direction,
        is_reversal=is_reversal,
        bank_reference=_clean_ref(data.get("swift_bank_reference")),
        customer_reference=customer_reference,
        counterparty_name=name,
        counterparty_account=account,
        remittance_info=remittance,
        transaction_code=_clean_ref(data.get("swift_id")),
    )


def _library_balance(fld: _Field, strict: _Balance) -> _Balance:
    """Parse a balance with the library and check it against the strict reading."""
    try:
        transactions = _library_parse(f":{fld.tag}:{fld.first}")
    except Exception as exc:
        raise BankFileError(f"{fld.describe()}: {_describe_library_error(exc)}") from exc
    balances = [v for k, v in transactions.data.items() if k.endswith("balance")]
    amount = getattr(getattr(balances[0], "amount", None), "amount", None) if balances else None
    if amount != strict.amount:
        raise BankFileError(
            f"{fld.describe()}: ambiguous balance {fld.first!r}: read as {strict.amount},"
            f" the mt940 library reads {amount}"
        )
    return strict


def _statement_number(block: _Block) -> tuple[str | None, str | None]:
    """``(number, sequence)`` from ``:28:``/``:28C:``, blanks as None."""
    if block.number is None:
        return None, None
    match = _STATEMENT_NUMBER.match(block.number.first)
    if not match:
        raise BankFileError(f"{block.number.describe()}: malformed statement number {block.number.first!r}")
    return match["number"] or None, match["sequence"] or None


def _statement_identity(block: _Block) -> tuple[str, str | None, str]:
    """``(statement_id, sequence, account_id)`` of a block."""
    reference = block.reference.first.strip()
    number, sequence = _statement_number(block)
    statement_id = number or reference or f"line {block.reference.line_no}"
    account = block.account.first.strip() if block.account else ""
    if not account:
        raise BankFileError(
            f"statement {statement_id} (line {block.reference.line_no}): no :25: account identification"
        )
    return statement_id, sequence, account


def _statement_currency(label: str, opening: _Balance | None, closing: _Balance | None) -> str:
    """The statement currency, from its balances, which must agree."""
    if opening and closing and opening.currency != closing.currency:
        raise BankFileError(
            f"{label}: opening balance currency {opening.currency}"
            f" differs from closing balance currency {closing.currency}"
        )
    balance = opening or closing
    if balance is None:
        raise BankFileError(
            f"{label}: no :60: opening and no :62: closing balance, so the currency is unknown"
        )
    return balance.currency


def _parse_balances(block: _Block) -> tuple[_Balance | None, _Balance | None]:
    """Strictly parse the opening and closing balances of a block."""
    opening = _library_balance(block.opening, parse_balance(block.opening)) if block.opening else None
    closing = _library_balance(block.closing, parse_balance(block.closing)) if block.closing else None
    return opening, closing


def build_statement(block: _Block) -> BankStatement:
    """Build a :class:`BankStatement` from an assembled block."""
    statement_id, sequence, account = _statement_identity(block)
    seq_text = f"/{sequence}" if sequence else ""
    label = f"statement {statement_id}{seq_text} of account {account}"
    opening, closing = _parse_balances(block)
    currency = _statement_currency(label, opening, closing)
    entries = tuple(build_entry(entry, seq, currency) for seq, entry in enumerate(block.entries, start=1))
    return BankStatement(
        statement_id=statement_id,
        sequence=sequence,
        account_id=account,
        currency=currency,
        opening_balance=opening.amount if opening else Decimal(0),
        opening_date=opening.on if opening else None,
        closing_balance=closing.amount if closing else Decimal(0),
        closing_date=closing.on if closing else None,
        entries=entries,
        has_opening_balance=opening is not None,
        has_closing_balance=closing is not None,
    )


# --------------------------------------------------------------------------------------------------
# File level
# --------------------------------------------------------------------------------------------------


def _reject_mt942(message_types: set[str], blocks: list[_Block]) -> None:
    """Reject MT942 interim transaction reports: they are not statements."""
    if message_types & _MT942_TYPES:
        raise BankFileError("SWIFT header says MT942: interim transaction reports are not statements")
    for block in blocks:
        if block.mt942_tags and block.opening is None and block.closing is None:
            tags = ", ".join(sorted({f":{f.tag}:" for f in block.mt942_tags}))
            raise BankFileError(
                f"statement at line {block.reference.line_no} is an MT942 interim transaction"
                f" report ({tags}, no :60:/:62: balances), not a statement"
            )


def _no_statement_reason(fields: list[_Field]) -> str:
    """Explain why a file without ``:20:`` holds no statement."""
    if not fields:
        return "no MT940 tags found"
    tags = ", ".join(sorted({f":{f.tag}:" for f in fields}))
    return f"no statement: no :20: transaction reference, only fragments ({tags})"


def _prepare_blocks(text: str, warnings: list[str]) -> list[_Block]:
    """Tokenize and assemble statement blocks, normalizing decimal points."""
    fields = tokenize(text)
    for fld in fields:
        if fld.tag in _OPENING_TAGS | _CLOSING_TAGS | _AVAILABLE_TAGS:
            _normalize_amount(fld, _BALANCE_FIXES, warnings)
        elif fld.tag == "61":
            _normalize_amount(fld, _STATEMENT_LINE_FIXES, warnings)
    groups, leading = split_statements(fields)
    if not groups:
        raise BankFileError(_no_statement_reason(fields))
    if leading:
        tags = ", ".join(f.describe() for f in leading[:3])
        warnings.append(f"ignored {len(leading)} tag(s) before the first :20: ({tags})")
    return [assemble_block(group) for group in groups]


def _block_warnings(block: _Block, statement: BankStatement) -> list[str]:
    """Warnings about a block that was parsed despite oddities."""
    if block.mt942_tags:
        tags = ", ".join(sorted({f":{f.tag}:" for f in block.mt942_tags}))
        return [f"{statement.label}: ignored MT942 tags {tags}"]
    return []


def parse_mt940(data: bytes, name: str) -> ParsedBankFile:
    """Parse an MT940 file.

    Args:
        data: The raw file content.
        name: The file name, used in error messages.

    Returns:
        The statements in file order, not yet balance-validated
        (see :func:`o2c.sources.bank.parse.parse_bank_file`).

    Raises:
        BankFileError: The file cannot be read unambiguously; ``reason`` says why and where.
    """
    try:
        text, message_types, warnings = clean_text(data)
        blocks = _prepare_blocks(text, warnings)
        _reject_mt942(message_types, blocks)
        statements = []
        for block in blocks:
            statement = build_statement(block)
            warnings.extend(_block_warnings(block, statement))
            statements.append(statement)
    except BankFileError as exc:
        if exc.file_name:
            raise
        raise BankFileError(exc.reason, name) from exc
    except Exception as exc:
        raise BankFileError(f"unexpected {type(exc).__name__}: {exc}", name) from exc
    return ParsedBankFile(FORMAT, None, tuple(statements), tuple(warnings))
