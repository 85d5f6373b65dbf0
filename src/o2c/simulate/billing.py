"""Billing documents (VBRK/VBRP), their FI customer items (BSID/BSAD), customer payments and clearing.

Besides the plain invoice paid on time, the simulator writes the receivable cases a warehouse gets wrong
when it reads SAP naively, each with its ground truth:

- **cash-discount terms** (2 % within 10 days, net 30: ``ZBD1T`` 10, ``ZBD2T`` 30): due at day 30, not 10;
- **instalments**: one invoice, two FI items due 10 and 20 days out (AR is judged per item, not invoice);
- **credit memos** (``SHKZG`` H, no invoice reference): due at their baseline date, never "overdue AR";
- **payments at the boundary**: on the due date, one day after (never overdue at a day's end: the item is
  cleared by then) and two days after (overdue on exactly one as-of date).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from o2c.simulate.catalog import RULE_AR_OVERDUE, TERMS, Row, at, dats, money
from o2c.simulate.model import Case, Payment
from o2c.simulate.timeline import Timeline

DISCOUNT_TERMS = ("ZS30", 10, Decimal("2.000"), 30)
"""(code, discount days ZBD1T, discount % ZBD1P, net days ZBD2T): 2/10 net 30."""


@dataclass
class FiItem:
    key: tuple[str, str, str, str]
    row: Row
    due: date

    @property
    def item_id(self) -> str:
        return "-".join((self.key[0], self.key[2], self.key[1], self.key[3]))


def _weekday_on_or_before(day: date) -> date:
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


class Billing(Timeline):
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
    ) -> None:
        """Bill a delivery. The payment terms are the order's (VBKD-ZTERM, as SAP copies them), not the
        customer's current ones: an order entered before a change of terms is billed on the old terms."""
        rng = self.rng
        billing_date = goods_issue + timedelta(days=rng.randint(0, 1))
        invoice = self.next_id("invoice", 90000000)
        amount = money(delivered * price)
        zterm = terms["ZTERM"]
        billed = at(billing_date, self.business_hour())
        self._billing_document(invoice, "F2", billing_date, customer, amount, zterm, billed)
        self.put(
            "VBRP",
            (invoice, "000010"),
            billed,
            {
                "VBELN": invoice,
                "POSNR": "000010",
                "FKIMG": delivered,
                "VRKME": "TO",
                "NETWR": amount,
                "MATNR": terms["PRODUCT"]["MATNR"],
                "AUBEL": vbeln,
                "AUPOS": posnr,
                "VGBEL": lieferung,
                "VGPOS": "000010",
            },
        )
        self.flow(
            billed,
            (lieferung, "000010", "J"),
            (invoice, "000010", "M"),
            delivered,
            amount,
            customer["CURRENCY"],
        )
        posted = billed + timedelta(minutes=5)
        if zterm == "Z030" and self.take("discount_terms", 0.10):
            code, discount_days, discount_pct, net_days = DISCOUNT_TERMS
            items = [
                self._fi_item(customer, invoice, billing_date, amount, posted, code, discount_days, net_days)
            ]
            items[0].row["ZBD1P"] = discount_pct
        elif (
            zterm in ("Z030", "Z060")
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
            items = [self._fi_item(customer, invoice, billing_date, amount, posted, zterm, TERMS[zterm], 0)]

        credit = None
        if self.take("credit_memo", 0.02):  # a quality claim: a credit memo without invoice reference
            credit = self._credit_memo(
                customer, invoice, billing_date + timedelta(days=rng.randint(2, 6)), amount, zterm
            )

        pay_plan = self._pay_plan(items, billing_date)
        for item, pay_day, note in pay_plan:
            if pay_day is None:
                self.cases.append(
                    Case(RULE_AR_OVERDUE, item.item_id, vbeln, customer["KUNNR"], item.due, note)
                )
                continue
            if note:
                self.cases.append(
                    Case(
                        RULE_AR_OVERDUE,
                        item.item_id,
                        vbeln,
                        customer["KUNNR"],
                        item.due,
                        note,
                        until=pay_day - timedelta(days=1),
                    )
                )
            paid_amount = Decimal(str(item.row["WRBTR"]))
            cleared = [item]
            if credit is not None and credit.due <= pay_day:  # the claim is deducted from the payment
                paid_amount -= Decimal(str(credit.row["WRBTR"]))
                cleared.append(credit)
                credit = None
            self._pay(customer, invoice, vbeln, terms, item, pay_day, paid_amount, cleared)

    # -- documents -------------------------------------------------------------------------------
    def _billing_document(
        self, vbeln: str, fkart: str, day: date, customer: Row, amount: Decimal, zterm: str, when: datetime
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
            },
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
    ) -> FiItem:
        belnr = belnr or self.next_id("fi_doc", 1400000000)
        row = {
            "BUKRS": "1000",
            "KUNNR": customer["KUNNR"],
            "GJAHR": str(day.year),
            "BELNR": belnr,
            "BUZEI": buzei,
            "BUDAT": dats(day),
            "BLDAT": dats(day),
            "ZFBDT": dats(day),
            "ZBD1T": zbd1t,
            "ZBD1P": Decimal("0.000"),
            "ZBD2T": zbd2t,
            "ZBD3T": 0,
            "REBZG": "",
            "ZTERM": zterm,
            "SHKZG": shkzg,
            "WRBTR": amount,
            "WAERS": customer["CURRENCY"],
            "XBLNR": invoice,
            "VBELN": invoice,
        }
        key = ("1000", belnr, str(day.year), buzei)
        self.put("BSID", key, posted, row)
        due = day if shkzg == "H" else day + timedelta(days=zbd2t or zbd1t)
        return FiItem(key, row, due)

    def _credit_memo(self, customer: Row, invoice: str, day: date, amount: Decimal, zterm: str) -> FiItem:
        """A quality claim: credit memo G2 created in SD with reference to the invoice (document flow
        M→O), posted in FI without invoice reference (REBZG blank)."""
        memo = self.next_id("invoice", 90000000)
        claim = money(amount * Decimal(str(self.rng.choice([0.01, 0.02, 0.03]))))
        when = at(day, self.business_hour())
        self._billing_document(memo, "G2", day, customer, claim, zterm, when)
        self.flow(
            when, (invoice, "000010", "M"), (memo, "000010", "O"), Decimal(0), claim, customer["CURRENCY"]
        )
        item = self._fi_item(
            customer, invoice, day, claim, when + timedelta(minutes=5), zterm, 30, 0, shkzg="H"
        )
        item.row["VBELN"] = memo
        self.credit_memos.append(memo)
        return item

    # -- payment ----------------------------------------------------------------------------------
    def _pay_plan(self, items: list[FiItem], billing_date: date) -> list[tuple[FiItem, date | None, str]]:
        """When each item is paid (``None``: never) and, for a late payment, the case note."""
        cfg, rng = self.cfg, self.rng
        plan: list[tuple[FiItem, date | None, str]] = []
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
            horizon_ok = item.due < cfg.end - timedelta(days=3)
            late = item.due + timedelta(days=2)
            one_day = item.due + timedelta(days=1)
            if unpaid_from is not None and index >= unpaid_from:
                plan.append((item, None, f"instalment {index + 1} of {len(items)} never paid"))
                continue
            if horizon_ok and rng.random() < cfg.unpaid_invoice_rate:
                plan.append((item, None, "never paid"))
                continue
            if horizon_ok and late.weekday() < 5 and self.take("paid_two_days_late", 0.01):
                plan.append((item, late, "paid two days after the due date"))
                continue
            if horizon_ok and one_day.weekday() < 5 and self.take("paid_one_day_late", 0.01):
                plan.append((item, one_day, ""))  # cleared by that day's end: never overdue
                continue
            if item.due.weekday() < 5 and self.take("paid_on_due_date", 0.03):
                plan.append((item, item.due, ""))  # on the due date exactly
                continue
            earliest = billing_date + timedelta(days=min(3, (item.due - billing_date).days))
            pay_day = item.due - timedelta(days=rng.randint(0, max(0, min(20, (item.due - earliest).days))))
            pay_day = _weekday_on_or_before(pay_day)
            pay_day = max(pay_day, billing_date + timedelta(days=1))
            while pay_day.weekday() >= 5:
                pay_day += timedelta(days=1)
            if pay_day > item.due:  # no weekday in time: paid on the billing day
                pay_day = billing_date
            plan.append((item, pay_day, ""))
        return plan

    def _pay(
        self,
        customer: Row,
        invoice: str,
        vbeln: str,
        terms: Row,
        item: FiItem,
        pay_day: date,
        amount: Decimal,
        cleared: list[FiItem],
    ) -> None:
        style = self.rng.random()
        if style < 0.80:
            remittance = f"PAYMENT INV {invoice} ORDER {vbeln}"
        elif style < 0.95:  # the contract number, or the order's for a spot sale
            remittance = f"/INV/{invoice}/PO/{terms['VBELN'] or vbeln}"
        else:
            remittance = f"{customer['NAME'][:20].upper()} TRANSFER"
        self.payments.append(
            Payment(
                booking_date=pay_day,
                account_currency=customer["CURRENCY"],
                amount=amount,
                payer_name=customer["NAME"],
                payer_account=customer["ACCOUNT"],
                remittance=remittance,
                end_to_end_id=f"E2E{invoice}{item.key[3]}{pay_day.strftime('%m%d')}",
                invoice_id=invoice,
                customer_id=customer["KUNNR"],
            )
        )
        clearing = self.next_id("clearing", 1500000000)
        cleared_at = at(pay_day, 16.5)
        for fi in cleared:
            self.put("BSID", fi.key, cleared_at, None)
            self.put("BSAD", fi.key, cleared_at, dict(fi.row, AUGDT=dats(pay_day), AUGBL=clearing))
