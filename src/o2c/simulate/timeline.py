"""The builders' shared state: a seeded random generator and the ERP as a timeline of row versions."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal

from o2c.business_calendar import BUSINESS_TZ
from o2c.simulate.catalog import Row
from o2c.simulate.erp_tables import DEFAULTS, KEYS, TABLES
from o2c.simulate.model import (
    BankDebit,
    Case,
    FormulaPricing,
    InvoiceTruth,
    MasterDataChange,
    OrderLineTruth,
    Payment,
    Shipment,
    SimConfig,
    WriteOff,
)

CHANGE_DOCUMENT_OBJECTS = {
    "VBAK": ("VERKBELEG", "VA02"),
    "VBAP": ("VERKBELEG", "VA02"),
    "VBEP": ("VERKBELEG", "VA02"),
    "VBKD": ("VERKBELEG", "VA02"),
    "LIKP": ("LIEFERUNG", "VL02N"),
    "LIPS": ("LIEFERUNG", "VL02N"),
}
"""Tables whose row deletions SAP records in change documents: table -> (object class, transaction)."""


def key_widths(table: str) -> list[int]:
    """The character widths of a table's key fields (CDPOS ``TABKEY`` concatenates them at full width)."""
    kinds = dict(TABLES[table])
    return [int(kinds[field].split("(")[1].split(")")[0].split(",")[0]) for field in KEYS[table]]


def deletion_header(
    objectclass: str, objectid: str, changenr: str, when: datetime, tcode: str, username: str = "SD_CLERK"
) -> Row:
    """The CDHDR row of a change document written at ``when`` (UDATE/UTIME in the SAP system's zone)."""
    local = when.astimezone(BUSINESS_TZ)
    return {
        "OBJECTCLAS": objectclass,
        "OBJECTID": objectid,
        "CHANGENR": changenr,
        "USERNAME": username,
        "UDATE": local.strftime("%Y%m%d"),
        "UTIME": local.strftime("%H%M%S"),
        "TCODE": tcode,
        "CHANGE_IND": "U",
    }


def tabkey(table: str, key: tuple[str, ...]) -> str:
    """CDPOS ``TABKEY``: the client and the key fields of a ``table`` row, each at its full width."""
    return "100" + "".join(value.ljust(width) for value, width in zip(key, key_widths(table), strict=True))


def deletion_item(objectclass: str, changenr: str, table: str, key: tuple[str, ...]) -> Row:
    """The CDPOS row SAP writes when a row of ``table`` is deleted: FNAME ``KEY``, CHNGIND ``D``, TABKEY the
    client and the key fields at full width."""
    return {
        "OBJECTCLAS": objectclass,
        "OBJECTID": key[0],
        "CHANGENR": changenr,
        "TABNAME": table,
        "TABKEY": tabkey(table, key),
        "FNAME": "KEY",
        "CHNGIND": "D",
        "VALUE_NEW": "",
        "VALUE_OLD": "",
    }


class Timeline:
    """State every builder mixin shares; attributes set by one stage are declared here for the others."""

    reps: list[Row]
    products: list[Row]
    bench: dict[tuple[str, str], Decimal]
    usd_cny: dict[date, Decimal]
    customers: list[Row]
    order_lines: int
    payment_terms: dict[str, list[tuple[date, str]]]
    """per customer, (effective date, KNB1-ZTERM) in date order; the first from ``date.min``"""

    def __init__(self, cfg: SimConfig) -> None:
        self.cfg = cfg
        self.rng = random.Random(cfg.seed)  # noqa: S311 - a simulation, not cryptography
        self.erp: dict[str, dict[tuple[str, ...], list[tuple[datetime, Row | None]]]] = defaultdict(dict)
        self.shipments: list[Shipment] = []
        self.payments: list[Payment] = []
        self.debits: list[BankDebit] = []
        self.write_offs: list[WriteOff] = []
        """customer items never paid, written off (``Billing.build_write_offs``)"""
        self.cases: list[Case] = []
        self.counters: dict[str, int] = defaultdict(int)
        self.commit_times: dict[tuple[str, tuple[str, ...], datetime], datetime] = {}
        self.change_numbers: dict[tuple[str, str, datetime], str] = {}
        self.deleted_orders: list[str] = []
        self.reset_items: list[str] = []
        self.late_commits: list[str] = []
        self.credit_memos: list[str] = []
        self.quota: dict[str, int] = defaultdict(int)
        self.protected_orders: set[str] = set()
        """orders the corrections leave alone (no mistaken copy): their contract's ground truth is exact"""
        self.order_line_truth: list[OrderLineTruth] = []
        self.master_data_changes: list[MasterDataChange] = []
        self.invoice_truth: list[InvoiceTruth] = []
        self.formula_pricing: list[FormulaPricing] = []
        self.qp_rules: dict[str, str | None] = {}
        """per contract: its call-offs' quotational period rule (``None``: fixed price)"""
        self.customer_groups: dict[str, str] = {}
        """affiliate -> group parent (KNA1-KONZS), set by ``MasterData.assign_customer_groups``"""

    # -- helpers ------------------------------------------------------------------------------
    def put(
        self,
        table: str,
        key: tuple[str, ...],
        when: datetime,
        row: Row | None,
        committed: datetime | None = None,
    ) -> None:
        """Write a version of a row changed at ``when`` (``None`` deletes it). A version ``committed`` later
        than ``when`` (a long transaction, replication lag) becomes visible only then, with its older
        ``CHANGED_AT``. Deleting a row of a document table writes its change document, as SAP does."""
        defaults = DEFAULTS.get(table)
        if defaults is not None and row is not None and not defaults.keys() <= row.keys():
            row = {**defaults, **row}
        self.erp[table].setdefault(key, []).append((when, row))
        if committed is not None and committed > when:
            self.commit_times[(table, key, when)] = committed
        if row is None and table in CHANGE_DOCUMENT_OBJECTS:
            self._change_document(table, key, when)

    def _change_document(self, table: str, key: tuple[str, ...], when: datetime) -> None:
        objectclass, tcode = CHANGE_DOCUMENT_OBJECTS[table]
        header_key = (objectclass, key[0], when)
        changenr = self.change_numbers.get(header_key)
        if changenr is None:
            changenr = self.next_id("changenr", 0)
            self.change_numbers[header_key] = changenr
            self.put(
                "CDHDR",
                (objectclass, key[0], changenr),
                when,
                deletion_header(objectclass, key[0], changenr, when, tcode),
            )
        item = deletion_item(objectclass, changenr, table, key)
        self.put("CDPOS", (objectclass, key[0], changenr, table, item["TABKEY"], "KEY", "D"), when, item)

    def update_document(
        self,
        objectclass: str,
        tcode: str,
        table: str,
        key: tuple[str, ...],
        when: datetime,
        changes: dict[str, tuple[str, str]],
    ) -> None:
        """The change document SAP writes when fields of a row change: one CDHDR, a CDPOS row (CHNGIND
        ``U``) per field with old and new value. ``changes``: field -> (old, new)."""
        changenr = self.next_id("changenr", 0)
        self.put(
            "CDHDR",
            (objectclass, key[0], changenr),
            when,
            deletion_header(objectclass, key[0], changenr, when, tcode, username="MD_CLERK"),
        )
        for fname, (old, new) in changes.items():
            item = {
                "OBJECTCLAS": objectclass,
                "OBJECTID": key[0],
                "CHANGENR": changenr,
                "TABNAME": table,
                "TABKEY": tabkey(table, key),
                "FNAME": fname,
                "CHNGIND": "U",
                "VALUE_NEW": new,
                "VALUE_OLD": old,
            }
            self.put("CDPOS", (objectclass, key[0], changenr, table, item["TABKEY"], fname, "U"), when, item)

    def flow(
        self,
        when: datetime,
        preceding: tuple[str, str, str],
        subsequent: tuple[str, str, str],
        qty: Decimal,
        value: Decimal = Decimal("0.00"),
        currency: str = "",
    ) -> tuple[str, ...]:
        """Write the document flow (VBFA) row linking ``preceding`` to ``subsequent`` (each: document, item,
        document category VBTYP) as SAP does when the subsequent document is created at ``when``."""
        vbelv, posnv, vbtyp_v = preceding
        vbeln, posnn, vbtyp_n = subsequent
        local = when.astimezone(BUSINESS_TZ)
        key = (vbelv, posnv, vbeln, posnn, vbtyp_n)
        self.put(
            "VBFA",
            key,
            when,
            {
                "VBELV": vbelv,
                "POSNV": posnv,
                "VBELN": vbeln,
                "POSNN": posnn,
                "VBTYP_N": vbtyp_n,
                "VBTYP_V": vbtyp_v,
                "RFMNG": qty,
                "MEINS": "TO",
                "RFWRT": value,
                "WAERS": currency,
                "ERDAT": local.strftime("%Y%m%d"),
                "ERZET": local.strftime("%H%M%S"),
            },
        )
        return key

    def zterm_on(self, kunnr: str, day: date) -> str:
        """The customer's payment terms (KNB1-ZTERM) in force on ``day``."""
        zterm = ""
        for effective, value in self.payment_terms[kunnr]:
            if effective > day:
                break
            zterm = value
        return zterm

    def latest(self, table: str, key: tuple[str, ...]) -> Row:
        """The most recently written version of a row (which must exist)."""
        row = self.erp[table][key][-1][1]
        if row is None:
            raise KeyError(f"{table} {key} was deleted")
        return row

    def price_for(self, product: Row, day: date, currency: str) -> Decimal:
        """The month's benchmark in ``currency`` at the day's rate (``MasterData`` provides it)."""
        raise NotImplementedError

    def fx_rate(self, day: date, from_currency: str, to_currency: str) -> Decimal:
        """Units of ``to_currency`` per 1 ``from_currency`` on ``day`` (``MasterData`` provides it)."""
        raise NotImplementedError

    def take(self, kind: str, rate: float, minimum: int = 2) -> bool:
        """Inject a case of ``kind`` here? Always for its first ``minimum`` chances (so that even a small
        scenario has every boundary case), then at ``rate``. Draws from the main stream either way."""
        draw = self.rng.random()
        if self.quota[kind] < minimum or draw < rate:
            self.quota[kind] += 1
            return True
        return False

    def next_id(self, kind: str, start: int, width: int = 10) -> str:
        self.counters[kind] += 1
        return str(start + self.counters[kind]).zfill(width)

    def business_hour(self) -> float:
        return self.rng.uniform(9.0, 17.5)
