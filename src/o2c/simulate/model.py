"""What a simulation produces: its configuration, the ERP timeline, shipments, bank movements and the
ground-truth cases, plus the views of them "as of" a moment that the simulated systems serve."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from o2c.simulate.catalog import Row


@dataclass(frozen=True)
class SimConfig:
    """Scale and rates of the simulated business (defaults: a mid-size trader over 120 days)."""

    seed: int = 42
    start: date = date(2026, 6, 1)
    days: int = 120
    customers: int = 120
    products: int = 24
    reps: int = 6
    lines_per_day: float = 46.0
    overdue_order_rate: float = 0.03
    qty_deviation_rate: float = 0.025
    price_deviation_rate: float = 0.015
    unpaid_invoice_rate: float = 0.04
    rejection_rate: float = 0.02
    price_band_pct: Decimal = Decimal("8")
    bad_bank_file_day: int | None = 40

    @property
    def end(self) -> date:
        return self.start + timedelta(days=self.days - 1)


@dataclass
class Case:
    """One injected abnormal case: the ground truth a check must find."""

    rule_id: str
    entity_key: str
    order_id: str | None
    customer_id: str
    reference_date: date
    """promised date (overdue orders), due date (receivables), goods issue (quantity) or order date (price)"""
    note: str


@dataclass
class Payment:
    """A customer payment as the bank books it (credit), with the invoice it pays (expected match)."""

    booking_date: date
    account_currency: str
    amount: Decimal
    payer_name: str
    payer_account: str
    remittance: str
    end_to_end_id: str
    invoice_id: str | None
    customer_id: str


@dataclass
class BankDebit:
    booking_date: date
    account_currency: str
    amount: Decimal
    counterparty: str
    remittance: str
    reference: str


@dataclass
class Shipment:
    shipment_id: str
    versions: list[tuple[datetime, dict[str, Any]]] = field(default_factory=list)


@dataclass
class World:
    config: SimConfig
    erp: dict[str, dict[tuple[str, ...], list[tuple[datetime, Row | None]]]]
    shipments: list[Shipment]
    payments: list[Payment]
    debits: list[BankDebit]
    cases: list[Case]
    reps: list[Row]
    order_line_count: int

    def erp_as_of(self, table: str, cutoff: datetime) -> list[Row]:
        """Rows of ``table`` as the ERP held them at ``cutoff`` (deleted rows omitted)."""
        rows: list[Row] = []
        for key in sorted(self.erp[table]):
            current: tuple[datetime, Row | None] | None = None
            for version in self.erp[table][key]:
                if version[0] <= cutoff and (current is None or version[0] >= current[0]):
                    current = version
            if current is not None and current[1] is not None:
                rows.append({**current[1], "CHANGED_AT": current[0]})
        return rows

    def shipments_as_of(self, cutoff: datetime) -> list[dict[str, Any]]:
        out = []
        for shipment in self.shipments:
            visible = [v for v in shipment.versions if v[0] <= cutoff]
            if visible:
                stamp, body = max(visible, key=lambda v: v[0])
                out.append({**body, "updated_at": stamp.isoformat().replace("+00:00", "Z")})
        return out
