"""Billing documents (VBRK/VBRP), their FI customer items (BSID/BSAD), customer payments and clearing."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from o2c.simulate.catalog import RULE_AR_OVERDUE, TERMS, Row, at, dats, money
from o2c.simulate.model import Case, Payment
from o2c.simulate.timeline import Timeline


class Billing(Timeline):
    def build_invoice(
        self,
        customer: Row,
        vbeln: str,
        posnr: str,
        lieferung: str,
        contract: Row,
        delivered: Decimal,
        price: Decimal,
        goods_issue: date,
    ) -> None:
        cfg, rng = self.cfg, self.rng
        billing_date = goods_issue + timedelta(days=rng.randint(0, 1))
        invoice = self.next_id("invoice", 90000000)
        amount = money(delivered * price)
        currency = customer["CURRENCY"]
        zterm = customer["ZTERM"]
        billed = at(billing_date, self.business_hour())
        self.put(
            "VBRK",
            (invoice,),
            billed,
            {
                "VBELN": invoice,
                "FKART": "F2",
                "FKDAT": dats(billing_date),
                "KUNAG": customer["KUNNR"],
                "WAERK": currency,
                "NETWR": amount,
                "MWSBK": Decimal("0.00"),
                "ZTERM": zterm,
                "FKSTO": "",
                "BUKRS": "1000",
                "ERDAT": dats(billing_date),
            },
        )
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
                "MATNR": contract["PRODUCT"]["MATNR"],
                "AUBEL": vbeln,
                "AUPOS": posnr,
                "VGBEL": lieferung,
                "VGPOS": "000010",
            },
        )
        belnr = self.next_id("fi_doc", 1400000000)
        item = {
            "BUKRS": "1000",
            "KUNNR": customer["KUNNR"],
            "GJAHR": str(billing_date.year),
            "BELNR": belnr,
            "BUZEI": "001",
            "BUDAT": dats(billing_date),
            "BLDAT": dats(billing_date),
            "ZFBDT": dats(billing_date),
            "ZBD1T": TERMS[zterm],
            "ZTERM": zterm,
            "SHKZG": "S",
            "WRBTR": amount,
            "WAERS": currency,
            "XBLNR": invoice,
            "VBELN": invoice,
        }
        fi_key = ("1000", belnr, str(billing_date.year), "001")
        self.put("BSID", fi_key, billed + timedelta(minutes=5), item)
        due = billing_date + timedelta(days=TERMS[zterm])
        unpaid = due < cfg.end - timedelta(days=3) and rng.random() < cfg.unpaid_invoice_rate
        if unpaid:
            self.cases.append(Case(RULE_AR_OVERDUE, invoice, vbeln, customer["KUNNR"], due, "never paid"))
            return
        earliest = billing_date + timedelta(days=min(3, TERMS[zterm]))
        pay_day = due - timedelta(days=rng.randint(0, max(0, min(20, (due - earliest).days))))
        while pay_day.weekday() >= 5:  # banks book on weekdays: pay the Friday before
            pay_day -= timedelta(days=1)
        pay_day = max(pay_day, billing_date + timedelta(days=1))
        while pay_day.weekday() >= 5:
            pay_day += timedelta(days=1)
        if pay_day > due:  # cannot be paid on a weekday in time: pay on the billing day's next weekday
            pay_day = billing_date
        style = rng.random()
        if style < 0.80:
            remittance = f"PAYMENT INV {invoice} ORDER {vbeln}"
        elif style < 0.95:
            remittance = f"/INV/{invoice}/PO/{contract['VBELN']}"
        else:
            remittance = f"{customer['NAME'][:20].upper()} TRANSFER"
        self.payments.append(
            Payment(
                booking_date=pay_day,
                account_currency=currency,
                amount=amount,
                payer_name=customer["NAME"],
                payer_account=customer["ACCOUNT"],
                remittance=remittance,
                end_to_end_id=f"E2E{invoice}{pay_day.strftime('%m%d')}",
                invoice_id=invoice,
                customer_id=customer["KUNNR"],
            )
        )
        clearing = self.next_id("clearing", 1500000000)
        cleared_at = at(pay_day, 16.5)
        self.put("BSID", fi_key, cleared_at, None)
        self.put("BSAD", fi_key, cleared_at, dict(item, AUGDT=dats(pay_day), AUGBL=clearing))
