"""What a simulation produces: its configuration, the ERP timeline, shipments, bank movements and the
ground-truth cases, plus the views of them "as of" a moment that the simulated systems serve."""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
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
    write_off_after_days: int = 365
    """a customer item never paid is written off (cleared without a payment, against bad debt) on the first
    weekday this many days after its net due date"""
    rejection_rate: float = 0.02
    deleted_order_rate: float = 0.03
    """orders entered by mistake and deleted a few days later (change documents record it)"""
    clearing_reset_rate: float = 0.05
    """cleared invoices whose clearing is reset (payment returned) and later paid again"""
    late_commit_rate: float = 0.05
    """clearings posted by the 01:40 night batch whose transaction commits after the 02:00 cutoff"""
    price_band_pct: Decimal = Decimal("8")
    bad_bank_file_day: int | None = 40
    spot_share: float = 0.12
    """share of order lines sold spot (order type ZSPT, no contract)"""
    credit_limit_changes: float = 0.03
    """credit limit changes (KNKK-KLIMK) per customer and 30 days"""
    rep_changes: float = 0.012
    """owner rep reassignments (KNVP-PERNR, partner function VE) per customer and 30 days"""
    payment_term_changes: float = 0.012
    """payment term changes (KNB1-ZTERM) per customer and 30 days"""

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
    until: date | None = None
    """the last as-of date on which a time-based case is still expected (resolved the day after)"""


@dataclass
class ContractTruth:
    """A quantity contract, its lifting plan and what the definition of under-lifting says about it
    (DECISIONLOG "Contracts and lifting"), computed from the ERP timeline the simulator wrote."""

    contract_id: str
    customer_id: str
    material_id: str
    plant_id: str
    valid_from: date
    valid_to: date
    contract_qty: Decimal
    tolerance_pct: Decimal
    plan_kind: str
    """on_pace, on_pace_near_threshold, on_pace_at_tolerance, late_call_off, under_lifter_stopped,
    under_lifter_slowed, under_lifter_brief (or slowed_within_tolerance: slowed, never crossed)"""
    predecessor_id: str | None
    first_under_lifting_date: date | None
    under_lifting: list[tuple[date, date]]
    """every period (first and last date, inclusive) the contract was under-lifting, up to the last simulated day"""
    max_gap_pct_of_threshold: Decimal | None
    """the largest lifting gap on any date of validity up to the last simulated day, in % of the threshold"""
    called_off_qty_at_end: Decimal
    """called-off quantity (late call-offs included) as the ERP stands at the last simulated day's end"""


@dataclass
class OrderLineTruth:
    """How a sales order line came about: a call-off against a contract (possibly after its expiry) or a
    spot sale without contract."""

    order_line_id: str
    order_id: str
    customer_id: str
    material_id: str
    created_date: date
    kind: str
    """call_off, late_call_off or spot"""
    contract_id: str | None
    contract_valid_to: date | None
    initial_qty: Decimal

    @property
    def days_after_expiry(self) -> int | None:
        if self.contract_valid_to is None or self.created_date <= self.contract_valid_to:
            return None
        return (self.created_date - self.contract_valid_to).days


@dataclass
class MasterDataChange:
    """A customer master change on a stated date (the row version is written at a business hour that day)."""

    customer_id: str
    field: str
    """the warehouse's name: credit_limit, owner_rep_id or payment_terms_code"""
    sap_table: str
    sap_field: str
    old_value: str
    new_value: str
    effective_date: date
    changed_at: datetime


@dataclass
class WriteOff:
    """A customer item never paid, written off: cleared by a clearing document with no bank payment."""

    item_id: str
    """BUKRS-BELNR-GJAHR-BUZEI"""
    invoice_id: str
    customer_id: str
    amount: Decimal
    currency: str
    net_due_date: date
    written_off_on: date
    clearing_document: str


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
    """the one invoice whose item(s) this payment clears in full; ``None`` for a combined, partial or
    residual payment (``invoice_ids`` lists what it pays)"""
    customer_id: str
    kind: str = "full"
    """full (one invoice's item), partial (part of an item: a residual item stays open), residual (pays a
    residual item), combined (several invoices' items, credit memos deducted, under one clearing)"""
    invoice_ids: tuple[str, ...] = ()
    """every billing document whose customer items the payment clears (credit memos deducted included)"""
    cleared_items: tuple[str, ...] = ()
    """the customer items (BUKRS-GJAHR-BELNR-BUZEI) cleared by this payment's clearing document"""
    clearing_document: str = ""
    """the clearing (payment) document, BSAD-AUGBL of every item cleared"""
    residual_item: str = ""
    """for a partial payment: the residual item it left open (posted in the payment document)"""


@dataclass
class InvoiceTruth:
    """A billing document (VBRK) as billed, with its payment terms and what became of it."""

    invoice_id: str
    billing_type: str
    """FKART: F2 invoice, ZPRV provisional invoice, L2 debit memo, G2 credit memo, S1 cancellation"""
    document_category: str
    """VBRK-VBTYP: M invoice, N cancellation, O credit memo, P debit memo"""
    customer_id: str
    order_line_ids: tuple[str, ...]
    delivery_id: str | None
    invoice_date: date
    amount: Decimal
    currency: str
    terms: str
    """VBRK-ZTERM (the order's terms)"""
    baseline: date | None
    """the baseline date (ZFBDT) of its customer items; ``None`` when it posts none"""
    net_due_date: date | None
    """the latest net due date of its customer items (instalments: the last one)"""
    customer_items: tuple[str, ...] = ()
    reason: str = ""
    """why a memo or cancellation was issued: quality_claim, final_price, reissue"""
    references: str | None = None
    """the billing document a memo or cancellation refers to (VBRP-VGBEL, VBFA preceding document)"""
    cancelled_by: str | None = None
    cancelled_on: date | None = None


@dataclass
class FormulaPricing:
    """A formula-priced delivery: provisional invoice at the order's (provisional) price, final price from
    the quotational period's benchmark, and the difference memo."""

    order_line_id: str
    delivery_id: str
    provisional_invoice_id: str
    bl_date: date
    qp_rule: str
    qp_from: date
    qp_to: date
    qty: Decimal
    currency: str
    premium_pct: Decimal
    provisional_price: Decimal
    """per MT, VBAP-NETPR ÷ KPEIN: the order month's benchmark in the order currency plus the premium"""
    final_price: Decimal | None = None
    """per MT: the QP's average benchmark (USD) at the QP's last day's rate, plus the premium; ``None`` while the
    QP is open or the settlement falls after the simulated range"""
    settled_on: date | None = None
    difference: Decimal | None = None
    """qty × (final − provisional), to the cent: the memo's amount (signed: negative is a credit)"""
    memo_id: str | None = None
    memo_type: str | None = None


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
    """A forwarder's shipment as a timeline of versions (moment written, payload without ``updated_at``)."""

    shipment_id: str
    versions: list[tuple[datetime, dict[str, Any]]] = field(default_factory=list)
    plan_reasons: dict[datetime, str] = field(default_factory=dict)
    """why the ETD/ETA plan changed in the version written at that moment (roll-over, congestion, ...)"""

    def add(self, when: datetime, body: dict[str, Any], plan_reason: str | None = None) -> None:
        """Append a version; ``plan_reason`` says why its ETD/ETA differ from the previous plan, if they do."""
        self.versions.append((when, body))
        if plan_reason is not None:
            self.plan_reasons[when] = plan_reason

    def rng(self, seed: int, purpose: str) -> random.Random:
        """A random stream of this shipment's own, so shipment details never shift the ERP's draws."""
        return random.Random(f"{seed}:{self.shipment_id}:{purpose}")  # noqa: S311 - a simulation

    def plan_revisions(self, versions: list[tuple[datetime, dict[str, Any]]]) -> list[dict[str, Any]]:
        """Every ETD/ETA plan in ``versions`` (in time order), oldest first: the plan at booking, then one entry
        per version whose plan differs from the one before it."""
        revisions: list[dict[str, Any]] = []
        for stamp, body in versions:
            plan = (body["etd_planned"], body["eta_planned"])
            if revisions and (revisions[-1]["etd_planned"], revisions[-1]["eta_planned"]) == plan:
                continue
            revisions.append(
                {
                    "revised_at": body.get("created_at", _utc(stamp)) if not revisions else _utc(stamp),
                    "etd_planned": plan[0],
                    "eta_planned": plan[1],
                    "reason": self.plan_reasons.get(stamp) if revisions else None,
                }
            )
        return revisions


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


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
    commit_times: dict[tuple[str, tuple[str, ...], datetime], datetime] = field(default_factory=dict)
    """versions committed after their change time: (table, key, changed_at) -> commit time"""
    deleted_orders: list[str] = field(default_factory=list)
    reset_items: list[str] = field(default_factory=list)
    """customer items (BUKRS-BELNR-GJAHR-BUZEI) whose clearing was reset and which were paid again"""
    late_commits: list[str] = field(default_factory=list)
    """customer items whose clearing committed after the nightly cutoff"""
    credit_memos: list[str] = field(default_factory=list)
    """billing documents (VBRK) of credit memos"""
    contracts: list[ContractTruth] = field(default_factory=list)
    order_line_truth: list[OrderLineTruth] = field(default_factory=list)
    master_data_changes: list[MasterDataChange] = field(default_factory=list)
    invoices: list[InvoiceTruth] = field(default_factory=list)
    """every billing document: invoices, provisional invoices, memos, cancellations"""
    formula_pricing: list[FormulaPricing] = field(default_factory=list)
    write_offs: list[WriteOff] = field(default_factory=list)
    """customer items never paid and written off (``SimConfig.write_off_after_days``)"""

    def erp_as_of(
        self,
        table: str,
        cutoff: datetime,
        by_change_time: bool = False,
        keys: Iterable[tuple[str, ...]] | None = None,
    ) -> list[Row]:
        """Rows of ``table`` as the ERP held them at ``cutoff`` (deleted rows omitted): the versions
        committed by then. With ``by_change_time``, versions *changed* by then, however late committed:
        the state a warehouse should show for that cutoff once every late commit has arrived. With ``keys``,
        only the rows of those keys (the simulated ERP applies a night's changes without rewriting the rest)."""
        late = {} if by_change_time else self._late_commits(table)
        versions_by_key = self.erp[table]
        selected = versions_by_key if keys is None else [k for k in keys if k in versions_by_key]
        rows: list[Row] = []
        for key in sorted(selected):
            delays = late.get(key)
            current: tuple[datetime, Row | None] | None = None
            for version in versions_by_key[key]:
                changed_at = version[0]
                visible_at = delays.get(changed_at, changed_at) if delays else changed_at
                if visible_at <= cutoff and (current is None or changed_at >= current[0]):
                    current = version
            if current is not None and current[1] is not None:
                rows.append({**current[1], "CHANGED_AT": current[0]})
        return rows

    def erp_keys_changed(self, table: str, since: datetime, cutoff: datetime) -> set[tuple[str, ...]]:
        """Keys of ``table`` with a version that became visible (was committed) after one of the two moments
        and by the other: the only rows whose state at ``cutoff`` can differ from their state at ``since``."""
        low, high = min(since, cutoff), max(since, cutoff)
        late = self._late_commits(table)
        changed: set[tuple[str, ...]] = set()
        for key, versions in self.erp[table].items():
            delays = late.get(key)
            for changed_at, _ in versions:
                visible_at = delays.get(changed_at, changed_at) if delays else changed_at
                if low < visible_at <= high:
                    changed.add(key)
                    break
        return changed

    def _late_commits(self, table: str) -> dict[tuple[str, ...], dict[datetime, datetime]]:
        """``commit_times`` of ``table``: key -> change time -> commit time (a few per cent of versions)."""
        late: dict[tuple[str, ...], dict[datetime, datetime]] = {}
        for (name, key, changed_at), committed in self.commit_times.items():
            if name == table:
                late.setdefault(key, {})[changed_at] = committed
        return late

    def shipments_as_of(self, cutoff: datetime) -> list[dict[str, Any]]:
        """Each shipment's latest version at ``cutoff``, with its plan history up to then (``plan_revisions``)."""
        out = []
        for shipment in self.shipments:
            visible = sorted((v for v in shipment.versions if v[0] <= cutoff), key=lambda v: v[0])
            if visible:
                stamp, body = visible[-1]
                out.append(
                    {**body, "plan_revisions": shipment.plan_revisions(visible), "updated_at": _utc(stamp)}
                )
        return out
