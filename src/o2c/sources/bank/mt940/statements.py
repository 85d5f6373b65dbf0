"""Read the statements (MT940) and interim reports (MT942) of a file one at a time, each ``:20:`` block
a :class:`~o2c.sources.bank.model.StatementStream`.

A block's head (``:20:``, ``:21:``, ``:25:``/``:25P:``, ``:28C:``, ``:60F:``/``:60M:``, ``:13D:``,
``:34F:``) is read up to its first entry; then the entries stream: a ``:61:`` is built into an entry once
the field after its ``:86:`` details arrives. The tail (``:62F:``/``:62M:`` closing balance, ``:64:``
available balance, ``:90D:``/``:90C:`` number and sum of debits and credits) comes after the entries.
A ``:86:`` after a balance (the statement-level information some banks append after ``:62F:``) or before
any ``:61:`` is ignored, as is ``:NS:`` (bank-specific free text) and ``:65:`` (forward available
balances). The pages of a multi-page statement (``:60M:``/``:62M:``, ``:28C: 999/1``, ``999/2``) are
separate reports.

The currency of a report is that of its opening balance (MT940) or floor limit (MT942 ``:34F:``). A block
without either is read ahead to its end for the closing balance or the ``:90C:``/``:90D:`` totals; only
such a block is held in memory.

A block is an MT942 interim report when its SWIFT header says so (``{2:I942…}``/``{2:O942…}``) or, without
a header, when it has ``:13D:``/``:34F:`` and no opening balance (or, read ahead, ``:90C:``/``:90D:`` and
no balances at all); otherwise it is an MT940 statement. A file must hold one kind: a file mixing them is
rejected, since a bank sends its interim reports and its statements as separate files.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from o2c.sources.bank.model import (
    REPORT_INTRADAY,
    REPORT_STATEMENT,
    Balance,
    BankEntry,
    BankFileError,
    StatedTotals,
    StatementHead,
    StatementStream,
    StatementTail,
)
from o2c.sources.bank.mt940 import money
from o2c.sources.bank.mt940.entries import build_entry
from o2c.sources.bank.mt940.fields import MESSAGE_TYPE, Field, FieldReader
from o2c.sources.bank.mt940.notes import Notes

MT940 = "mt940"
MT942 = "mt942"
REPORT_KINDS = {MT940: REPORT_STATEMENT, MT942: REPORT_INTRADAY}
NOUNS = {MT940: "MT940 statement", MT942: "MT942 interim report"}

OPENING_TAGS = frozenset({"60", "60F", "60M"})
CLOSING_TAGS = frozenset({"62", "62F", "62M"})
_ACCOUNT_TAGS = frozenset({"25", "25P"})
_ENTRY_PART_TAGS = frozenset({"61", "62", "62F", "62M", "64", "65", "90", "90C", "90D"})
"""Tags that end a head: entries and what follows them."""
_IGNORED = frozenset({"21", "65", "65F", "86"})


class Block:
    """The statement-level fields of one ``:20:`` block, as they are read."""

    __slots__ = (
        "account",
        "available",
        "closing",
        "created_at",
        "credits",
        "debits",
        "floor_limit",
        "message_type",
        "number",
        "opening",
        "reference",
    )

    def __init__(self, reference: Field, message_type: Field | None) -> None:
        self.reference = reference
        self.message_type = message_type
        self.account: Field | None = None
        self.number: Field | None = None
        self.opening: Field | None = None
        self.closing: Field | None = None
        self.available: Field | None = None
        self.created_at: Field | None = None
        self.floor_limit: Field | None = None
        self.debits: Field | None = None
        self.credits: Field | None = None

    def take(self, fld: Field) -> None:
        """Keep a statement-level field; a second account, number, balance or total is an error."""
        tag = fld.tag
        if tag in _ACCOUNT_TAGS:
            self._set_once("account", fld, "account identification")
        elif tag[:2] == "28":
            self._set_once("number", fld, "statement number")
        elif tag in OPENING_TAGS:
            self._set_once("opening", fld, "opening balance")
        elif tag in CLOSING_TAGS:
            self._set_once("closing", fld, "closing balance")
        elif tag == "90D":
            self._set_once("debits", fld, "number and sum of debits")
        elif tag == "90C":
            self._set_once("credits", fld, "number and sum of credits")
        elif tag[:2] == "13":
            self._set_once("created_at", fld, "date-time indication")
        elif tag[:2] == "34":
            self.floor_limit = self.floor_limit or fld  # debit and credit floor limits: same currency
        elif tag == "64":
            self.available = self.available or fld

    def _set_once(self, attr: str, fld: Field, what: str) -> None:
        existing: Field | None = getattr(self, attr)
        if existing is not None:
            raise BankFileError(
                f"statement at line {self.reference.line_no}: second {what} {fld.describe()}"
                f" after {existing.describe()}; statements must be separated by :20:"
            )
        setattr(self, attr, fld)


def _kind(block: Block, ahead: list[Field] | None) -> tuple[str, str]:
    """The message type of a block and why."""
    if block.message_type is not None:
        header = block.message_type.first
        return (MT942 if header == "942" else MT940), f"SWIFT header says MT{header}"
    if block.opening is not None:
        return MT940, f"opening balance {block.opening.describe()}"
    head_tags = [f for f in (block.created_at, block.floor_limit) if f is not None]
    if head_tags:
        return MT942, f"{', '.join(f.describe() for f in head_tags)} and no opening balance"
    for fld in ahead or ():
        if fld.tag in CLOSING_TAGS:
            return MT940, f"closing balance {fld.describe()}"
        if fld.tag in ("90C", "90D"):
            return MT942, f"{fld.describe()} and no balances"
    return MT940, "no MT942 tags"


class StatementReader:
    """Reads the blocks of a file into :class:`StatementStream` objects (see the module docstring)."""

    def __init__(self, fields: FieldReader, notes: Notes) -> None:
        self._fields = fields
        self._notes = notes
        self._message_type: Field | None = None
        self.format: str | None = None
        """The message type of the first block, which every other block must share."""
        self._first_label = ""

    def statements(self) -> Iterator[StatementStream]:
        """The reports in file order; each is consumed (entries, tail) before the next is read."""
        reference: Field | None = self._first_reference()
        while reference is not None:
            statement = self._statement(reference)
            yield statement
            statement.tail  # noqa: B018 - reads what the consumer left of the block
            reference = self._next_reference()

    def _first_reference(self) -> Field:
        """Skip to the first ``:20:``; warn about the tags before it, or say why there is none."""
        skipped: list[Field] = []
        tags: set[str] = set()
        while True:
            fld = self._fields.next()
            if fld is None:
                if not tags:
                    raise BankFileError("no MT940/MT942 tags found")
                raise BankFileError(
                    "no statement: no :20: transaction reference, only fragments"
                    f" ({', '.join(f':{tag}:' for tag in sorted(tags))})"
                )
            if fld.tag == "20":
                if tags:
                    described = ", ".join(f.describe() for f in skipped)
                    self._notes.add(
                        f"ignored the tag(s) {', '.join(sorted(tags))} before the first :20: ({described})"
                    )
                return fld
            if fld.tag == MESSAGE_TYPE:
                self._message_type = fld
                continue
            tags.add(fld.tag)
            if len(skipped) < 3:
                skipped.append(fld)

    def _next_reference(self) -> Field | None:
        """The ``:20:`` that starts the next block (the previous block read up to it), or ``None``."""
        while True:
            fld = self._fields.next()
            if fld is None or fld.tag == "20":
                return fld
            if fld.tag == MESSAGE_TYPE:
                self._message_type = fld

    def _read_head(self, block: Block) -> None:
        """Read a block's fields up to its first entry (or balance after the entries)."""
        while True:
            fld = self._fields.next()
            if fld is None:
                return
            tag = fld.tag
            if tag == "20" or tag in _ENTRY_PART_TAGS:
                self._fields.push(fld)
                return
            if tag == MESSAGE_TYPE:
                self._message_type = fld
            elif tag not in _IGNORED and tag[:2] != "NS":
                block.take(fld)

    def _read_ahead(self) -> list[Field]:
        """The rest of the block (put back, to be read again)."""
        ahead = []
        while True:
            fld = self._fields.next()
            if fld is None:
                break
            if fld.tag == "20":
                self._fields.push(fld)
                break
            ahead.append(fld)
        self._fields.push(*ahead)
        return ahead

    def _statement(self, reference: Field) -> StatementStream:
        """The stream of one block, its head read."""
        block = Block(reference, self._message_type)
        self._message_type = None
        self._read_head(block)
        ahead = None
        if block.opening is None and block.floor_limit is None:
            ahead = self._read_ahead()
        kind, why = _kind(block, ahead)
        statement_id, sequence, account_id, account_bic = _identity(block)
        seq_text = f"/{sequence}" if sequence else ""
        label = f"{NOUNS[kind]} {statement_id}{seq_text} of account {account_id} (line {reference.line_no})"
        self._check_kind(kind, why, label)
        opening = self._balance(block.opening) if block.opening else None
        currency, source = _currency(block, opening, ahead, label, kind)
        head = StatementHead(
            statement_id=statement_id,
            sequence=sequence,
            account_id=account_id,
            currency=currency,
            opening=Balance(opening.amount, opening.on) if opening else None,
            report_kind=REPORT_KINDS[kind],
            message_id=reference.first.strip() or None,
            created_at=money.parse_date_time(block.created_at) if block.created_at else None,
            account_bic=account_bic,
        )
        state = _Entries(self._fields, block, currency, source, self._notes, head.label, self)
        return StatementStream(head, state.entries(), state.tail)

    def _check_kind(self, kind: str, why: str, label: str) -> None:
        """The first block sets the file's message type; another type in the same file is an error."""
        if self.format is None:
            self.format, self._first_label = kind, f"{label}, {why}"
        elif kind != self.format:
            raise BankFileError(
                f"the file mixes MT940 statements and MT942 interim reports: {label} is an"
                f" {NOUNS[kind]} ({why}), but the file begins with an {NOUNS[self.format]}"
                f" ({self._first_label}); a bank sends each kind as a file of its own"
            )

    def _balance(self, fld: Field) -> money.Balance:
        """A strictly parsed balance, with the warning for an amount deviation."""
        balance, fix = money.parse_balance(fld)
        if fix is not None:
            self._notes.once(fix)
        return balance

    def set_message_type(self, fld: Field) -> None:
        """Remember a SWIFT header met inside a block: it applies to the next block."""
        self._message_type = fld


def _identity(block: Block) -> tuple[str, str | None, str, str | None]:
    """``(statement_id, sequence, account_id, account_bic)`` of a block."""
    reference = block.reference.first.strip()
    number, sequence = money.parse_statement_number(block.number) if block.number else (None, None)
    statement_id = number or reference or f"line {block.reference.line_no}"
    account = block.account.first.strip() if block.account else ""
    if not account:
        raise BankFileError(
            f"statement {statement_id} (line {block.reference.line_no}): no :25: account identification"
        )
    bic = None
    if block.account is not None and block.account.tag == "25P" and len(block.account.lines) > 1:
        bic = block.account.lines[1].strip() or None
    return statement_id, sequence, account, bic


def _currency(
    block: Block, opening: money.Balance | None, ahead: list[Field] | None, label: str, kind: str
) -> tuple[str, Field]:
    """The currency of a report and the field it comes from."""
    if opening is not None and block.opening is not None:
        return opening.currency, block.opening
    if block.floor_limit is not None:
        return money.floor_limit_currency(block.floor_limit), block.floor_limit
    for fld in ahead or ():
        if fld.tag in CLOSING_TAGS:
            return money.parse_balance(fld)[0].currency, fld
        if fld.tag in ("90C", "90D"):
            return money.parse_sum(fld)[1], fld
    if kind == MT942:
        raise BankFileError(
            f"{label}: no :34F: floor limit and no :90C:/:90D: totals, so the currency is unknown"
        )
    raise BankFileError(f"{label}: no :60: opening and no :62: closing balance, so the currency is unknown")


class _Entries:
    """The entries and tail of one block, read from the file as the consumer asks for them."""

    def __init__(
        self,
        fields: FieldReader,
        block: Block,
        currency: str,
        source: Field,
        notes: Notes,
        label: str,
        reader: StatementReader,
    ) -> None:
        self._fields = fields
        self._block = block
        self._currency = currency
        self._source = source
        self._notes = notes
        self._label = label
        self._reader = reader
        self._reading: Iterator[BankEntry] | None = None
        self._scanned = False

    def entries(self) -> Iterator[BankEntry]:
        """The entries, read as they are asked for (see :meth:`_scan`)."""
        self._reading = self._scan(build=True)
        return self._reading

    def _scan(self, build: bool) -> Iterator[BankEntry]:
        """Read the block's fields after its head: build each ``:61:`` with its ``:86:`` fields when the
        field after them arrives (unless ``build`` is false: then only the statement-level fields are
        kept), up to the next ``:20:``, which is put back."""
        fields = self._fields
        block = self._block
        currency = self._currency
        notes = self._notes
        line: Field | None = None
        details: list[Field] = []
        seq = 0
        attach = False
        for fld in fields.rest():
            tag = fld.tag
            if tag == "86":
                if attach:
                    details.append(fld)
                continue
            if tag[:2] == "NS":
                continue  # bank-specific free text; does not end the entry
            if line is not None:
                seq += 1
                try:
                    yield build_entry(line, details, seq, currency, notes)
                except GeneratorExit:  # the caller stopped reading: keep the field for the tail
                    fields.push(fld)
                    raise
                line = None
            if tag == "61":
                if block.closing is not None:
                    raise BankFileError(
                        f"statement at line {block.reference.line_no}: statement line {fld.describe()}"
                        f" after the closing balance {block.closing.describe()}"
                    )
                line, details, attach = (fld, [], True) if build else (None, details, False)
                continue
            attach = False
            if tag == "20":
                fields.push(fld)
                break
            if tag == MESSAGE_TYPE:
                self._reader.set_message_type(fld)
            elif tag not in _IGNORED:
                block.take(fld)
        self._scanned = True
        if line is not None:
            yield build_entry(line, details, seq + 1, currency, notes)

    def tail(self) -> StatementTail:
        """The closing and available balances and the stated totals, read after the entries (the entries
        a caller left unread are read past first)."""
        if self._reading is not None:
            for _ in self._reading:  # left unread, or closed by a caller that stopped reading
                pass
        if not self._scanned:
            for _ in self._scan(build=False):
                pass
        block = self._block
        closing = None
        if block.closing is not None:
            balance, fix = money.parse_balance(block.closing)
            if fix is not None:
                self._notes.once(fix)
            self._check_currency(block.closing, balance.currency)
            closing = Balance(balance.amount, balance.on)
        return StatementTail(closing=closing, totals=self._totals(), available=self._available())

    def _check_currency(self, fld: Field, currency: str) -> None:
        if currency != self._currency:
            what = "opening balance" if self._source.tag in OPENING_TAGS else self._source.describe()
            raise BankFileError(
                f"{self._label}: {what} currency {self._currency} differs from"
                f" {fld.describe()} currency {currency}"
            )

    def _totals(self) -> StatedTotals | None:
        """``:90D:``/``:90C:``: the number and sum of debits and of credits, each part when stated."""
        parts: dict[str, int | Decimal] = {}
        for fld, side in ((self._block.debits, "debit"), (self._block.credits, "credit")):
            if fld is None:
                continue
            count, currency, amount, fix = money.parse_sum(fld)
            if fix is not None:
                self._notes.once(fix)
            self._check_currency(fld, currency)
            parts[f"{side}_count"] = count
            parts[f"{side}_sum"] = amount
        if not parts:
            return None
        return StatedTotals(
            credit_count=_int(parts.get("credit_count")),
            credit_sum=_decimal(parts.get("credit_sum")),
            debit_count=_int(parts.get("debit_count")),
            debit_sum=_decimal(parts.get("debit_sum")),
        )

    def _available(self) -> Balance | None:
        """The ``:64:`` available balance; one that cannot be read is left out with a warning (it is
        information only: nothing is checked against it)."""
        fld = self._block.available
        if fld is None:
            return None
        try:
            balance, _ = money.parse_balance(fld)
        except BankFileError as exc:
            self._notes.add(f"{self._label}: available balance left out: {exc.reason}")
            return None
        if balance.currency != self._currency:
            self._notes.add(
                f"{self._label}: available balance {fld.describe()} is in {balance.currency},"
                f" not {self._currency}; left out"
            )
            return None
        return Balance(balance.amount, balance.on)


def _int(value: int | Decimal | None) -> int | None:
    return value if isinstance(value, int) else None


def _decimal(value: int | Decimal | None) -> Decimal | None:
    return value if isinstance(value, Decimal) else None
