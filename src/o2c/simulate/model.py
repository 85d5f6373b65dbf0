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
    # -- customer receipts: how payments reach the bank and the ERP (``receipts``; DECISIONLOG "Customer
    # receipts and cash application (simulator)"); each rate is a share of the payments eligible for it
    group_parent_share: float = 0.05
    """share of customers heading a group: each gets 1–3 affiliates billed in its currency (KNA1-KONZS)"""
    group_payer_rate: float = 0.4
    """payments of an affiliate's items its group parent makes (named and paid from the parent's account)"""
    group_combined_rate: float = 0.5
    """days on which a parent and an affiliate both pay that become one credit from the parent (one clearing)"""
    lc_bank_rate: float = 0.9
    """payments of items on L/C terms (ZLC0, ZLU9) the issuing bank makes (a third party quoting the invoice)"""
    third_party_rate: float = 0.01
    """other payments another company makes for the customer, quoting the invoice"""
    typo_ref_rate: float = 0.05
    """single-invoice payments quoting the invoice number mistyped: a digit missing, two adjacent digits
    swapped, spaces inside it, or glued to a prefix (``INV``, ``INV NO.``, ``发票``, ``Invoice#``)"""
    order_ref_rate: float = 0.02
    """single-invoice payments quoting the order number instead of the invoice's"""
    delivery_ref_rate: float = 0.015
    """single-invoice payments quoting the delivery number instead of the invoice's"""
    contract_ref_rate: float = 0.02
    """single-invoice payments of a call-off quoting the contract number instead of the invoice's"""
    rf_ref_rate: float = 0.04
    """single-invoice payments quoting the invoice as an ISO 11649 RF creditor reference (``iso11649``)"""
    structured_ref_rate: float = 0.08
    """payments into a camt account quoting the invoice(s) as structured referred documents (RfrdDocInf)"""
    combined_some_rate: float = 0.2
    """combined payments whose remittance lists only some of the invoices"""
    combined_none_rate: float = 0.1
    """combined payments whose remittance lists none of the invoices"""
    overpayment_rate: float = 0.008
    """single-invoice payments of more than the item: the excess goes on account"""
    on_account_refund_rate: float = 0.25
    """payments on account the customer asks to have refunded (the others are deducted from a later payment)"""
    on_account_use_days: int = 45
    """a payment on account is deducted from the customer's next payment within this many days, else refunded"""
    claim_deduction_rate: float = 0.012
    """single-invoice payments short by a quality claim (1–3 %) the customer deducted"""
    claim_credit_memo_share: float = 0.65
    """deducted claims granted by a credit memo (the rest are written off)"""
    sha_charges_rate: float = 0.15
    """payments into the USD, EUR and SGD accounts arriving short by a bank fee (charges shared, SHA)"""
    our_charges_rate: float = 0.25
    """payments into those accounts marked charges borne by the payer (OUR): the full amount arrives"""
    ben_charges_rate: float = 0.01
    """payments into those accounts with every bank's fees deducted (charges borne by the beneficiary, BEN)"""
    fx_payment_rate: float = 0.03
    """payments of USD, EUR or SGD items sent from an account in another currency, converted by the bank"""
    fx_tolerance_pct: Decimal = Decimal("1.0")
    """the largest FX difference (in % of the amount due) the ERP clears to FX gain/loss"""
    unidentified_rate: float = 0.004
    """payments from an unknown payer without any reference, cleared by hand days later"""
    clearing_delay_weights: tuple[float, float, float] = (0.1, 0.7, 0.2)
    """weights of posting a payment's clearing 0, 1 or 2 business days after the bank booked it"""
    cny_batch_rate: float = 0.3
    """CNY account days with two or more customer credits on which some are booked as one batch entry"""
    intraday_hour: float = 14.0
    """local time of the intraday reports (MT942 for USD, camt.052 for CNY)"""
    missing_bank_statement_day: int | None = 60
    """a statement (EUR, else SGD) on the first weekday from this day on with an entry is never delivered:
    the next statement's opening balance differs from the last one delivered (``None``: no gap)"""

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
class Application:
    """What a bank transaction does to one customer item, as cash application should find it
    (``cash_applications.csv``). Amounts are in the item's currency (the account's)."""

    item_id: str
    """the customer item (BUKRS-GJAHR-BELNR-BUZEI)"""
    invoice_id: str
    """its billing document (blank for a payment on account)"""
    customer_id: str
    applied_amount: Decimal
    """money of the transaction applied to the item: positive pays a debit item or goes on account,
    negative takes a credit (a credit memo or payment on account deducted, a refund) or reverses an
    application (a return)"""
    residual_amount: Decimal = Decimal("0.00")
    """what the clearing left open of the item in a new item (a partial payment's residual, a deducted
    claim's dispute item)"""
    reason: str = "paid"
    """paid, partial, claim_deduction, credit_deducted, on_account, on_account_used, refund, return"""


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
    residual item), combined (several invoices' items, credit memos or a payment on account deducted, or a
    group parent's and an affiliate's items, under one clearing)"""
    invoice_ids: tuple[str, ...] = ()
    """every billing document whose customer items the payment clears (credit memos deducted included)"""
    cleared_items: tuple[str, ...] = ()
    """the customer items (BUKRS-GJAHR-BELNR-BUZEI) cleared by this payment's clearing document"""
    clearing_document: str = ""
    """the clearing (payment) document, BSAD-AUGBL of every item cleared"""
    residual_item: str = ""
    """for a partial payment: the residual item it left open (posted in the payment document); for a deducted
    claim: the dispute item"""
    cases: tuple[str, ...] = ()
    """how it looks and what the ERP does (DECISIONLOG "Customer receipts and cash application"): exact_ref,
    typo_ref, missing_ref, order_ref, delivery_ref, contract_ref, rf_ref, structured_ref, combined, partial,
    overpayment, on_account_used, claim_deduction, charges_sha, charges_our, charges_ben, fx, third_party,
    group_payer, returned, unidentified"""
    reference_form: str = ""
    """the detail of its reference case, e.g. ``typo:swapped_digits`` or ``listed 2 of 4``"""
    payer_customer_id: str = ""
    """the customer master record of the payer: the customer, or its group parent; blank for a third party
    or an unidentified payer"""
    creditor_reference: str = ""
    """an ISO 11649 RF creditor reference quoted (camt ``Strd/CdtrRefInf``, MT940 ``/CDTRREF/``)"""
    structured_invoices: tuple[str, ...] = ()
    """invoice numbers quoted as structured referred documents (camt ``Strd/RfrdDocInf/Nb``)"""
    charge_bearer: str = ""
    """SHA, OUR or BEN (blank: not stated)"""
    charges: Decimal = Decimal("0.00")
    """bank fees deducted from the credit (SHA, BEN), in the account currency"""
    instructed_amount: Decimal | None = None
    """what the payer sent, in ``instructed_currency`` (before fees, and before conversion for FX)"""
    instructed_currency: str = ""
    exchange_rate: Decimal | None = None
    """units of the account currency per 1 instructed currency, as the bank converted (FX)"""
    fx_difference: Decimal = Decimal("0.00")
    """credited amount + charges − amount applied (FX gain positive, loss negative)"""
    applications: tuple[Application, ...] = ()
    """what it does to each customer item: ``amount`` = Σ applied − charges + fx_difference, exactly"""
    cleared_on: date | None = None
    """AUGDT of its clearing: the booking date, or the day an unidentified credit was cleared by hand"""
    clearing_posted_at: datetime | None = None
    """when the clearing document was posted (its BSAD versions' change time, before any late commit)"""
    on_account_item: str = ""
    """for an over-payment: the payment on account (credit item) it posted for the excess"""
    bank_reference: str = ""
    """the bank's reference of its statement entry (camt ``AcctSvcrRef``, MT940 ``:61:`` after ``//``)"""
    tx_seq: int = 1
    """its place in a batch entry (1 for a single entry)"""
    booked_at: datetime | None = None
    returned_by: str = ""
    """the bank reference of the return debit that sent it back"""


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
    """A debit on one of the trader's accounts: a bank fee, a supplier payment, a customer payment returned,
    or a refund of a payment on account."""

    booking_date: date
    account_currency: str
    amount: Decimal
    counterparty: str
    remittance: str
    reference: str
    """the end-to-end (customer) reference: the original payment's for a return"""
    kind: str = "fee"
    """fee, supplier, return or refund"""
    counterparty_account: str = ""
    customer_id: str = ""
    return_reason: str = ""
    """ISO 20022 return reason (ExternalReturnReason1Code) of a return: AC04, AC06, AM05, MD07, ..."""
    original_reference: str = ""
    """a return: the bank reference of the credit it returns"""
    applications: tuple[Application, ...] = ()
    clearing_document: str = ""
    """a return: the clearing it reset; a refund: the clearing of the payment on account it refunds"""
    bank_reference: str = ""
    booked_at: datetime | None = None
    original: Payment | None = field(default=None, repr=False, compare=False)
    """a return: the payment it returns"""


@dataclass
class BankEntry:
    """One entry of an account statement: a single transaction, or a batch of customer credits booked as
    one entry (its transactions in ``credits``, ``tx_seq`` 1..n)."""

    currency: str
    booking_date: date
    booked_at: datetime
    reference: str
    """the bank reference every report of the entry repeats (camt ``AcctSvcrRef``, MT940 after ``//``)"""
    credits: list[Payment] = field(default_factory=list)
    debit: BankDebit | None = None

    @property
    def direction(self) -> str:
        return "DBIT" if self.debit is not None else "CRDT"

    @property
    def amount(self) -> Decimal:
        if self.debit is not None:
            return self.debit.amount
        return sum((p.amount for p in self.credits), Decimal(0))

    @property
    def is_batch(self) -> bool:
        return len(self.credits) > 1


@dataclass
class DifferenceItem:
    """A customer item a payment's clearing posts, and what became of it: a partial payment's residual
    item, a deducted claim's dispute item, an over-payment's payment on account."""

    item_id: str
    kind: str
    """residual, dispute or on_account"""
    customer_id: str
    invoice_id: str
    """the invoice it stems from (blank for a payment on account)"""
    amount: Decimal
    """signed as the customer owes it: a payment on account is negative"""
    currency: str
    reason_code: str
    """BSID-RSTGR"""
    posted_on: date
    payment: Payment = field(repr=False, compare=False)
    """the payment whose clearing posted it"""
    settled_by: str = "open"
    """paid (a later payment), credit_memo, write_off, used (deducted from a later payment), refund, open"""
    settled_on: date | None = None
    settling_document: str = ""
    """the clearing document that cleared it (a credit memo's: the memo in ``memo_id``)"""
    memo_id: str = ""


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
    bank_entries: list[BankEntry] = field(default_factory=list)
    """every entry the banks book on the trader's accounts, in booking order per account"""
    difference_items: list[DifferenceItem] = field(default_factory=list)
    customer_groups: dict[str, str] = field(default_factory=dict)
    """affiliate -> group parent (KNA1-KONZS)"""

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
