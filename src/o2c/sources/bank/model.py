"""Normalized bank model shared by the MT940/MT942 and camt.052/053/054 parsers.

Money is always :class:`~decimal.Decimal`. Entry amounts are never negative; the sign of an entry lives
in :attr:`BankEntry.direction`, which is the *effective* booking direction on the account (a reversal of
a credit is a ``DBIT``). Balances are signed, credit positive.

A file holds *reports* of one kind (:data:`REPORT_KINDS`):

- ``statement``: the bank's final, booked statement of a period (MT940, camt.053), with balances;
- ``intraday``: an interim report of the day so far (MT942, camt.052), superseded by the day's statement;
- ``notification``: debit/credit notifications of single bookings (camt.054), also superseded by the
  statement, often carrying the details of a batch the statement books as one entry.

All three are :class:`BankStatement` here (one per MT940 ``:20:`` block, camt ``Stmt``/``Rpt``/
``Ntfctn``); :attr:`BankStatement.report_kind` tells them apart.

**Streaming.** A parser reads a file as a :class:`BankFileStream`: its reports one at a time
(:class:`StatementStream`), and each report's entries one at a time, so memory stays flat however large the
file. :func:`materialize` turns a stream into a :class:`ParsedBankFile` for tests and small files.

Every entry has at least one :class:`BankTransaction`: the camt ``TxDtls`` of a batch booking, one per
payment, or the entry itself when the file gives no details (MT940 always: one transaction per ``:61:``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol

CREDIT = "CRDT"
"""Direction of an entry that increases the account balance."""

DEBIT = "DBIT"
"""Direction of an entry that decreases the account balance."""

DIRECTIONS = frozenset({CREDIT, DEBIT})

REPORT_STATEMENT = "statement"
REPORT_INTRADAY = "intraday"
REPORT_NOTIFICATION = "notification"
REPORT_KINDS = frozenset({REPORT_STATEMENT, REPORT_INTRADAY, REPORT_NOTIFICATION})

_ZERO = Decimal(0)
_POWERS_OF_TEN = frozenset(Decimal(10) ** n for n in range(-2, 12))


class BankFileError(ValueError):
    """A bank file that cannot be loaded as-is and has to be quarantined.

    Attributes:
        reason: Human-readable explanation naming what is wrong and where (statement id,
            line, tag or element), the figures and, where one can be told, the likely cause.
        file_name: Name of the offending file, when known.
    """

    def __init__(self, reason: str, file_name: str | None = None) -> None:
        """Store the reason and the optional file name."""
        self.reason = reason
        self.file_name = file_name
        super().__init__(f"{file_name}: {reason}" if file_name else reason)


@dataclass(frozen=True)
class BankTransaction:
    """One payment inside an entry: a camt ``TxDtls``, or the entry itself when it has no details.

    Text fields are whitespace-normalized, ``None`` when absent or a placeholder (``NOTPROVIDED``,
    ``NONREF``). The counterparty is the debtor of a credit and the creditor of a debit (of the original
    payment, for a reversal or return).
    """

    tx_seq: int
    """1-based position within its entry."""
    amount: Decimal | None
    """In the account currency (``TxDtls/Amt`` or ``AmtDtls/TxAmt``; the entry amount for an entry
    without details); ``None`` when a batch's details carry no amount."""
    direction: str
    """``CRDT`` or ``DBIT`` (the entry's unless the details say otherwise)."""
    end_to_end_id: str | None = None
    instruction_id: str | None = None
    transaction_id: str | None = None
    mandate_id: str | None = None
    account_servicer_reference: str | None = None
    remittance_unstructured: str | None = None
    """``RmtInf/Ustrd`` lines (MT940: the ``:86:`` purpose text, e.g. ``/REMI/``, ``SVWZ+``, ``?20``–``?29``)."""
    creditor_reference: str | None = None
    """``Strd/CdtrRefInf/Ref``: an RF creditor reference (ISO 11649), a Swiss QR/ISR reference, ..."""
    creditor_reference_type: str | None = None
    """``CdtrRefInf/Tp/CdOrPrtry``: ``SCOR``, ``QRR``, ``ISR``, ... (``None`` when not stated)."""
    referred_documents: tuple[str, ...] = ()
    """``Strd/RfrdDocInf/Nb``: the invoice (or credit note) numbers the payer quotes."""
    counterparty_name: str | None = None
    counterparty_account: str | None = None
    counterparty_bic: str | None = None
    ultimate_debtor: str | None = None
    ultimate_creditor: str | None = None
    domain_code: str | None = None
    family_code: str | None = None
    sub_family_code: str | None = None
    proprietary_code: str | None = None
    """bank transaction code: ISO domain/family/sub-family, and the proprietary or SWIFT code
    (MT940: the ``:61:`` transaction type such as ``NTRF``, or a German GVC ``166``)"""
    charges: Decimal | None = None
    """charges deducted from this payment (``Chrgs``; MT940 ``/CHGS/``), in the account currency"""
    charge_bearer: str | None = None
    """``SHAR``/``DEBT``/``CRED`` (SHA/OUR/BEN) when stated"""
    instructed_amount: Decimal | None = None
    instructed_currency: str | None = None
    exchange_rate: Decimal | None = None
    """``CcyXchg/XchgRate`` (MT940 ``/EXCH/``): the rate between instructed and booked amount"""
    return_reason: str | None = None
    """``RtrInf/Rsn/Cd`` (or ``Prtry``; MT940 ``/RTRN/``): why a payment came back, e.g. ``AC04``"""
    additional_info: str | None = None


@dataclass(frozen=True)
class BankEntry:
    """One booked movement on the account (an MT940/MT942 ``:61:`` line or a camt ``Ntry``)."""

    entry_seq: int
    """1-based position within its statement (among the entries kept)."""
    booking_date: date
    value_date: date | None
    amount: Decimal
    """Never negative; see :attr:`direction` for the sign."""
    currency: str
    direction: str
    """``CRDT`` or ``DBIT``: the effective booking direction on the account."""
    is_reversal: bool
    bank_reference: str | None
    """``AcctSvcrRef`` (MT940: the ``//`` bank reference of ``:61:``)"""
    customer_reference: str | None
    """the end-to-end id when one transaction (or all) carry the same; MT940: the ``:61:`` reference"""
    counterparty_name: str | None
    counterparty_account: str | None
    remittance_info: str | None
    """all remittance text of the entry, joined (for display and search)"""
    transaction_code: str | None
    """``Domain/Family/SubFamily`` when given, else the proprietary (MT940: SWIFT) code"""
    entry_reference: str | None = None
    """``NtryRef``"""
    status: str = "BOOK"
    domain_code: str | None = None
    family_code: str | None = None
    sub_family_code: str | None = None
    proprietary_code: str | None = None
    charges: Decimal | None = None
    """total charges of the entry (``Ntry/Chrgs``, else the sum of its transactions')"""
    batch_count: int | None = None
    """``Btch/NbOfTxs`` when the entry is a batch booking"""
    additional_info: str | None = None
    """``AddtlNtryInf``"""
    transactions: tuple[BankTransaction, ...] = ()
    """the payments it books; empty only for entries built by old code paths (see :meth:`payments`)"""

    @property
    def signed_amount(self) -> Decimal:
        """The amount with its effect on the balance: positive for credits."""
        return self.amount if self.direction == CREDIT else -self.amount

    @property
    def is_batch(self) -> bool:
        """A batch booking: one entry for several payments."""
        return len(self.transactions) > 1 or (self.batch_count or 0) > 1

    def payments(self) -> tuple[BankTransaction, ...]:
        """The transactions, or one built from the entry when it has none."""
        if self.transactions:
            return self.transactions
        return (
            BankTransaction(
                tx_seq=1,
                amount=self.amount,
                direction=self.direction,
                end_to_end_id=self.customer_reference,
                account_servicer_reference=self.bank_reference,
                remittance_unstructured=self.remittance_info,
                counterparty_name=self.counterparty_name,
                counterparty_account=self.counterparty_account,
                domain_code=self.domain_code,
                family_code=self.family_code,
                sub_family_code=self.sub_family_code,
                proprietary_code=self.proprietary_code,
                charges=self.charges,
            ),
        )


class StatedBalance(Protocol):
    """A balance as a parser read it: signed amount (credit positive) and its date."""

    @property
    def amount(self) -> Decimal: ...

    @property
    def on(self) -> date | None: ...


@dataclass(frozen=True)
class Balance:
    """A stated balance: signed amount (credit positive) and its date."""

    amount: Decimal
    on: date | None


@dataclass(frozen=True)
class StatedTotals:
    """What a report says its entries add up to (camt ``TxsSummry``, MT942 ``:90C:``/``:90D:``).

    Each part is ``None`` when not stated.
    """

    credit_count: int | None = None
    credit_sum: Decimal | None = None
    debit_count: int | None = None
    debit_sum: Decimal | None = None
    entry_count: int | None = None
    net_amount: Decimal | None = None
    """signed, credit positive (``TtlNtries/TtlNetNtry``)"""

    def mismatch(self, credits: int, credit_sum: Decimal, debits: int, debit_sum: Decimal) -> str | None:
        """Say how the entries differ from the stated totals, or return ``None``."""
        problems = []
        pairs = (
            ("credit entries", self.credit_count, credits),
            ("credit sum", self.credit_sum, credit_sum),
            ("debit entries", self.debit_count, debits),
            ("debit sum", self.debit_sum, debit_sum),
            ("entries", self.entry_count, credits + debits),
            ("net amount", self.net_amount, credit_sum - debit_sum),
        )
        for what, stated, counted in pairs:
            if stated is not None and stated != counted:
                problems.append(f"{what} stated {stated}, counted {counted}")
        return "; ".join(problems) or None


@dataclass(frozen=True)
class StatementHead:
    """What a report says before its entries."""

    statement_id: str
    sequence: str | None
    account_id: str
    currency: str
    opening: Balance | None
    report_kind: str = REPORT_STATEMENT
    message_id: str | None = None
    """camt ``GrpHdr/MsgId``; MT940/MT942 ``:20:``"""
    created_at: datetime | None = None
    """``CreDtTm`` (MT942 ``:13D:``), time zone aware when the file says"""
    account_bic: str | None = None
    legal_sequence: str | None = None

    @property
    def label(self) -> str:
        """Short description used in messages: ``statement <id>[/<seq>] of account <acct>``."""
        seq = f"/{self.sequence}" if self.sequence else ""
        noun = {REPORT_STATEMENT: "statement", REPORT_INTRADAY: "intraday report"}.get(
            self.report_kind, "notification"
        )
        return f"{noun} {self.statement_id}{seq} of account {self.account_id}"


@dataclass(frozen=True)
class StatementTail:
    """What a report says after (or besides) its entries: the closing balance and stated totals."""

    closing: Balance | None
    totals: StatedTotals | None = None
    available: Balance | None = None


class StatementStream:
    """One report read lazily: :attr:`head` first, then :meth:`entries` (once), then :attr:`tail`.

    Parsers build it from an entry iterator and a function that gives the tail once the entries are
    consumed (an MT940 closing balance comes after the ``:61:`` lines).
    """

    def __init__(
        self, head: StatementHead, entries: Iterator[BankEntry], tail: Callable[[], StatementTail]
    ) -> None:
        self.head = head
        self._entries: Iterator[BankEntry] | None = entries
        self._tail = tail
        self._tail_value: StatementTail | None = None

    def entries(self) -> Iterator[BankEntry]:
        """The entries, in file order; can be consumed once."""
        if self._entries is None:
            raise RuntimeError(f"{self.head.label}: entries already consumed")
        entries, self._entries = self._entries, None
        yield from entries

    @property
    def tail(self) -> StatementTail:
        """The closing part; only once :meth:`entries` is exhausted."""
        if self._tail_value is None:
            if self._entries is not None:
                for _ in self.entries():  # not consumed: read past the entries
                    pass
            self._tail_value = self._tail()
        return self._tail_value


@dataclass
class BankFileStream:
    """A bank file being read: its kind, then its reports one by one (:attr:`statements`)."""

    format: str
    """``mt940``, ``mt942``, ``camt052``, ``camt053`` or ``camt054``"""
    version: str | None
    """message version, e.g. ``camt.053.001.02``; ``None`` for SWIFT MT"""
    report_kind: str
    statements: Iterator[StatementStream]
    """each must be consumed (entries, then tail) before the next is taken"""
    warnings: list[str] = field(default_factory=list)
    """grows while the file is read; complete once :attr:`statements` is exhausted"""


@dataclass(frozen=True)
class BankStatement:
    """One report (statement, intraday report or notification; one page of a multi-page MT940) of one
    account, with all its entries."""

    statement_id: str
    sequence: str | None
    account_id: str
    currency: str
    opening_balance: Decimal
    """Signed, credit positive. ``0`` when the file has none (see :attr:`opening_date`)."""
    opening_date: date | None
    closing_balance: Decimal
    """Signed, credit positive. ``0`` when the file has none (see :attr:`closing_date`)."""
    closing_date: date | None
    entries: tuple[BankEntry, ...]
    has_opening_balance: bool = True
    """False when the source carried no opening balance (the value is then a placeholder)."""
    has_closing_balance: bool = True
    """False when the source carried no closing balance (the value is then a placeholder)."""
    report_kind: str = REPORT_STATEMENT
    message_id: str | None = None
    created_at: datetime | None = None
    totals: StatedTotals | None = None
    account_bic: str | None = None
    legal_sequence: str | None = None

    @classmethod
    def with_balances(
        cls,
        *,
        statement_id: str,
        sequence: str | None,
        account_id: str,
        currency: str,
        opening: StatedBalance | None,
        closing: StatedBalance | None,
        entries: Sequence[BankEntry],
        report_kind: str = REPORT_STATEMENT,
        message_id: str | None = None,
        created_at: datetime | None = None,
        totals: StatedTotals | None = None,
        account_bic: str | None = None,
        legal_sequence: str | None = None,
    ) -> BankStatement:
        """A statement from the balances the file stated (``None``: the file carried none)."""
        return cls(
            statement_id=statement_id,
            sequence=sequence,
            account_id=account_id,
            currency=currency,
            opening_balance=opening.amount if opening else _ZERO,
            opening_date=opening.on if opening else None,
            closing_balance=closing.amount if closing else _ZERO,
            closing_date=closing.on if closing else None,
            entries=tuple(entries),
            has_opening_balance=opening is not None,
            has_closing_balance=closing is not None,
            report_kind=report_kind,
            message_id=message_id,
            created_at=created_at,
            totals=totals,
            account_bic=account_bic,
            legal_sequence=legal_sequence,
        )

    @classmethod
    def from_parts(
        cls, head: StatementHead, entries: Sequence[BankEntry], tail: StatementTail
    ) -> BankStatement:
        """The statement a :class:`StatementStream` read."""
        return cls.with_balances(
            statement_id=head.statement_id,
            sequence=head.sequence,
            account_id=head.account_id,
            currency=head.currency,
            opening=head.opening,
            closing=tail.closing,
            entries=entries,
            report_kind=head.report_kind,
            message_id=head.message_id,
            created_at=head.created_at,
            totals=tail.totals,
            account_bic=head.account_bic,
            legal_sequence=head.legal_sequence,
        )

    @property
    def head(self) -> StatementHead:
        """The statement's head (as a stream would give it)."""
        return StatementHead(
            statement_id=self.statement_id,
            sequence=self.sequence,
            account_id=self.account_id,
            currency=self.currency,
            opening=Balance(self.opening_balance, self.opening_date) if self.has_opening_balance else None,
            report_kind=self.report_kind,
            message_id=self.message_id,
            created_at=self.created_at,
            account_bic=self.account_bic,
            legal_sequence=self.legal_sequence,
        )

    @property
    def stated_opening_balance(self) -> Decimal | None:
        """The opening balance as the bank stated it; ``None`` when the file carried none."""
        return self.opening_balance if self.has_opening_balance else None

    @property
    def stated_closing_balance(self) -> Decimal | None:
        """The closing balance as the bank stated it; ``None`` when the file carried none."""
        return self.closing_balance if self.has_closing_balance else None

    @property
    def credit_total(self) -> Decimal:
        """Sum of the amounts of all ``CRDT`` entries."""
        return sum((e.amount for e in self.entries if e.direction == CREDIT), _ZERO)

    @property
    def debit_total(self) -> Decimal:
        """Sum of the amounts of all ``DBIT`` entries."""
        return sum((e.amount for e in self.entries if e.direction == DEBIT), _ZERO)

    @property
    def label(self) -> str:
        """Short description used in messages: ``statement <id>[/<seq>] of account <acct>``."""
        return self.head.label

    def balance_mismatch(self) -> str | None:
        """Explain why opening + credits - debits != closing, or return None (see :func:`movement_mismatch`)."""
        return movement_mismatch(
            self.label,
            self.stated_opening_balance,
            self.stated_closing_balance,
            self.credit_total,
            self.debit_total,
            [(e.entry_seq, e.signed_amount) for e in self.entries],
        )


def movement_mismatch(
    label: str,
    opening: Decimal | None,
    closing: Decimal | None,
    credits: Decimal,
    debits: Decimal,
    signed_amounts: Sequence[tuple[int, Decimal]] = (),
) -> str | None:
    """Explain why opening + credits - debits != closing, naming the figures and a likely cause; ``None``
    when it adds up or a balance is missing (the check cannot be made; callers report that separately).

    ``signed_amounts`` (entry number, signed amount) lets the hint name an entry the difference equals;
    a streaming caller passes the few it kept.
    """
    if opening is None or closing is None:
        return None
    computed = opening + credits - debits
    if computed == closing:
        return None
    reason = (
        f"{label}: opening {opening} + credits {credits} - debits {debits} = {computed},"
        f" but closing balance is {closing}"
    )
    hint = _mismatch_hint(closing - computed, opening, closing, signed_amounts)
    return f"{reason} ({hint})" if hint else reason


def _mismatch_hint(
    difference: Decimal, opening: Decimal, closing: Decimal, signed_amounts: Sequence[tuple[int, Decimal]]
) -> str | None:
    """Suggest a likely cause of a balance difference, to speed up triage."""
    for seq, amount in signed_amounts:
        if amount and amount == -difference:
            return (
                f"the difference {difference} is exactly entry {seq},"
                " as if the bank left it out of the closing balance"
            )
        if amount and amount * 2 == -difference:
            return f"the difference {difference} is twice entry {seq}, as if its direction were reversed"
    if opening and difference == -2 * opening:
        return "would reconcile with the opposite sign of the opening balance"
    if closing and difference == 2 * closing:
        return "would reconcile with the opposite sign of the closing balance"
    if difference and abs(difference) in _POWERS_OF_TEN:
        return f"the difference {difference} is a power of ten, as if a digit were mistyped or a decimal misplaced"
    return None


@dataclass(frozen=True)
class ParsedBankFile:
    """Everything parsed from one bank file (materialized: for tests and small files)."""

    format: str
    """``mt940``, ``mt942``, ``camt052``, ``camt053`` or ``camt054``."""
    version: str | None
    """Message version, e.g. ``camt.053.001.02``; None for SWIFT MT."""
    statements: tuple[BankStatement, ...]
    warnings: tuple[str, ...]
    report_kind: str = REPORT_STATEMENT

    @property
    def entry_count(self) -> int:
        """Number of entries over all statements."""
        return sum(len(s.entries) for s in self.statements)

    @property
    def credit_total(self) -> Decimal:
        """Sum of credit entry amounts over all statements."""
        return sum((s.credit_total for s in self.statements), _ZERO)

    @property
    def debit_total(self) -> Decimal:
        """Sum of debit entry amounts over all statements."""
        return sum((s.debit_total for s in self.statements), _ZERO)


def materialize(stream: BankFileStream) -> ParsedBankFile:
    """Read a whole stream into a :class:`ParsedBankFile`."""
    statements = []
    for statement in stream.statements:
        entries = tuple(statement.entries())
        statements.append(BankStatement.from_parts(statement.head, entries, statement.tail))
    return ParsedBankFile(
        stream.format, stream.version, tuple(statements), tuple(stream.warnings), stream.report_kind
    )
