"""Normalized bank statement model shared by the MT940 and camt.053 parsers.

Money is always :class:`~decimal.Decimal`. Entry amounts are never negative; the sign of an
entry lives in :attr:`BankEntry.direction`, which is the *effective* booking direction on the
account (a reversal of a credit is a ``DBIT``). Balances are signed, credit positive.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Protocol

CREDIT = "CRDT"
"""Direction of an entry that increases the account balance."""

DEBIT = "DBIT"
"""Direction of an entry that decreases the account balance."""

DIRECTIONS = frozenset({CREDIT, DEBIT})

_ZERO = Decimal(0)


class BankFileError(ValueError):
    """A bank file that cannot be loaded as-is and has to be quarantined.

    Attributes:
        reason: Human-readable explanation naming what is wrong and where (statement id,
            line, tag or element).
        file_name: Name of the offending file, when known.
    """

    def __init__(self, reason: str, file_name: str | None = None) -> None:
        """Store the reason and the optional file name."""
        self.reason = reason
        self.file_name = file_name
        super().__init__(f"{file_name}: {reason}" if file_name else reason)


@dataclass(frozen=True)
class BankEntry:
    """One booked movement on the account (an MT940 ``:61:`` line or a camt ``Ntry``)."""

    entry_seq: int
    """1-based position within its statement."""
    booking_date: date
    value_date: date | None
    amount: Decimal
    """Never negative; see :attr:`direction` for the sign."""
    currency: str
    direction: str
    """``CRDT`` or ``DBIT``: the effective booking direction on the account."""
    is_reversal: bool
    bank_reference: str | None
    customer_reference: str | None
    counterparty_name: str | None
    counterparty_account: str | None
    remittance_info: str | None
    transaction_code: str | None

    @property
    def signed_amount(self) -> Decimal:
        """The amount with its effect on the balance: positive for credits."""
        return self.amount if self.direction == CREDIT else -self.amount


class StatedBalance(Protocol):
    """A balance as a parser read it: signed amount (credit positive) and its date."""

    @property
    def amount(self) -> Decimal: ...

    @property
    def on(self) -> date | None: ...


@dataclass(frozen=True)
class BankStatement:
    """One statement (or one page of a multi-page MT940 statement) of one account."""

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
        seq = f"/{self.sequence}" if self.sequence else ""
        return f"statement {self.statement_id}{seq} of account {self.account_id}"

    def balance_mismatch(self) -> str | None:
        """Explain why opening + credits - debits != closing, or return None.

        Returns None as well when the statement lacks an opening or closing balance, because the
        check cannot be made; callers report that separately.
        """
        if not (self.has_opening_balance and self.has_closing_balance):
            return None
        computed = self.opening_balance + self.credit_total - self.debit_total
        if computed == self.closing_balance:
            return None
        reason = (
            f"{self.label}: opening {self.opening_balance} + credits {self.credit_total}"
            f" - debits {self.debit_total} = {computed},"
            f" but closing balance is {self.closing_balance}"
        )
        hint = self._mismatch_hint(self.closing_balance - computed)
        return f"{reason} ({hint})" if hint else reason

    def _mismatch_hint(self, difference: Decimal) -> str | None:
        """Suggest a likely cause of a balance difference, to speed up triage."""
        for entry in self.entries:
            if entry.amount and entry.signed_amount == -difference:
                return (
                    f"the difference {difference} is exactly entry {entry.entry_seq},"
                    " as if the bank left it out of the closing balance"
                )
            if entry.amount and entry.signed_amount * 2 == -difference:
                return (
                    f"the difference {difference} is twice entry {entry.entry_seq},"
                    " as if its direction were reversed"
                )
        if self.opening_balance and difference == -2 * self.opening_balance:
            return "would reconcile with the opposite sign of the opening balance"
        if self.closing_balance and difference == 2 * self.closing_balance:
            return "would reconcile with the opposite sign of the closing balance"
        return None


@dataclass(frozen=True)
class ParsedBankFile:
    """Everything parsed from one bank file."""

    format: str
    """``mt940`` or ``camt053``."""
    version: str | None
    """Message version, e.g. ``camt.053.001.02``; None for MT940."""
    statements: tuple[BankStatement, ...]
    warnings: tuple[str, ...]

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
