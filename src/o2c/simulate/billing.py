"""Billing documents (VBRK/VBRP), their FI customer items (BSID/BSAD), customer payments and clearing.

Billing follows a commodity trader's SAP (DECISIONLOG "Pricing, billing and payments (simulator)"):

- **invoices** (FKART F2, VBTYP M) per delivery, on the order's payment terms (VBKD-ZTERM): dated the goods
  issue (terms from the invoice date), the B/L date (terms from the B/L date: the baseline ZFBDT is the
  shipment's on-board date), or the delivery's creation (prepayment ``ZPRE``: billed before goods issue and
  paid before loading);
- **formula-priced lines**: a provisional invoice (ZPRV) at the order's provisional price, and once the
  quotational period has closed a debit memo (L2, VBTYP P) or credit memo (G2, VBTYP O) for
  quantity × (final − provisional) with reference to it (VBRP-VGBEL, VBFA M→P / M→O);
- **cancellations** (S1, VBTYP N, VBRK-SFAKN the cancelled invoice, which gets FKSTO X): the cancellation's
  FI item clears the invoice's item under the cancellation's document on its date; a corrected invoice follows;
- **quality claims**: credit memos (G2) with reference to the invoice in SD, without it in FI (REBZG blank).

Payments are planned per customer item when it is posted and settled at the end (:meth:`build_payments`):
most items are paid alone, some together with other items of the customer (one clearing document, one bank
credit of the total), some in part (the clearing posts a residual item for the rest, REBZG the original
document, paid later or never). The receivable cases a warehouse gets wrong when it reads SAP naively:

- **cash-discount terms** (2 % within 10 days, net 30: ``ZBD1T`` 10, ``ZBD2T`` 30): due at day 30, not 10;
- **instalments**: one invoice, two FI items due 10 and 20 days out (AR is judged per item, not invoice);
- **credit memos** (``SHKZG`` H, no invoice reference): due at their baseline date, never "overdue AR";
- **payments at the boundary**: on the due date, one day after (never overdue at a day's end: the item is
  cleared by then) and two days after (overdue on exactly one as-of date);
- **residual items** never paid: overdue from the original's due date (the residual keeps its terms).
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from o2c.simulate.catalog import (
    PAYMENT_TERMS,
    RULE_AR_OVERDUE,
    TRADE_TERMS_MINIMUM,
    TRADE_TERMS_SHARE,
    PaymentTerm,
    Row,
    at,
    dats,
    money,
)
from o2c.simulate.model import Case, FormulaPricing, InvoiceTruth, Payment, SimConfig, WriteOff
from o2c.simulate.timeline import Timeline

DISCOUNT_TERMS = ("ZS30", 10, Decimal("2.000"), 30)
"""(code, discount days ZBD1T, discount % ZBD1P, net days ZBD2T): 2/10 net 30."""
CATEGORY = {"F2": "M", "ZPRV": "M", "S1": "N", "G2": "O", "L2": "P"}
"""VBRK-VBTYP of each billing type the simulator writes."""


@dataclass
class FiItem:
    key: tuple[str, str, str, str]
    row: Row
    due: date
    posted: datetime
    """the moment the item was written (its posting)"""

    @property
    def item_id(self) -> str:
        return "-".join((self.key[0], self.key[2], self.key[1], self.key[3]))

    @property
    def amount(self) -> Decimal:
        return Decimal(str(self.row["WRBTR"]))

    @property
    def billing_document(self) -> str:
        return str(self.row["VBELN"])


@dataclass
class Receivable:
    """A debit customer item and the day it is to be paid (``None``: never), settled by
    :meth:`Billing.build_payments`."""

    item: FiItem
    customer: Row
    order: str
    reference: str
    """the contract (or the order of a spot sale) a remittance may quote"""
    pay_day: date | None
    clean: bool
    """paid ahead of its due date by the usual plan, no boundary case: may be paid with other items or in part"""
    credits: list[FiItem] = field(default_factory=list)
    """credit items deducted from its payment"""


@dataclass
class OpenCredit:
    """A credit memo item deducted from the customer's next payment on or after its posting (preferably
    the payment of ``preferred``)."""

    item: FiItem
    customer: Row
    preferred: list[Receivable]


def _weekday_on_or_before(day: date) -> date:
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


def _weekday_on_or_after(day: date) -> date:
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def _month_start(day: date, months_on: int = 0) -> date:
    month = day.month - 1 + months_on
    return date(day.year + month // 12, month % 12 + 1, 1)


def quotational_period(bl_date: date, rule: str) -> tuple[date, date]:
    """The quotational period of a formula-priced delivery: the B/L month (``M``) or the month after it
    (``M+1``), first and last day."""
    first = _month_start(bl_date, 1 if rule == "M+1" else 0)
    return first, _month_start(first, 1) - timedelta(days=1)


class Billing(Timeline):
    def __init__(self, cfg: SimConfig) -> None:
        super().__init__(cfg)
        self.receivables: list[Receivable] = []
        """customer items and their planned payment day, settled by :meth:`build_payments`"""
        self.open_credits: list[OpenCredit] = []
        """credit memo items to deduct from the customer's next payment"""
        self.unpaid: list[tuple[FiItem, str, str]] = []
        """items never paid (item, order, customer), written off by :meth:`build_write_offs`"""

    # -- customer master: trade terms ------------------------------------------------------------------
    def assign_trade_terms(self) -> None:
        """Give a share of the customers a trader's term from go-live (KNB1-ZTERM): net days from the B/L
        date, L/C usance, prepayment (``catalog.TRADE_TERMS_SHARE``, each at least twice when there are
        customers enough). Runs after the customer master is written and before it changes over time; a
        stream of its own."""
        rng = random.Random(f"{self.cfg.seed}:trade-terms")  # noqa: S311 - a simulation
        order = rng.sample(range(len(self.customers)), len(self.customers))
        forced = [code for code in TRADE_TERMS_SHARE for _ in range(TRADE_TERMS_MINIMUM)]
        if len(forced) * 3 > len(self.customers):
            forced = list(TRADE_TERMS_SHARE)[: len(self.customers) // 3]
        for position, index in enumerate(order):
            if position < len(forced):
                zterm: str | None = forced[position]
            else:
                draw, zterm = rng.random(), None
                for code, share in TRADE_TERMS_SHARE.items():
                    if draw < share:
                        zterm = code
                        break
                    draw -= share
            if zterm is None:
                continue
            customer = self.customers[index]
            kunnr = customer["KUNNR"]
            customer["ZTERM"] = zterm
            self.payment_terms[kunnr] = [(date.min, zterm)]
            versions = self.erp["KNB1"][(kunnr, "1000")]
            when, row = versions[0]
            assert row is not None and len(versions) == 1
            versions[0] = (when, {**row, "ZTERM": zterm})

    # -- invoices --------------------------------------------------------------------------------------
    def build_invoice(
        self,
        customer: Row,
        vbeln: str,
        posnr: str,
        lieferung: str,
        terms: Row,
        delivered: Decimal,
        price: Decimal,
        goods_issue: date,
        picked: datetime,
        issued: datetime,
        bl_date: date,
    ) -> None:
        """Bill a delivery. The payment terms are the order's (VBKD-ZTERM, as SAP copies them), not the
        customer's current ones: an order entered before a change of terms is billed on the old terms.
        ``bl_date``: the shipment's on-board (actual departure) date."""
        rng = self.rng
        zterm = terms["ZTERM"]
        term = PAYMENT_TERMS[zterm]
        if term.baseline == "prepayment":  # billed when the delivery is created, on a weekday
            billing_date = _weekday_on_or_after(picked.date())
            billed = max(at(billing_date, self.business_hour()), picked + timedelta(hours=1))
            baseline = billing_date
        elif term.baseline == "bl":  # billed against the bill of lading
            billing_date = bl_date + timedelta(days=rng.randint(0, 1))
            billed = at(billing_date, self.business_hour())
            baseline = bl_date
        else:
            billing_date = goods_issue + timedelta(days=rng.randint(0, 1))
            billed = max(at(billing_date, self.business_hour()), issued + timedelta(minutes=30))
            baseline = billing_date
        qp_rule = terms.get("QP_RULE")
        fkart = "ZPRV" if qp_rule else "F2"
        invoice, items = self._invoice(
            customer, vbeln, posnr, lieferung, terms, delivered, price, fkart, billing_date, baseline, billed
        )
        invoice_date = billing_date
        cancel_day = _weekday_on_or_after(billing_date + timedelta(days=rng.randint(1, 4)))
        if (
            fkart == "F2"
            and term.baseline != "prepayment"
            and len(items) == 1
            and cancel_day < items[0].due
            and self.take("cancellation", 0.012)
        ):  # reissued: cancelled (S1) and billed again, correctly, that day
            cancelled_at = at(cancel_day, self.business_hour())
            self._cancel(customer, invoice, items[0], terms, delivered, cancel_day, cancelled_at)
            invoice, items = self._invoice(
                customer,
                vbeln,
                posnr,
                lieferung,
                terms,
                delivered,
                price,
                fkart,
                cancel_day,
                cancel_day if term.baseline == "invoice" else baseline,
                cancelled_at + timedelta(minutes=10),
            )
            invoice_date = cancel_day
        credit = None
        if fkart == "F2" and self.take("credit_memo", 0.02):  # a quality claim: no invoice reference in FI
            total = sum((item.amount for item in items), Decimal(0))
            claim = money(total * Decimal(str(rng.choice([0.01, 0.02, 0.03]))))
            credit = self._memo(
                customer,
                invoice,
                terms,
                Decimal(0),
                -claim,
                invoice_date + timedelta(days=rng.randint(2, 6)),
                "quality_claim",
            )
        receivables = self._plan(customer, vbeln, terms, items, invoice_date, term)
        if credit is not None:  # deducted from the first payment on or after the claim
            for receivable in receivables:
                if receivable.pay_day is not None and credit.due <= receivable.pay_day:
                    receivable.credits.append(credit)
                    break
        if qp_rule:
            self._final_price(
                customer,
                vbeln,
                posnr,
                lieferung,
                terms,
                delivered,
                price,
                invoice,
                items,
                bl_date,
                receivables,
            )

    def _invoice(
        self,
        customer: Row,
        vbeln: str,
        posnr: str,
        lieferung: str,
        terms: Row,
        delivered: Decimal,
        price: Decimal,
        fkart: str,
        billing_date: date,
        baseline: date,
        billed: datetime,
    ) -> tuple[str, list[FiItem]]:
        """Write an invoice of a delivery (VBRK, VBRP, VBFA J→M) and its customer items: one item on the
        order's terms, or now and then (an F2 on T/T terms) cash-discount terms or two instalments."""
        invoice = self.next_id("invoice", 90000000)
        amount = money(delivered * price)
        zterm = terms["ZTERM"]
        self._billing_document(invoice, fkart, billing_date, customer, amount, zterm, billed)
        self._billing_item(invoice, delivered, amount, terms, vbeln, posnr, lieferung, "J", billed)
        self.flow(
            billed,
            (lieferung, "000010", "J"),
            (invoice, "000010", "M"),
            delivered,
            amount,
            customer["CURRENCY"],
        )
        posted = billed + timedelta(minutes=5)
        net_days = PAYMENT_TERMS[zterm].net_days
        special_terms = fkart == "F2" and baseline == billing_date
        if special_terms and zterm == "Z030" and self.take("discount_terms", 0.10):
            code, discount_days, discount_pct, days = DISCOUNT_TERMS
            items = [
                self._fi_item(customer, invoice, billing_date, amount, posted, code, discount_days, days)
            ]
            items[0].row["ZBD1P"] = discount_pct
        elif (
            special_terms
            and zterm in ("Z030", "Z060")
            and billing_date + timedelta(days=24) < self.cfg.end
            and self.take("instalments", 0.04)
        ):  # half due at 10, half at 20 days
            first = money(amount / 2)
            belnr = self.next_id("fi_doc", 1400000000)
            items = [
                self._fi_item(customer, invoice, billing_date, first, posted, "ZI12", 10, 0, belnr, "001"),
                self._fi_item(
                    customer, invoice, billing_date, amount - first, posted, "ZI12", 20, 0, belnr, "002"
                ),
            ]
        else:
            items = [
                self._fi_item(
                    customer, invoice, billing_date, amount, posted, zterm, net_days, 0, baseline=baseline
                )
            ]
        self._truth(
            invoice, fkart, customer, (f"{vbeln}-{posnr}",), lieferung, billing_date, amount, zterm, items
        )
        return invoice, items

    def _cancel(
        self,
        customer: Row,
        invoice: str,
        item: FiItem,
        terms: Row,
        qty: Decimal,
        day: date,
        when: datetime,
    ) -> None:
        """Cancel ``invoice`` (VF11): the invoice gets FKSTO X; the cancellation (S1, VBTYP N, SFAKN the
        invoice) copies its item (VBFA M→N) and posts a credit item referencing the invoice's (REBZG); both
        items are cleared at once under the cancellation's accounting document, dated the cancellation."""
        original = self.latest("VBRK", (invoice,))
        self.put("VBRK", (invoice,), when, {**original, "FKSTO": "X"})
        cancellation = self.next_id("invoice", 90000000)
        amount = Decimal(str(original["NETWR"]))
        self._billing_document(
            cancellation, "S1", day, customer, amount, original["ZTERM"], when, cancelled=invoice
        )
        line = self.latest("VBRP", (invoice, "000010"))
        self._billing_item(cancellation, qty, amount, terms, line["AUBEL"], line["AUPOS"], invoice, "M", when)
        self.flow(
            when, (invoice, "000010", "M"), (cancellation, "000010", "N"), qty, amount, customer["CURRENCY"]
        )
        posted = when + timedelta(minutes=5)
        belnr = self.next_id("fi_doc", 1400000000)
        row = dict(
            item.row,
            GJAHR=str(day.year),
            BELNR=belnr,
            BUZEI="001",
            BUDAT=dats(day),
            BLDAT=dats(day),
            REBZG=item.key[1],
            SHKZG="H",
            XBLNR=cancellation,
            VBELN=cancellation,
        )
        key = ("1000", belnr, str(day.year), "001")
        self.put("BSID", key, posted, row)
        for fi_key, fi_row in ((item.key, item.row), (key, row)):
            self.put("BSID", fi_key, posted, None)
            self.put("BSAD", fi_key, posted, dict(fi_row, AUGDT=dats(day), AUGBL=belnr))
        truth = next(t for t in reversed(self.invoice_truth) if t.invoice_id == invoice)
        truth.cancelled_by, truth.cancelled_on = cancellation, day
        self.invoice_truth.append(
            InvoiceTruth(
                cancellation,
                "S1",
                "N",
                customer["KUNNR"],
                truth.order_line_ids,
                truth.delivery_id,
                day,
                amount,
                customer["CURRENCY"],
                original["ZTERM"],
                _from_dats(str(row["ZFBDT"])),
                net_due(row),
                ("-".join(("1000", str(day.year), belnr, "001")),),
                "reissue",
                invoice,
            )
        )

    def _memo(
        self,
        customer: Row,
        invoice: str,
        terms: Row,
        qty: Decimal,
        amount: Decimal,
        day: date,
        reason: str,
        reference_item: FiItem | None = None,
    ) -> FiItem:
        """A memo with reference to ``invoice``: a debit memo (L2, VBTYP P) for a positive ``amount``, a
        credit memo (G2, VBTYP O) for a negative one; VBRP item referencing the invoice (VGBEL, VGTYP M) and
        VBFA M→P / M→O. Its customer item: a debit due on the order's terms from the memo date; a credit with
        the invoice's reference and terms when ``reference_item`` is given (REBZG), else without (a quality
        claim, due at once)."""
        memo = self.next_id("invoice", 90000000)
        fkart = "L2" if amount > 0 else "G2"
        value = abs(amount)
        when = at(day, self.business_hour())
        zterm = terms["ZTERM"]
        self._billing_document(memo, fkart, day, customer, value, zterm, when)
        line = self.latest("VBRP", (invoice, "000010"))
        self._billing_item(memo, qty, value, terms, line["AUBEL"], line["AUPOS"], invoice, "M", when)
        self.flow(
            when,
            (invoice, "000010", "M"),
            (memo, "000010", CATEGORY[fkart]),
            qty,
            value,
            customer["CURRENCY"],
        )
        posted = when + timedelta(minutes=5)
        term = PAYMENT_TERMS[zterm]
        if fkart == "L2":
            item = self._fi_item(customer, memo, day, value, posted, zterm, term.net_days, 0)
        elif reference_item is not None:
            ref = reference_item.row
            item = self._fi_item(
                customer,
                memo,
                day,
                value,
                posted,
                str(ref["ZTERM"]),
                int(ref["ZBD1T"]),
                int(ref["ZBD2T"]),
                shkzg="H",
                baseline=_from_dats(str(ref["ZFBDT"])),
                rebzg=reference_item.key[1],
            )
        else:  # XBLNR: the claimed invoice
            item = self._fi_item(customer, invoice, day, value, posted, zterm, 30, 0, shkzg="H")
            item.row["VBELN"] = memo
        if fkart == "G2":
            self.credit_memos.append(memo)
        order_lines = (f"{line['AUBEL']}-{line['AUPOS']}",)
        self._truth(memo, fkart, customer, order_lines, None, day, value, zterm, [item], reason, invoice)
        return item

    def _final_price(
        self,
        customer: Row,
        vbeln: str,
        posnr: str,
        lieferung: str,
        terms: Row,
        qty: Decimal,
        provisional: Decimal,
        invoice: str,
        items: list[FiItem],
        bl_date: date,
        receivables: list[Receivable],
    ) -> None:
        """Price a formula-priced delivery once its quotational period has closed: the QP's average
        benchmark (the monthly ZMM_PRICE_BENCH quote, USD) at the type-M rate of the QP's last day, plus the
        contract premium; 2–5 days after the QP the difference to the provisional invoice is billed (debit
        memo) or credited (credit memo), with reference to it. Nothing while the QP is open, or when the
        settlement falls after the simulated range."""
        rule = str(terms["QP_RULE"])
        premium = Decimal(terms["PREMIUM"])
        qp_from, qp_to = quotational_period(bl_date, rule)
        currency = customer["CURRENCY"]
        truth = FormulaPricing(
            f"{vbeln}-{posnr}",
            lieferung,
            invoice,
            bl_date,
            rule,
            qp_from,
            qp_to,
            qty,
            currency,
            (premium * 100).quantize(Decimal("0.01")),
            provisional,
        )
        self.formula_pricing.append(truth)
        settled = _weekday_on_or_after(qp_to + timedelta(days=self.rng.randint(2, 5)))
        if settled > self.cfg.end:
            return
        bench = self.bench[(terms["PRODUCT"]["MATNR"], qp_from.strftime("%Y%m"))]
        rate = Decimal(1) if currency == "USD" else self.fx_rate(qp_to, "USD", currency)
        final = (bench * rate * (1 + premium)).quantize(Decimal("0.01"))
        difference = money(qty * (final - provisional))
        truth.final_price, truth.settled_on, truth.difference = final, settled, difference
        if difference == 0:
            return
        item = self._memo(
            customer,
            invoice,
            terms,
            qty,
            difference,
            settled,
            "final_price",
            reference_item=items[0] if difference < 0 else None,
        )
        truth.memo_id = str(item.row["VBELN"])
        truth.memo_type = "L2" if difference > 0 else "G2"
        if difference > 0:
            self._plan(customer, vbeln, terms, [item], settled, PAYMENT_TERMS[terms["ZTERM"]])
        else:
            self.open_credits.append(OpenCredit(item, customer, receivables))

    # -- documents -------------------------------------------------------------------------------
    def _billing_document(
        self,
        vbeln: str,
        fkart: str,
        day: date,
        customer: Row,
        amount: Decimal,
        zterm: str,
        when: datetime,
        cancelled: str = "",
    ) -> None:
        self.put(
            "VBRK",
            (vbeln,),
            when,
            {
                "VBELN": vbeln,
                "FKART": fkart,
                "FKDAT": dats(day),
                "KUNAG": customer["KUNNR"],
                "WAERK": customer["CURRENCY"],
                "NETWR": amount,
                "MWSBK": Decimal("0.00"),
                "ZTERM": zterm,
                "FKSTO": "",
                "BUKRS": "1000",
                "ERDAT": dats(day),
                "VBTYP": CATEGORY[fkart],
                "SFAKN": cancelled,
            },
        )

    def _billing_item(
        self,
        vbeln: str,
        qty: Decimal,
        amount: Decimal,
        terms: Row,
        aubel: str,
        aupos: str,
        reference: str,
        reference_category: str,
        when: datetime,
    ) -> None:
        """VBRP item 000010: the order line (AUBEL/AUPOS) and the reference document (VGBEL: the delivery of
        an invoice, VGTYP J; the invoice of a memo or cancellation, VGTYP M)."""
        self.put(
            "VBRP",
            (vbeln, "000010"),
            when,
            {
                "VBELN": vbeln,
                "POSNR": "000010",
                "FKIMG": qty,
                "VRKME": "TO",
                "NETWR": amount,
                "MATNR": terms["PRODUCT"]["MATNR"],
                "AUBEL": aubel,
                "AUPOS": aupos,
                "VGBEL": reference,
                "VGPOS": "000010",
                "VGTYP": reference_category,
            },
        )

    def _truth(
        self,
        vbeln: str,
        fkart: str,
        customer: Row,
        order_lines: tuple[str, ...],
        delivery: str | None,
        day: date,
        amount: Decimal,
        zterm: str,
        items: list[FiItem],
        reason: str = "",
        references: str | None = None,
    ) -> None:
        self.invoice_truth.append(
            InvoiceTruth(
                vbeln,
                fkart,
                CATEGORY[fkart],
                customer["KUNNR"],
                order_lines,
                delivery,
                day,
                amount,
                customer["CURRENCY"],
                zterm,
                _from_dats(str(items[0].row["ZFBDT"])) if items else None,
                max(item.due for item in items) if items else None,
                tuple(item.item_id for item in items),
                reason,
                references,
            )
        )

    def _fi_item(
        self,
        customer: Row,
        invoice: str,
        day: date,
        amount: Decimal,
        posted: datetime,
        zterm: str,
        zbd1t: int,
        zbd2t: int,
        belnr: str | None = None,
        buzei: str = "001",
        shkzg: str = "S",
        baseline: date | None = None,
        rebzg: str = "",
    ) -> FiItem:
        """A customer item posted on ``day`` (BUDAT, BLDAT, fiscal year), its baseline date (ZFBDT) the
        document date unless ``baseline`` says otherwise (the B/L date)."""
        belnr = belnr or self.next_id("fi_doc", 1400000000)
        baseline = baseline or day
        row = {
            "BUKRS": "1000",
            "KUNNR": customer["KUNNR"],
            "GJAHR": str(day.year),
            "BELNR": belnr,
            "BUZEI": buzei,
            "BUDAT": dats(day),
            "BLDAT": dats(day),
            "ZFBDT": dats(baseline),
            "ZBD1T": zbd1t,
            "ZBD1P": Decimal("0.000"),
            "ZBD2T": zbd2t,
            "ZBD3T": 0,
            "REBZG": rebzg,
            "ZTERM": zterm,
            "SHKZG": shkzg,
            "WRBTR": amount,
            "WAERS": customer["CURRENCY"],
            "XBLNR": invoice,
            "VBELN": invoice,
        }
        key = ("1000", belnr, str(day.year), buzei)
        self.put("BSID", key, posted, row)
        return FiItem(key, row, net_due(row), posted)

    # -- payment plans ------------------------------------------------------------------------------
    def _plan(
        self,
        customer: Row,
        vbeln: str,
        terms: Row,
        items: list[FiItem],
        billing_date: date,
        term: PaymentTerm,
    ) -> list[Receivable]:
        """Plan the payment of each debit item (``_pay_plan``), record the AR cases, queue the items."""
        reference = terms["VBELN"] or vbeln
        planned = []
        for item, pay_day, note, clean in self._pay_plan(items, billing_date, term.baseline == "prepayment"):
            if note:
                self._overdue_case(item, vbeln, customer, note, pay_day)
            planned.append(Receivable(item, customer, vbeln, reference, pay_day, clean))
        self.receivables.extend(planned)
        return planned

    def _pay_plan(
        self, items: list[FiItem], billing_date: date, prepaid: bool = False
    ) -> list[tuple[FiItem, date | None, str, bool]]:
        """When each item is paid (``None``: never), the case note of a late or missing payment, and whether
        the plan is a clean early payment. A prepayment is always paid, by its due date."""
        cfg, rng = self.cfg, self.rng
        plan: list[tuple[FiItem, date | None, str, bool]] = []
        all_due = all(item.due < cfg.end - timedelta(days=3) for item in items)
        # instalments: some invoices leave both items unpaid (two overdue items of one invoice), some
        # only the second
        unpaid_from = 0 if len(items) > 1 and all_due and self.take("instalments_unpaid", 0.1, 1) else None
        if (
            unpaid_from is None
            and len(items) > 1
            and all_due
            and self.take("second_instalment_unpaid", 0.1, 1)
        ):
            unpaid_from = 1
        for index, item in enumerate(items):
            horizon_ok = item.due < cfg.end - timedelta(days=3) and not prepaid
            late = item.due + timedelta(days=2)
            one_day = item.due + timedelta(days=1)
            if unpaid_from is not None and index >= unpaid_from:
                plan.append((item, None, f"instalment {index + 1} of {len(items)} never paid", False))
                continue
            if horizon_ok and rng.random() < cfg.unpaid_invoice_rate:
                plan.append((item, None, "never paid", False))
                continue
            if horizon_ok and late.weekday() < 5 and self.take("paid_two_days_late", 0.01):
                plan.append((item, late, "paid two days after the due date", False))
                continue
            if horizon_ok and one_day.weekday() < 5 and self.take("paid_one_day_late", 0.01):
                plan.append((item, one_day, "", False))  # cleared by that day's end: never overdue
                continue
            if not prepaid and item.due.weekday() < 5 and self.take("paid_on_due_date", 0.03):
                plan.append((item, item.due, "", False))  # on the due date exactly
                continue
            earliest = billing_date + timedelta(days=min(3, (item.due - billing_date).days))
            pay_day = item.due - timedelta(days=rng.randint(0, max(0, min(20, (item.due - earliest).days))))
            pay_day = _weekday_on_or_before(pay_day)
            pay_day = max(pay_day, billing_date + timedelta(days=1))
            while pay_day.weekday() >= 5:
                pay_day += timedelta(days=1)
            if pay_day > item.due:  # no weekday in time: paid on the billing day
                pay_day = billing_date
            plan.append((item, pay_day, "", True))
        return plan

    # -- payments -----------------------------------------------------------------------------------
    def build_payments(self) -> None:
        """Settle every planned item: open credit memos join the customer's next payment; per customer, in
        payment order, an item is paid alone, with later items already posted (a combined payment: one
        clearing, one bank credit of the total, the invoices in the remittance) or in part (a residual item
        for the rest, paid by the due date or never)."""
        by_customer: dict[str, list[Receivable]] = defaultdict(list)
        for receivable in self.receivables:
            if receivable.pay_day is not None:
                by_customer[receivable.customer["KUNNR"]].append(receivable)
        for queue in by_customer.values():
            queue.sort(key=lambda r: (r.pay_day or date.max, r.item.key))
        for credit in self.open_credits:
            posted = credit.item.posted.date()
            candidates = [r for r in credit.preferred if r.pay_day is not None] + by_customer.get(
                credit.customer["KUNNR"], []
            )
            for receivable in candidates:
                assert receivable.pay_day is not None
                deducted = sum((c.amount for c in receivable.credits), credit.item.amount)
                if receivable.pay_day > posted and receivable.item.amount > deducted:
                    receivable.credits.append(credit.item)
                    break
        for kunnr in sorted(by_customer):
            queue = by_customer[kunnr]
            done: set[int] = set()
            for position, receivable in enumerate(queue):
                if position in done:
                    continue
                done.add(position)
                pay_day = receivable.pay_day
                assert pay_day is not None
                if receivable.clean and _alone(receivable.item):
                    others = [
                        index
                        for index in range(position + 1, len(queue))
                        if index not in done
                        and queue[index].clean
                        and _alone(queue[index].item)
                        and queue[index].item.posted.date() < pay_day
                        # a clearing is never dated before an item it clears: nor before a deducted credit
                        and all(c.posted.date() <= pay_day for c in queue[index].credits)
                    ]
                    if others and self.take("combined_payment", 0.05):
                        group = others[: self.rng.randint(1, 5)]
                        done.update(group)
                        self._pay_together([receivable, *(queue[index] for index in group)], pay_day)
                        continue
                    if not receivable.credits and self._pay_in_part(receivable):
                        continue
                self._pay_alone(receivable, pay_day)

    def _pay_alone(self, receivable: Receivable, pay_day: date) -> None:
        """One item (and the credits deducted from it) cleared by one bank credit."""
        customer, item = receivable.customer, receivable.item
        invoice = item.billing_document
        amount = item.amount - sum((c.amount for c in receivable.credits), Decimal(0))
        style = self.rng.random()
        if style < 0.80:
            remittance = f"PAYMENT INV {invoice} ORDER {receivable.order}"
        elif style < 0.95:  # the contract number, or the order's for a spot sale
            remittance = f"/INV/{invoice}/PO/{receivable.reference}"
        else:
            remittance = f"{customer['NAME'][:20].upper()} TRANSFER"
        documents = {invoice} | {c.billing_document for c in receivable.credits}
        # credits of its own invoice (a claim quoting it, a memo referencing its item) keep it a payment of
        # that invoice; a credit memo of another invoice deducted makes it a combined payment
        own = all(c.row["XBLNR"] == invoice or c.row["REBZG"] == item.key[1] for c in receivable.credits)
        self._clear(
            customer,
            pay_day,
            [item, *receivable.credits],
            amount,
            remittance,
            f"E2E{invoice}{item.key[3]}{pay_day.strftime('%m%d')}",
            "full" if own else "combined",
            invoice if own else None,
            documents,
        )

    def _pay_together(self, group: list[Receivable], pay_day: date) -> None:
        """Several items of one customer (and their credits) cleared under one clearing document by one bank
        credit of the total; the remittance lists the invoices."""
        customer = group[0].customer
        items = [fi for r in group for fi in (r.item, *r.credits)]
        amount = sum((r.item.amount for r in group), Decimal(0)) - sum(
            (c.amount for r in group for c in r.credits), Decimal(0)
        )
        invoices = list(dict.fromkeys(r.item.billing_document for r in group))
        credits = list(dict.fromkeys(c.billing_document for r in group for c in r.credits))
        remittance = "PAYMENT INV " + " ".join(invoices)
        if credits:
            remittance += " LESS CN " + " ".join(credits)
        clearing = self._clear(
            customer, pay_day, items, amount, remittance[:140], "", "combined", None, {*invoices, *credits}
        )
        self.payments[-1].end_to_end_id = f"E2EC{clearing}{pay_day.strftime('%m%d')}"

    def _pay_in_part(self, receivable: Receivable) -> bool:
        """Pay 30–80 % of a clean item on a weekday after its posting and before its planned payment day;
        the clearing posts a residual item for the rest (same terms and baseline, REBZG the original
        document, in the payment document), paid on the planned day or, now and then, never."""
        pay_day, item = receivable.pay_day, receivable.item
        assert pay_day is not None
        first = item.posted.date() + timedelta(days=1)
        days = [first + timedelta(days=n) for n in range((pay_day - first).days)]
        days = [d for d in days if d.weekday() < 5]
        if not days or not self.take("partial_payment", 0.03):
            return False
        rng, customer = self.rng, receivable.customer
        part_day = rng.choice(days)
        part = money(item.amount * Decimal(str(round(rng.uniform(0.3, 0.8), 2))))
        invoice = item.billing_document
        clearing = self._clear(
            customer,
            part_day,
            [item],
            part,
            f"PART PAYMENT INV {invoice}",
            f"E2EP{invoice}{item.key[3]}{part_day.strftime('%m%d')}",
            "partial",
            None,
            {invoice},
        )
        year = str(part_day.year)
        residual_row = dict(
            item.row,
            GJAHR=year,
            BELNR=clearing,
            BUZEI="002",
            BUDAT=dats(part_day),
            BLDAT=dats(part_day),
            REBZG=item.key[1],
            WRBTR=item.amount - part,
        )
        key = ("1000", clearing, year, "002")
        moment = self._cleared_moment(part_day, [item])
        self.put("BSID", key, moment, residual_row)
        residual = FiItem(key, residual_row, item.due, moment)
        self.payments[-1].residual_item = residual.item_id
        if item.due < self.cfg.end - timedelta(days=3) and self.take("residual_unpaid", 0.2, 1):
            self._overdue_case(
                residual, receivable.order, customer, "residual item of a partial payment never paid", None
            )
            return True
        self._clear(
            customer,
            pay_day,
            [residual],
            residual.amount,
            f"BALANCE INV {invoice}",
            f"E2ER{invoice}{item.key[3]}{pay_day.strftime('%m%d')}",
            "residual",
            None,
            {invoice},
        )
        return True

    def _overdue_case(self, item: FiItem, order: str, customer: Row, note: str, pay_day: date | None) -> None:
        """Record the AR_OVERDUE case of an item paid late or never. An item never paid is written off
        (:meth:`build_write_offs`) if its day comes within the simulated range: the case ends the day before."""
        until = None if pay_day is None else pay_day - timedelta(days=1)
        if pay_day is None:
            self.unpaid.append((item, order, customer["KUNNR"]))
            written_off = self._write_off_day(item)
            if written_off <= self.cfg.end:
                until = written_off - timedelta(days=1)
                note = f"{note}; written off on {written_off.isoformat()}"
        self.cases.append(
            Case(RULE_AR_OVERDUE, item.item_id, order, customer["KUNNR"], item.due, note, until)
        )

    def _write_off_day(self, item: FiItem) -> date:
        """The first weekday ``write_off_after_days`` after the item's net due date."""
        day = item.due + timedelta(days=self.cfg.write_off_after_days)
        while day.weekday() >= 5:
            day += timedelta(days=1)
        return day

    def build_write_offs(self) -> None:
        """Write off every item never paid whose day comes within the simulated range (credit control gave up
        on it): a clearing document without a bank payment (SAP F-30 against the bad-debt account) moves it
        from BSID to BSAD at 18:00 that day. Ground truth: ``World.write_offs``."""
        for item, _, kunnr in self.unpaid:
            day = self._write_off_day(item)
            if day > self.cfg.end:
                continue
            clearing = self.next_id("clearing", 1500000000)
            cleared_at = max(at(day, 18.0), item.posted + timedelta(minutes=30))
            self.put("BSID", item.key, cleared_at, None)
            self.put("BSAD", item.key, cleared_at, dict(item.row, AUGDT=dats(day), AUGBL=clearing))
            self.write_offs.append(
                WriteOff(
                    item.item_id,
                    item.billing_document,
                    kunnr,
                    item.amount,
                    str(item.row["WAERS"]),
                    item.due,
                    day,
                    clearing,
                )
            )

    def _cleared_moment(self, day: date, items: list[FiItem]) -> datetime:
        """16:30 on ``day``, or half an hour after the latest posting of ``items`` if that is later."""
        return max(at(day, 16.5), max(item.posted for item in items) + timedelta(minutes=30))

    def _clear(
        self,
        customer: Row,
        pay_day: date,
        items: list[FiItem],
        amount: Decimal,
        remittance: str,
        end_to_end_id: str,
        kind: str,
        invoice_id: str | None,
        invoice_ids: set[str],
    ) -> str:
        """Book the bank credit and clear ``items`` (BSID → BSAD) under a new clearing document (returned)."""
        clearing = self.next_id("clearing", 1500000000)
        self.payments.append(
            Payment(
                booking_date=pay_day,
                account_currency=customer["CURRENCY"],
                amount=amount,
                payer_name=customer["NAME"],
                payer_account=customer["ACCOUNT"],
                remittance=remittance,
                end_to_end_id=end_to_end_id,
                invoice_id=invoice_id,
                customer_id=customer["KUNNR"],
                kind=kind,
                invoice_ids=tuple(sorted(invoice_ids)),
                cleared_items=tuple(item.item_id for item in items),
                clearing_document=clearing,
            )
        )
        cleared_at = self._cleared_moment(pay_day, items)
        for fi in items:
            self.put("BSID", fi.key, cleared_at, None)
            self.put("BSAD", fi.key, cleared_at, dict(fi.row, AUGDT=dats(pay_day), AUGBL=clearing))
        return clearing


def _alone(item: FiItem) -> bool:
    """May the item be paid with others or in part? Not an instalment (its invoice's other item may be
    paid alone: a clearing reset reads payments by invoice), not a prepayment (paid in full before loading)."""
    return item.row["ZTERM"] not in ("ZI12", "ZPRE")


def _from_dats(value: str) -> date:
    return date(int(value[:4]), int(value[4:6]), int(value[6:8]))


def net_due(row: Row) -> date:
    """SAP's net due date (``NET_DUE_DATE_GET``): a credit without invoice reference (REBZG blank) is due at
    its baseline date; otherwise ZBD3T, else ZBD2T, else ZBD1T days after it."""
    baseline = _from_dats(str(row["ZFBDT"]))
    if row["SHKZG"] == "H" and not str(row["REBZG"]).strip():
        return baseline
    days = next((int(row[f]) for f in ("ZBD3T", "ZBD2T", "ZBD1T") if int(row[f] or 0) > 0), 0)
    return baseline + timedelta(days=days)
