"""The builders' shared state: a seeded random generator and the ERP as a timeline of row versions."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal

from o2c.simulate.catalog import Row
from o2c.simulate.model import BankDebit, Case, Payment, Shipment, SimConfig


class Timeline:
    """State every builder mixin shares; attributes set by one stage are declared here for the others."""

    reps: list[Row]
    products: list[Row]
    bench: dict[tuple[str, str], Decimal]
    usd_cny: dict[date, Decimal]
    customers: list[Row]
    contracts: dict[str, list[Row]]
    order_lines: int

    def __init__(self, cfg: SimConfig) -> None:
        self.cfg = cfg
        self.rng = random.Random(cfg.seed)  # noqa: S311 - a simulation, not cryptography
        self.erp: dict[str, dict[tuple[str, ...], list[tuple[datetime, Row | None]]]] = defaultdict(dict)
        self.shipments: list[Shipment] = []
        self.payments: list[Payment] = []
        self.debits: list[BankDebit] = []
        self.cases: list[Case] = []
        self.counters: dict[str, int] = defaultdict(int)

    # -- helpers ------------------------------------------------------------------------------
    def put(self, table: str, key: tuple[str, ...], when: datetime, row: Row | None) -> None:
        self.erp[table].setdefault(key, []).append((when, row))

    def latest(self, table: str, key: tuple[str, ...]) -> Row:
        """The most recently written version of a row (which must exist)."""
        row = self.erp[table][key][-1][1]
        if row is None:
            raise KeyError(f"{table} {key} was deleted")
        return row

    def next_id(self, kind: str, start: int, width: int = 10) -> str:
        self.counters[kind] += 1
        return str(start + self.counters[kind]).zfill(width)

    def business_hour(self) -> float:
        return self.rng.uniform(9.0, 17.5)
