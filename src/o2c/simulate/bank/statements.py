"""The trader's bank accounts and their daily statements: one per account per weekday, numbered without gaps
per account, each opening at the previous one's closing balance."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from o2c.simulate.model import BankEntry
from o2c.simulate.world import World


@dataclass(frozen=True)
class Account:
    iban: str
    bic: str
    statement: str
    """the final statement's message: ``mt940``, ``camt.053.001.02`` or ``camt.053.001.08``"""
    opening: Decimal
    intraday: str | None = None
    """the intraday report's message (``mt942``, ``camt.052.001.08``), if the bank sends one"""
    notifications: str | None = None
    """the message notifying the account's batch bookings (``camt.054.001.08``), if the bank sends one"""

    @property
    def format(self) -> str:
        """``mt940`` or ``camt053`` (the file name's format part, lower case)."""
        return "mt940" if self.statement == "mt940" else "camt053"


ACCOUNTS = {
    "USD": Account("CN12TRDB0000000001USD", "TRDBCNSHXXX", "mt940", Decimal("2500000.00"), intraday="mt942"),
    "CNY": Account(
        "CN34TRDB0000000002CNY",
        "TRDBCNSHXXX",
        "camt.053.001.02",
        Decimal("18000000.00"),
        intraday="camt.052.001.08",
        notifications="camt.054.001.08",
    ),
    "EUR": Account("CN56TRDB0000000003EUR", "TRDBCNSHXXX", "camt.053.001.08", Decimal("900000.00")),
    "SGD": Account("SG78TRDB0000000004SGD", "TRDBSGSGXXX", "mt940", Decimal("1500000.00")),
}
"""One account per billing currency (``catalog.COUNTRIES``): a payment always lands in a statement."""


@dataclass
class DayStatement:
    day: date
    currency: str
    seq: int
    opening: Decimal
    entries: list[BankEntry] = field(default_factory=list)
    """in booking order"""

    @property
    def account(self) -> Account:
        return ACCOUNTS[self.currency]

    @property
    def credits(self) -> Decimal:
        return sum((e.amount for e in self.entries if e.direction == "CRDT"), Decimal(0))

    @property
    def debits(self) -> Decimal:
        return sum((e.amount for e in self.entries if e.direction == "DBIT"), Decimal(0))

    @property
    def closing(self) -> Decimal:
        return self.opening + self.credits - self.debits


def statements(world: World) -> list[DayStatement]:
    """One statement per account per weekday of the simulated range, balances carried forward."""
    cfg = world.config
    booked: dict[tuple[str, date], list[BankEntry]] = {}
    for entry in world.bank_entries:
        booked.setdefault((entry.currency, entry.booking_date), []).append(entry)
    balance = {ccy: spec.opening for ccy, spec in ACCOUNTS.items()}
    seq = dict.fromkeys(ACCOUNTS, 0)
    out: list[DayStatement] = []
    for offset in range(cfg.days):
        day = cfg.start + timedelta(days=offset)
        if day.weekday() >= 5:
            continue
        for ccy in ACCOUNTS:
            seq[ccy] += 1
            stmt = DayStatement(day, ccy, seq[ccy], balance[ccy], booked.get((ccy, day), []))
            balance[ccy] = stmt.closing
            out.append(stmt)
    return out
