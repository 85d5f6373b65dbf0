"""Customer receipts: how each planned payment (:class:`~o2c.simulate.receivables.Settlement`) reaches the
bank, and how the ERP clears it.

A payment is decided by the customer (:mod:`o2c.simulate.payments`); here it gets its payer (the customer,
its group parent, the bank of a letter of credit, another company, or a payer nobody knows), its remittance
(the invoice number exact or mistyped, another document's number, an RF creditor reference, structured
referred documents, or nothing), its amount as it arrives (more than due, less a deducted claim, less bank
fees, converted from another currency) and the ERP's clearing: dated (AUGDT) the day the bank booked the
credit and posted 0–2 business days later, except that a payment on or after an item's due date is posted
that day, so that what the ERP shows at a night is what the receivable cases say; an unidentified credit is
cleared by hand days later. DECISIONLOG "Customer receipts and cash application (simulator)" has the mix.

Everything here draws from a random stream of its own: the business and the payment plan are the same
whatever these rates are.
"""

from __future__ import annotations

import bisect
import random
from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal

from o2c.business_calendar import BUSINESS_TZ
from o2c.simulate import remittance as texts
from o2c.simulate.catalog import Row, at, dats, money
from o2c.simulate.iso11649 import rf_reference
from o2c.simulate.model import Application, BankDebit, DifferenceItem, InvoiceTruth, Payment, SimConfig
from o2c.simulate.receivables import FiItem, Settlement, business_days_after, clearing_moment
from o2c.simulate.timeline import Timeline

CAMT_CURRENCIES = ("CNY", "EUR")
"""Accounts reported in ISO 20022 (structured remittance, any character set); the others are MT940."""
CHARGED_CURRENCIES = ("USD", "EUR", "SGD")
"""Accounts receiving cross-border payments, with their charge options; CNY credits are domestic."""
FX_SOURCES = {"USD": ("EUR", "CNY", "SGD"), "EUR": ("USD",), "SGD": ("USD",)}
"""Items in these currencies are now and then paid from an account in one of the others."""
LC_TERMS = ("ZLC0", "ZLU9")
LC_BANKS = {
    "CN": "BANK OF CHINA SHANGHAI BRANCH",
    "SG": "DBS BANK LTD SINGAPORE",
    "VN": "VIETCOMBANK HO CHI MINH CITY",
    "KR": "KOOKMIN BANK SEOUL",
    "IN": "STATE BANK OF INDIA MUMBAI",
    "AE": "EMIRATES NBD BANK DUBAI",
    "ID": "BANK MANDIRI JAKARTA",
    "TH": "BANGKOK BANK PCL",
    "DE": "DEUTSCHE BANK AG HAMBURG",
    "NL": "ING BANK N.V. ROTTERDAM",
}
"""The bank that issued a customer's letters of credit, by the customer's country: it pays the drawings."""
OTHER_PAYERS = (
    "GLOBAL COMMODITY FINANCE LTD",
    "ASIA TRADE FACTORS PTE LTD",
    "EASTERN SUPPLY CHAIN SERVICES CO LTD",
    "PRIME RECEIVABLES FINANCE B.V.",
)
"""Companies that pay for a customer now and then (a factor, a buying agent), quoting the invoice."""
UNKNOWN_PAYERS = (
    "ORIENT REMITTANCE SERVICES LTD",
    "GOLDEN BRIDGE PAYMENTS LTD",
    "LI JIANGUO",
    "PACIFIC CROSS BORDER PAY",
    "WANG XIAOMING",
    "SILK ROAD PAYMENT SERVICES",
)
UNKNOWN_PAYERS_ZH = ("深圳市华南商贸有限公司", "义乌市顺达进出口有限公司", "张伟")
CLAIM_REASON = "Q01"
"""BSID-RSTGR of a deducted quality claim's dispute item."""


class _Payer:
    """Who sends a payment: its name and account, its customer master record (blank when not a customer)
    and the case it makes (``group_payer``, ``third_party``, ``unidentified``; blank for the customer)."""

    def __init__(self, name: str, account: str, customer_id: str, case: str = "") -> None:
        self.name, self.account, self.customer_id, self.case = name, account, customer_id, case


class Receipts(Timeline):
    def __init__(self, cfg: SimConfig) -> None:
        super().__init__(cfg)
        self.settlements: list[Settlement] = []
        """every payment the customers decided, in the order they were planned"""
        self.difference_items: list[DifferenceItem] = []
        self.noise = random.Random(f"{cfg.seed}:receipts")  # noqa: S311 - a simulation
        self.noise_quota: dict[str, int] = defaultdict(int)
        self._forced = False
        self._differences: dict[str, DifferenceItem] = {}
        self._absorbed: set[int] = set()
        """payments made together with a group parent's (``_group_merges``)"""
        self._payer_names: dict[str, str] = {}
        self._invoices: dict[str, InvoiceTruth] = {}
        self._customers: dict[str, Row] = {}
        self._numbers: set[str] = set()
        """every order, delivery and billing document number (a mistyped one must not spell one of them)"""
        self._of_customer: dict[str, list[int]] = defaultdict(list)
        """positions in ``settlements`` of each customer's payments"""

    def claim_credit_memo(self, customer: Row, dispute: FiItem, day: date, when: datetime) -> FiItem:
        """Bill the credit memo granting a deducted claim (``Billing`` provides it)."""
        raise NotImplementedError

    # -- the mix ------------------------------------------------------------------------------------
    def _chance(self, kind: str, rate: float, minimum: int = 1) -> bool:
        """Make this payment a case of ``kind``? Always for its first ``minimum`` chances (so that even a
        small scenario has every case, but never two cases forced onto one payment), then at ``rate``."""
        draw = self.noise.random()
        if self.noise_quota[kind] < minimum and not self._forced:
            self._forced = True
        elif draw >= rate:
            return False
        self.noise_quota[kind] += 1
        return True

    def _pick(self, options: list[tuple[str, float]]) -> str | None:
        """One of ``options`` (kind, rate) or none, exclusive: a kind not seen yet first (unless a case was
        forced onto this payment already), else by one draw against the cumulated rates."""
        draw = self.noise.random()
        if not self._forced:
            for kind, rate in options:
                if rate > 0 and self.noise_quota[kind] == 0:
                    self._forced = True
                    self.noise_quota[kind] += 1
                    return kind
        for kind, rate in options:
            if draw < rate:
                self.noise_quota[kind] += 1
                return kind
            draw -= rate
        return None

    # -- receiving every payment --------------------------------------------------------------------
    def settle_payments(self) -> None:
        """Receive every planned payment, in plan order (a payment on account posted by one is deducted from
        a later one of the customer): a parent's and an affiliate's payments of one day may go as one."""
        self._invoices = {t.invoice_id: t for t in self.invoice_truth}
        self._customers = {c["KUNNR"]: c for c in self.customers}
        self._numbers = {key[0] for table in ("VBAK", "LIKP", "VBRK") for key in self.erp[table]}
        for index, settlement in enumerate(self.settlements):
            self._of_customer[settlement.customer["KUNNR"]].append(index)
        partners = self._group_merges()
        self._absorbed = set(partners.values())
        for index, settlement in enumerate(self.settlements):
            if index not in self._absorbed:
                partner = partners.get(index)
                self._receive(index, settlement, None if partner is None else self.settlements[partner])

    def _group_merges(self) -> dict[int, int]:
        """Parent payment -> affiliate payment of the same day paid with it (``group_combined_rate``)."""
        parents = set(self.customer_groups.values())
        days: dict[tuple[date, str], tuple[list[int], list[int]]] = defaultdict(lambda: ([], []))
        for index, settlement in enumerate(self.settlements):
            kunnr = settlement.customer["KUNNR"]
            if settlement.kind not in ("full", "combined") or not _in_time(settlement):
                continue
            if kunnr in parents:
                days[(settlement.day, kunnr)][0].append(index)
            elif kunnr in self.customer_groups:
                days[(settlement.day, self.customer_groups[kunnr])][1].append(index)
        merges = {}
        for key in sorted(days):
            own, affiliates = days[key]
            self._forced = False
            if own and affiliates and self._chance("group_combined", self.cfg.group_combined_rate):
                merges[own[0]] = affiliates[0]
        return merges

    def _receive(self, index: int, settlement: Settlement, partner: Settlement | None) -> None:
        """Decide how ``settlement`` (with ``partner``'s items, and any payments on account deducted) reaches
        the bank, post its clearing and its follow-ups, and record the payment."""
        self._forced = False
        customer, day = settlement.customer, settlement.day
        kunnr, currency = customer["KUNNR"], customer["CURRENCY"]
        items = [*settlement.items, *(partner.items if partner else []), *settlement.on_account]
        kind = "combined" if partner or settlement.on_account else settlement.kind
        debit_items = [item for item in items if item.row["SHKZG"] == "S"]
        first_due = min((item.due for item in debit_items), default=day)
        invoice_ids = set(settlement.invoice_ids) | (partner.invoice_ids if partner else set())
        payer = self._payer(customer, settlement, partner, kind, first_due)
        cases = [payer.case] if payer.case else []
        camt = currency in CAMT_CURRENCIES

        single = kind == "full" and len(items) == 1 and payer.case in ("", "group_payer")
        excess, claim = self._amount_case(single, items, day < first_due, cases)
        if settlement.on_account:
            cases.append("on_account_used")
        remittance, form, creditor, structured = self._remittance(
            settlement, partner, kind, payer, cases, camt
        )
        bearer = self._charges_case(currency, kind, payer, cases)
        source = self._fx_case(currency, kind, payer, cases)
        if kind == "combined":
            cases.insert(0, "combined")
        if kind == "partial":
            cases.append("partial")

        applications = self._applications(settlement, partner, items, claim)
        clearing = settlement.clearing
        year = str(day.year)
        on_account_item = None
        if excess:
            on_account_item = self._on_account_row(customer, clearing, year, day, excess)
            applications.append(
                Application(on_account_item.item_id, "", kunnr, excess, Decimal("0.00"), "on_account")
            )
        due_total = sum((a.applied_amount for a in applications), Decimal(0))
        gross, instructed, instructed_currency, rate = due_total, None, "", None
        if source:
            instructed, rate, gross = self._convert(day, currency, source, due_total)
            instructed_currency = source
        elif bearer:
            instructed, instructed_currency = due_total, currency
        charges = self._fee(day, currency, bearer) if bearer in ("SHA", "BEN") else Decimal("0.00")
        credited = gross - charges

        if payer.case == "unidentified":
            cleared_on, posted_at = self._by_hand(day, items, first_due)
        else:
            cleared_on, posted_at = day, self._clearing_moment(day, items)
        for item in items:
            self.put("BSID", item.key, posted_at, None)
            self.put("BSAD", item.key, posted_at, dict(item.row, AUGDT=dats(cleared_on), AUGBL=clearing))
        payment = Payment(
            booking_date=day,
            account_currency=currency,
            amount=credited,
            payer_name=payer.name,
            payer_account=payer.account,
            remittance=remittance,
            end_to_end_id="NOTPROVIDED"
            if payer.case == "unidentified"
            else f"E2E{day:%y%m%d}{self.next_id('end_to_end', 0, 7)}",
            invoice_id=settlement.invoice_id if kind != "combined" else None,
            customer_id=kunnr,
            kind=kind,
            invoice_ids=tuple(sorted(invoice_ids)),
            cleared_items=tuple(item.item_id for item in items),
            clearing_document=clearing,
            cases=tuple(cases),
            reference_form=form,
            payer_customer_id=payer.customer_id,
            creditor_reference=creditor,
            structured_invoices=structured,
            charge_bearer=bearer,
            charges=charges,
            instructed_amount=instructed,
            instructed_currency=instructed_currency,
            exchange_rate=rate,
            fx_difference=gross - due_total,
            applications=tuple(applications),
            cleared_on=cleared_on,
            clearing_posted_at=posted_at,
        )
        self.payments.append(payment)
        self._post_differences(index, settlement, payment, items, claim, on_account_item)

    def _post_differences(
        self,
        index: int,
        settlement: Settlement,
        payment: Payment,
        items: list[FiItem],
        claim: Decimal,
        on_account_item: FiItem | None,
    ) -> None:
        """The items a payment's clearing settles or posts: a residual or on-account item it clears, the
        residual of a partial payment, a deducted claim's dispute item (and its settlement), the excess of an
        over-payment on account (and its use or refund)."""
        customer, day, clearing = settlement.customer, settlement.day, settlement.clearing
        posted_at, cleared_on = payment.clearing_posted_at, payment.cleared_on
        assert posted_at is not None and cleared_on is not None
        for item in items:  # a residual item paid, a payment on account used
            difference = self._differences.get(item.item_id)
            if difference is not None:
                difference.settled_by = "used" if difference.kind == "on_account" else "paid"
                difference.settled_on, difference.settling_document = cleared_on, clearing
        if settlement.residual is not None:
            residual = settlement.residual
            residual.posted = posted_at
            self.put("BSID", residual.key, posted_at, residual.row)
            payment.residual_item = residual.item_id
            self._difference(residual, "residual", payment, day)
        if claim:
            dispute = self._dispute_row(items[0], clearing, str(day.year), day, claim, posted_at)
            payment.residual_item = dispute.item_id
            self._settle_dispute(customer, dispute, self._difference(dispute, "dispute", payment, day))
        if on_account_item is not None:
            on_account_item.posted = posted_at
            self.put("BSID", on_account_item.key, posted_at, on_account_item.row)
            payment.on_account_item = on_account_item.item_id
            difference = self._difference(on_account_item, "on_account", payment, day)
            self._use_or_refund(index, customer, on_account_item, difference)

    def _amount_case(
        self, single: bool, items: list[FiItem], early: bool, cases: list[str]
    ) -> tuple[Decimal, Decimal]:
        """(excess, claim): a single-item payment may pay more than the item (rounded up to the next 1,000,
        else 1 % more) or, before its due date and for an invoice of a delivery, less a quality claim of
        1–3 %. Adds the case to ``cases``."""
        if single and self._chance("overpayment", self.cfg.overpayment_rate):
            amount = items[0].amount
            rounded = (amount / 1000).to_integral_value(rounding="ROUND_CEILING") * 1000
            cases.append("overpayment")
            return money(rounded - amount) if rounded - amount >= 1 else money(amount / 100), Decimal(0)
        if (
            single
            and early
            and self._billing_type(items[0]) == "F2"  # a claim on a delivery, as quality claims are
            and self._chance("claim_deduction", self.cfg.claim_deduction_rate)
        ):
            cases.append("claim_deduction")
            share = Decimal(self.noise.choice(("0.01", "0.015", "0.02", "0.03")))
            return Decimal(0), money(items[0].amount * share)
        return Decimal(0), Decimal(0)

    def _charges_case(self, currency: str, kind: str, payer: _Payer, cases: list[str]) -> str:
        """Who bears the fees of a cross-border payment (SHA, OUR, BEN; blank: not stated). A partial payment
        states none; an unknown payer's single payment is always SHA (its amount then matches no item)."""
        cfg = self.cfg
        if currency not in CHARGED_CURRENCIES or kind == "partial":
            return ""
        if payer.case == "unidentified" and kind == "full":
            bearer = "SHA"
        else:
            picked = self._pick(
                [
                    ("charges_sha", cfg.sha_charges_rate),
                    ("charges_our", cfg.our_charges_rate),
                    ("charges_ben", cfg.ben_charges_rate),
                ]
            )
            bearer = picked.removeprefix("charges_").upper() if picked else ""
        if bearer:
            cases.append(f"charges_{bearer.lower()}")
        return bearer

    def _fx_case(self, currency: str, kind: str, payer: _Payer, cases: list[str]) -> str:
        """The currency a customer (or its parent) sends an item's payment in, if not the item's: then from
        another account of the payer's."""
        if (
            kind == "partial"
            or currency not in FX_SOURCES
            or payer.case not in ("", "group_payer")
            or not self._chance("fx", self.cfg.fx_payment_rate)
        ):
            return ""
        source = self.noise.choice(FX_SOURCES[currency])
        cases.append("fx")
        payer.account = f"{payer.account[:4]}FX{source}{payer.account[9:]}"
        return source

    def _billing_type(self, item: FiItem) -> str:
        truth = self._invoices.get(item.billing_document)
        return truth.billing_type if truth is not None else ""

    # -- payer and remittance -----------------------------------------------------------------------
    def _payer(
        self, customer: Row, settlement: Settlement, partner: Settlement | None, kind: str, first_due: date
    ) -> _Payer:
        """The customer itself, its group parent, the bank of its letter of credit, another company, or an
        unknown payer (only with two weeks to the due date: the credit is cleared by hand in time)."""
        cfg, rng = self.cfg, self.noise
        kunnr = customer["KUNNR"]
        parent = self.customer_groups.get(kunnr)
        if partner is not None:
            self.noise_quota["group_payer"] += 1
            return self._customer_payer(customer, "group_payer")
        if parent is not None and self._chance("group_payer", cfg.group_payer_rate):
            return self._customer_payer(self._customers[parent], "group_payer")
        debit_items = [item for item in settlement.items if item.row["SHKZG"] == "S"]
        if settlement.on_account:  # the customer deducts its own payment on account: it pays itself
            return _Payer(self._payer_name(customer), customer["ACCOUNT"], kunnr)
        if (
            debit_items
            and all(item.row["ZTERM"] in LC_TERMS for item in debit_items)
            and self.noise.random() < cfg.lc_bank_rate
        ):
            land = customer["LAND1"]
            return _Payer(
                LC_BANKS[land], f"{land}00LCBK{ord(land[0]) * 1000 + ord(land[1]):010d}", "", "third_party"
            )
        if kind in ("full", "combined") and self._chance("third_party", cfg.third_party_rate):
            name = rng.choice(OTHER_PAYERS)
            return _Payer(
                name, f"HK{rng.randrange(10, 99)}AGNT{rng.randrange(10**11, 10**12)}", "", "third_party"
            )
        if (
            kind in ("full", "combined")
            and (first_due - settlement.day).days >= 14
            and (kind == "combined" or customer["CURRENCY"] != "CNY")
            and self._chance("unidentified", cfg.unidentified_rate)
        ):
            names = UNKNOWN_PAYERS + (UNKNOWN_PAYERS_ZH if customer["CURRENCY"] == "CNY" else ())
            country = rng.choice(("AE", "HK", "TR", "PK"))
            account = f"{country}{rng.randrange(10, 99)}{rng.randrange(10**15, 10**16)}"
            return _Payer(rng.choice(names), account, "", "unidentified")
        return _Payer(self._payer_name(customer), customer["ACCOUNT"], kunnr)

    def _customer_payer(self, customer: Row, case: str) -> _Payer:
        return _Payer(self._payer_name(customer), customer["ACCOUNT"], customer["KUNNR"], case)

    def _payer_name(self, customer: Row) -> str:
        """The name the customer's bank sends: most Chinese customers' domestic payments carry the Chinese
        name (KNA1-NAME2), everyone else's the English one (KNA1-NAME1); fixed per customer."""
        kunnr = customer["KUNNR"]
        if kunnr not in self._payer_names:
            chinese = random.Random(f"{self.cfg.seed}:payer-name:{kunnr}").random() < 0.6  # noqa: S311
            use_chinese = customer["CURRENCY"] == "CNY" and chinese
            self._payer_names[kunnr] = str(customer["NAME_ZH"] if use_chinese else customer["NAME"])
        return self._payer_names[kunnr]

    def _remittance(
        self,
        settlement: Settlement,
        partner: Settlement | None,
        kind: str,
        payer: _Payer,
        cases: list[str],
        camt: bool,
    ) -> tuple[str, str, str, tuple[str, ...]]:
        """Remittance text, the form of its reference, an RF creditor reference, structured invoice numbers;
        adds the reference case to ``cases``."""
        cfg, rng = self.cfg, self.noise
        customer = settlement.customer
        receivables = [*settlement.receivables, *(partner.receivables if partner else [])]
        debit_invoices = list(dict.fromkeys(r.item.billing_document for r in receivables))
        if payer.case == "unidentified":
            cases.append("missing_ref")
            return texts.unidentified(rng, camt), "none", "", ()
        if payer.case == "third_party":
            listed = " ".join(debit_invoices)
            cases.append("exact_ref")
            if payer.name in LC_BANKS.values():
                return f"LC DRAWING INV {listed}"[:140], "letter_of_credit", "", ()
            return f"ON BEHALF OF {customer['NAME'].upper()} INV {listed}"[:140], "agent", "", ()
        if kind == "combined":
            return self._combined_remittance(settlement, partner, debit_invoices, cases, camt)
        invoice = settlement.receivables[0].item.billing_document
        if kind != "full" or settlement.style == "name":
            cases.append("missing_ref" if settlement.style == "name" else "exact_ref")
            return settlement.remittance, settlement.style if kind == "full" else kind, "", ()
        receivable = settlement.receivables[0]
        truth = self._invoices.get(invoice)
        delivery = truth.delivery_id if truth is not None else None
        has_contract = receivable.reference != receivable.order
        picked = self._pick(
            [
                ("typo_ref", cfg.typo_ref_rate),
                ("order_ref", cfg.order_ref_rate),
                ("delivery_ref", cfg.delivery_ref_rate if delivery else 0.0),
                ("contract_ref", cfg.contract_ref_rate if has_contract else 0.0),
                ("rf_ref", cfg.rf_ref_rate),
                ("structured_ref", cfg.structured_ref_rate if camt else 0.0),
            ]
        )
        cases.append(picked or "exact_ref")
        if picked == "typo_ref":
            text, form = texts.mistyped(invoice, rng, camt, lambda number: number in self._numbers)
            return text, f"typo:{form}", "", ()
        if picked in ("order_ref", "delivery_ref", "contract_ref"):
            number = {
                "order_ref": receivable.order,
                "delivery_ref": delivery,
                "contract_ref": receivable.reference,
            }[picked]
            assert number is not None
            return texts.other_document(picked.removesuffix("_ref"), number, rng, camt), picked, "", ()
        if picked == "rf_ref":
            return ("PAYMENT" if rng.random() < 0.5 else ""), "rf", rf_reference(invoice), ()
        if picked == "structured_ref":
            return "", "structured", "", (invoice,)
        return settlement.remittance, f"exact:{settlement.style}", "", ()

    def _combined_remittance(
        self,
        settlement: Settlement,
        partner: Settlement | None,
        invoices: list[str],
        cases: list[str],
        camt: bool,
    ) -> tuple[str, str, str, tuple[str, ...]]:
        """A combined payment lists all its invoices (as structured referred documents for some camt
        payers), only some of them, or none."""
        cfg, rng = self.cfg, self.noise
        picked = self._pick(
            [
                ("combined_none", cfg.combined_none_rate),
                ("combined_some", cfg.combined_some_rate if len(invoices) > 1 else 0.0),
                ("combined_structured", cfg.structured_ref_rate if camt else 0.0),
            ]
        )
        if picked == "combined_none":
            cases.append("missing_ref")
            return texts.without_reference(settlement.customer, rng, camt), "listed none", "", ()
        if picked == "combined_structured":
            cases.append("structured_ref")
            return "", f"structured {len(invoices)}", "", tuple(invoices)
        cases.append("exact_ref")
        credits = sorted(
            (settlement.invoice_ids | (partner.invoice_ids if partner else set())) - set(invoices)
        )
        if picked == "combined_some":
            listed = sorted(rng.sample(invoices, rng.randint(1, len(invoices) - 1)))
            return texts.listing(listed, [], rng), f"listed {len(listed)} of {len(invoices)}", "", ()
        if partner is not None or settlement.on_account:
            text = texts.listing(invoices, credits, rng)
            if settlement.on_account:
                total = sum((item.amount for item in settlement.on_account), Decimal(0))
                text = f"{text} LESS ON ACCOUNT {total}"[:140]
            return text, f"listed {len(invoices)} of {len(invoices)}", "", ()
        return settlement.remittance, f"listed {len(invoices)} of {len(invoices)}", "", ()

    # -- amounts ------------------------------------------------------------------------------------
    def _applications(
        self, settlement: Settlement, partner: Settlement | None, items: list[FiItem], claim: Decimal
    ) -> list[Application]:
        """What the payment does to each item it clears (before any payment on account it posts)."""
        on_account = {item.item_id for item in settlement.on_account}
        out = []
        for item in items:
            invoice = "" if item.item_id in on_account else item.billing_document
            if item.row["SHKZG"] == "H":
                reason = "on_account_used" if item.item_id in on_account else "credit_deducted"
                out.append(Application(item.item_id, invoice, item.customer_id, -item.amount, reason=reason))
            elif settlement.kind == "partial":
                rest = item.amount - settlement.amount
                out.append(
                    Application(item.item_id, invoice, item.customer_id, settlement.amount, rest, "partial")
                )
            elif claim:
                out.append(
                    Application(
                        item.item_id, invoice, item.customer_id, item.amount - claim, claim, "claim_deduction"
                    )
                )
            else:
                out.append(Application(item.item_id, invoice, item.customer_id, item.amount))
        return out

    def _rate(self, day: date, from_currency: str, to_currency: str) -> Decimal:
        """The type-M rate of ``day`` (the last simulated day's after the range)."""
        last = self.cfg.end
        return self.fx_rate(min(day, last), from_currency, to_currency)

    def _convert(
        self, day: date, currency: str, source: str, due: Decimal
    ) -> tuple[Decimal, Decimal, Decimal]:
        """An FX payment of ``due`` (in ``currency``) sent from a ``source`` account: the payer converts at
        the previous day's rate ± 0.2 %; the bank buys at the day's rate less a 0.05–0.3 % spread. Returns the
        instructed amount (``source``), the bank's rate (``currency`` per 1 ``source``) and the amount it
        credits, within ``fx_tolerance_pct`` of ``due``."""
        rng = self.noise
        payer_rate = self._rate(day - timedelta(days=1), currency, source) * Decimal(
            str(round(1 + rng.uniform(-0.002, 0.002), 6))
        )
        bank_rate = (
            1 / self._rate(day, currency, source) * Decimal(str(round(1 - rng.uniform(0.0005, 0.003), 6)))
        ).quantize(Decimal("0.000001"))
        instructed = money(due * payer_rate)
        credited = money(instructed * bank_rate)
        if abs(credited - due) > due * self.cfg.fx_tolerance_pct / 100:  # a wild day: the payer used today's
            instructed = money(due * self._rate(day, currency, source))
            credited = money(instructed * bank_rate)
        return instructed, bank_rate, credited

    def _fee(self, day: date, currency: str, bearer: str) -> Decimal:
        """A receiving bank's fee (SHA: 15–45 USD), or every bank's (BEN: 40–90 USD), in the account currency,
        in whole units."""
        usd = self.noise.choice(range(15, 50, 5) if bearer == "SHA" else range(40, 95, 5))
        return money((Decimal(usd) * self._rate(day, "USD", currency)).to_integral_value())

    # -- clearing -----------------------------------------------------------------------------------
    def _clearing_moment(self, day: date, items: list[FiItem]) -> datetime:
        """When the clearing of a payment booked on ``day`` is posted (:func:`clearing_moment`)."""
        latest = max(item.posted for item in items) + timedelta(minutes=30)
        dues = [item.due for item in items if item.row["SHKZG"] == "S"]
        return clearing_moment(self.noise, self.cfg.clearing_delay_weights, day, latest, dues)

    def _by_hand(self, day: date, items: list[FiItem], first_due: date) -> tuple[date, datetime]:
        """An unidentified credit sits in the bank's suspense account until accounts receivable finds out
        who paid what (3–8 business days, before the due date): the clearing is dated and posted that day."""
        hand = business_days_after(day, self.noise.randint(3, 8))
        while hand > first_due:
            hand -= timedelta(days=1)
        hand = max(hand, day)
        latest = max(item.posted for item in items) + timedelta(minutes=30)
        return hand, max(at(hand, self.noise.uniform(9.5, 17.0)), latest)

    def _on_account_row(self, customer: Row, clearing: str, year: str, day: date, excess: Decimal) -> FiItem:
        """The payment on account an over-payment posts in its payment document: a credit item without
        invoice reference (due at once), written when the clearing is posted."""
        row: Row = {
            "BUKRS": "1000",
            "KUNNR": customer["KUNNR"],
            "GJAHR": year,
            "BELNR": clearing,
            "BUZEI": "002",
            "BUDAT": dats(day),
            "BLDAT": dats(day),
            "ZFBDT": dats(day),
            "ZBD1T": 0,
            "ZBD1P": Decimal("0.000"),
            "ZBD2T": 0,
            "ZBD3T": 0,
            "REBZG": "",
            "ZTERM": "",
            "SHKZG": "H",
            "WRBTR": excess,
            "WAERS": customer["CURRENCY"],
            "XBLNR": "",
            "VBELN": "",
            "BLART": "DZ",
            "RSTGR": "",
            "SGTXT": "PAYMENT ON ACCOUNT",
        }
        return FiItem(("1000", clearing, year, "002"), row, day, at(day, 16.5))

    def _dispute_row(
        self, item: FiItem, clearing: str, year: str, day: date, claim: Decimal, posted_at: datetime
    ) -> FiItem:
        """The dispute item a deducted claim leaves: the deduction as a residual item of the payment document
        (REBZG the invoice's document, the invoice's terms and baseline), reason code Q01."""
        row = dict(
            item.row,
            GJAHR=year,
            BELNR=clearing,
            BUZEI="002",
            BUDAT=dats(day),
            BLDAT=dats(day),
            REBZG=item.key[1],
            WRBTR=claim,
            BLART="DZ",
            RSTGR=CLAIM_REASON,
            SGTXT="QUALITY CLAIM DEDUCTED",
        )
        dispute = FiItem(("1000", clearing, year, "002"), row, item.due, posted_at)
        self.put("BSID", dispute.key, posted_at, row)
        return dispute

    def _difference(self, item: FiItem, kind: str, payment: Payment, day: date) -> DifferenceItem:
        difference = DifferenceItem(
            item.item_id,
            kind,
            item.customer_id,
            item.billing_document,
            item.signed,
            str(item.row["WAERS"]),
            str(item.row.get("RSTGR", "")),
            day,
            payment,
        )
        self.difference_items.append(difference)
        self._differences[item.item_id] = difference
        return difference

    def _settle_dispute(self, customer: Row, dispute: FiItem, difference: DifferenceItem) -> None:
        """Settle a deducted claim by its due date: granted by a quality-claim credit memo whose credit item
        is cleared against the dispute item at once (``claim_credit_memo_share``), else written off (a
        clearing without payment against claims expense); 3–25 days after the payment was posted."""
        rng = self.noise
        posted = dispute.posted.astimezone(BUSINESS_TZ)
        first = business_days_after(posted.date(), 3)
        last = min(dispute.due, posted.date() + timedelta(days=25))
        days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
        days = [d for d in days if d.weekday() < 5]
        if days:
            day = rng.choice(days)
            when = at(day, rng.uniform(9.5, 16.5))
        else:
            day, when = posted.date(), dispute.posted + timedelta(minutes=40)
        clearing_items = [dispute]
        if rng.random() < self.cfg.claim_credit_memo_share:
            credit = self.claim_credit_memo(customer, dispute, day, when)
            clearing_items.append(credit)
            difference.settled_by, difference.memo_id = "credit_memo", credit.billing_document
        else:
            difference.settled_by = "write_off"
        clearing = self.next_id("clearing", 1500000000)
        cleared_at = when + timedelta(minutes=30)
        for item in clearing_items:
            self.put("BSID", item.key, cleared_at, None)
            self.put("BSAD", item.key, cleared_at, dict(item.row, AUGDT=dats(day), AUGBL=clearing))
        difference.settled_on, difference.settling_document = day, clearing

    def _use_or_refund(self, index: int, customer: Row, item: FiItem, difference: DifferenceItem) -> None:
        """A payment on account is refunded when the customer asks for it (``on_account_refund_rate``), or
        when no next payment of the customer (paid alone or combined, by its due date, more than it) comes
        within ``on_account_use_days`` of its posting; else it is deducted from that payment. A refund is a
        bank debit to the customer 5–10 business days after the posting, whose payment document clears the
        credit item. Once one has been used, the next that can be refunded within the range is (so that both
        occur in any scenario)."""
        posted = item.posted.astimezone(BUSINESS_TZ).date()
        kunnr = customer["KUNNR"]
        refund_first = (  # one refund in any scenario that has used one already and time to refund
            self.noise_quota["refund"] == 0
            and self.noise_quota["on_account_used"] > 0
            and posted + timedelta(days=20) <= self.cfg.end
        )
        mine = self._of_customer[kunnr]
        refund = refund_first or self.noise.random() < self.cfg.on_account_refund_rate
        for later in mine[bisect.bisect_right(mine, index) :] if not refund else []:
            settlement = self.settlements[later]
            if (
                later not in self._absorbed
                and settlement.kind in ("full", "combined")
                and _in_time(settlement)
                and posted < settlement.day <= posted + timedelta(days=self.cfg.on_account_use_days)
                and settlement.amount > item.amount  # (less any payment on account already deducted)
            ):
                settlement.on_account.append(item)
                settlement.amount -= item.amount
                self.noise_quota["on_account_used"] += 1
                return
        self.noise_quota["refund"] += 1
        day = business_days_after(posted, self.noise.randint(5, 10))
        clearing = self.next_id("clearing", 1500000000)
        self.debits.append(
            BankDebit(
                day,
                customer["CURRENCY"],
                item.amount,
                customer["NAME"],
                f"REFUND OF OVERPAYMENT {difference.payment.end_to_end_id}",
                f"RFD{clearing}",
                kind="refund",
                counterparty_account=customer["ACCOUNT"],
                customer_id=kunnr,
                applications=(Application(item.item_id, "", kunnr, -item.amount, reason="refund"),),
                clearing_document=clearing,
                booked_at=at(day, self.noise.uniform(10.0, 15.5)),
            )
        )
        refunded = at(day, 16.5)
        self.put("BSID", item.key, refunded, None)
        self.put("BSAD", item.key, refunded, dict(item.row, AUGDT=dats(day), AUGBL=clearing))
        difference.settled_by, difference.settled_on, difference.settling_document = "refund", day, clearing


def _in_time(settlement: Settlement) -> bool:
    """Is the payment made by the due date of every debit item it pays (not one of the late boundary cases,
    which stay payments of their item alone)?"""
    return all(settlement.day <= item.due for item in settlement.debit_items)
