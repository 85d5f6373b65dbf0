"""Billing documents (VBRK/VBRP), their FI customer items (BSID/BSAD) and the plan of each item's payment.

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

Payments are planned per customer item when it is posted and settled at the end
(:meth:`~o2c.simulate.payments.Payments.build_payments`): most items are paid alone, some together with other
items of the customer (one clearing document, one bank credit of the total), some in part (the clearing posts
a residual item for the rest, REBZG the original document, paid later or never); how each payment reaches the
bank and is cleared is :mod:`o2c.simulate.receipts`. The receivable cases a warehouse gets wrong when it reads
SAP naively:

- **cash-discount terms** (2 % within 10 days, net 30: ``ZBD1T`` 10, ``ZBD2T`` 30): due at day 30, not 10;
- **instalments**: one invoice, two FI items due 10 and 20 days out (AR is judged per item, not invoice);
- **credit memos** (``SHKZG`` H, no invoice reference): due at their baseline date, never "overdue AR";
- **payments at the boundary**: on the due date, one day after (never overdue at a day's end: the item is
  cleared by then) and two days after (overdue on exactly one as-of date);
- **residual items** never paid: overdue from the original's due date (the residual keeps its terms).
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from decimal import Decimal

from o2c.simulate.catalog import (
    PAYMENT_TERMS,
    TRADE_TERMS_MINIMUM,
    TRADE_TERMS_SHARE,
    PaymentTerm,
    Row,
    at,
    dats,
    money,
)
from o2c.simulate.model import FormulaPricing, InvoiceTruth
from o2c.simulate.payments import Payments
from o2c.simulate.receivables import (
    FiItem,
    OpenCredit,
    Receivable,
    from_dats,
    net_due,
    weekday_on_or_after,
    weekday_on_or_before,
)

__all__ = ["CATEGORY", "DISCOUNT_TERMS", "Billing", "net_due", "quotational_period"]

DISCOUNT_TERMS = ("ZS30", 10, Decimal("2.000"), 30)
"""(code, discount days ZBD1T, discount % ZBD1P, net days ZBD2T): 2/10 net 30."""
CATEGORY = {"F2": "M", "ZPRV": "M", "S1": "N", "G2": "O", "L2": "P"}
"""VBRK-VBTYP of each billing type the simulator writes."""


def _month_start(day: date, months_on: int = 0) -> date:
    month = day.month - 1 + months_on
    return date(day.year + month // 12, month % 12 + 1, 1)


def quotational_period(bl_date: date, rule: str) -> tuple[date, date]:
    """The quotational period of a formula-priced delivery: the B/L month (``M``) or the month after it
    (``M+1``), first and last day."""
    first = _month_start(bl_date, 1 if rule == "M+1" else 0)
    return first, _month_start(first, 1) - timedelta(days=1)


class Billing(Payments):
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
            billing_date = weekday_on_or_after(picked.date())
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
        cancel_day = weekday_on_or_after(billing_date + timedelta(days=rng.randint(1, 4)))
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
                from_dats(str(row["ZFBDT"])),
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
        when: datetime | None = None,
    ) -> FiItem:
        """A memo with reference to ``invoice``: a debit memo (L2, VBTYP P) for a positive ``amount``, a
        credit memo (G2, VBTYP O) for a negative one; VBRP item referencing the invoice (VGBEL, VGTYP M) and
        VBFA M→P / M→O. Its customer item: a debit due on the order's terms from the memo date; a credit with
        the invoice's reference and terms when ``reference_item`` is given (REBZG), else without (a quality
        claim, due at once). Written at ``when`` (default: a business hour of ``day``)."""
        memo = self.next_id("invoice", 90000000)
        fkart = "L2" if amount > 0 else "G2"
        value = abs(amount)
        when = when or at(day, self.business_hour())
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
                baseline=from_dats(str(ref["ZFBDT"])),
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

    def claim_credit_memo(self, customer: Row, dispute: FiItem, day: date, when: datetime) -> FiItem:
        """Grant a quality claim the customer already deducted from its payment (``Receipts``): a credit memo
        (G2, reason quality_claim) with reference to the invoice (VBRP-VGBEL, VBFA M→O), quantity 0, for the
        disputed amount; its credit item refers to the dispute item (REBZG, its terms and baseline), and
        the caller clears the two against each other."""
        invoice = dispute.billing_document
        line = self.latest("VBRP", (invoice, "000010"))
        terms = {"ZTERM": self.latest("VBRK", (invoice,))["ZTERM"], "PRODUCT": {"MATNR": line["MATNR"]}}
        return self._memo(
            customer, invoice, terms, Decimal(0), -dispute.amount, day, "quality_claim", dispute, when
        )

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
        settled = weekday_on_or_after(qp_to + timedelta(days=self.rng.randint(2, 5)))
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
                from_dats(str(items[0].row["ZFBDT"])) if items else None,
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
            "BLART": "RV",
            "RSTGR": "",
            "SGTXT": "",
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
            pay_day = weekday_on_or_before(pay_day)
            pay_day = max(pay_day, billing_date + timedelta(days=1))
            while pay_day.weekday() >= 5:
                pay_day += timedelta(days=1)
            if pay_day > item.due:  # no weekday in time: paid on the billing day
                pay_day = billing_date
            plan.append((item, pay_day, "", True))
        return _in_order(plan)


def _in_order(
    plan: list[tuple[FiItem, date | None, str, bool]],
) -> list[tuple[FiItem, date | None, str, bool]]:
    """Instalments are paid in their order, as customers (and a clerk clearing a payment that quotes the
    invoice) do: never one before an earlier one, and none after one never paid."""
    ordered: list[tuple[FiItem, date | None, str, bool]] = []
    for index, (item, pay_day, note, clean) in enumerate(plan):
        if ordered:
            before = ordered[-1][1]
            if before is None and pay_day is not None:
                pay_day, note, clean = None, f"instalment {index + 1} of {len(plan)} never paid", False
            elif before is not None and pay_day is not None and pay_day < before:
                pay_day = before
        ordered.append((item, pay_day, note, clean))
    return ordered
