"""What customers pay and when: every planned customer item settled after all billing, alone, together with
later items (a combined payment) or in part; items never paid, and written off a year after their due date.

:meth:`Payments.build_payments` decides each payment as the customer's payables department would (which
items, which day, how much) from the main random stream, exactly as before customer receipts had any
noise; each decision is a :class:`~o2c.simulate.receivables.Settlement`. How the payment then reaches the
bank (payer, references, charges, currency) and how the ERP clears it is
:class:`~o2c.simulate.receipts.Receipts`' job, on a stream of its own, so the payment plan and the
receivable cases stay what they were.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal

from o2c.simulate.catalog import RULE_AR_OVERDUE, Row, at, dats, money
from o2c.simulate.model import Case, SimConfig, WriteOff
from o2c.simulate.receipts import Receipts
from o2c.simulate.receivables import FiItem, OpenCredit, Receivable, Settlement


class Payments(Receipts):
    def __init__(self, cfg: SimConfig) -> None:
        super().__init__(cfg)
        self.receivables: list[Receivable] = []
        """customer items and their planned payment day, settled by :meth:`build_payments`"""
        self.open_credits: list[OpenCredit] = []
        """credit memo items to deduct from the customer's next payment"""
        self.unpaid: list[tuple[FiItem, str, str]] = []
        """items never paid (item, order, customer), written off by :meth:`build_write_offs`"""

    def build_payments(self) -> None:
        """Settle every planned item: open credit memos join the customer's next payment; per customer, in
        payment order, an item is paid alone, with later items already posted (a combined payment: one
        clearing, one bank credit of the total, the invoices in the remittance) or in part (a residual item
        for the rest, paid by the due date or never). Then receive them all (``Receipts``)."""
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
        self.settle_payments()

    def _pay_alone(self, receivable: Receivable, pay_day: date) -> None:
        """One item (and the credits deducted from it) cleared by one bank credit."""
        customer, item = receivable.customer, receivable.item
        invoice = item.billing_document
        amount = item.amount - sum((c.amount for c in receivable.credits), Decimal(0))
        draw = self.rng.random()
        if draw < 0.80:
            style, remittance = "order", f"PAYMENT INV {invoice} ORDER {receivable.order}"
        elif draw < 0.95:  # the contract number, or the order's for a spot sale
            style, remittance = "contract", f"/INV/{invoice}/PO/{receivable.reference}"
        else:
            style, remittance = "name", f"{customer['NAME'][:20].upper()} TRANSFER"
        documents = {invoice} | {c.billing_document for c in receivable.credits}
        # credits of its own invoice (a claim quoting it, a memo referencing its item) keep it a payment of
        # that invoice; a credit memo of another invoice deducted makes it a combined payment
        own = all(c.row["XBLNR"] == invoice or c.row["REBZG"] == item.key[1] for c in receivable.credits)
        self._settle(
            customer,
            pay_day,
            [item, *receivable.credits],
            amount,
            remittance,
            "full" if own else "combined",
            invoice if own else None,
            documents,
            [receivable],
            style,
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
        self._settle(
            customer, pay_day, items, amount, remittance[:140], "combined", None, {*invoices, *credits}, group
        )

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
        settlement = self._settle(
            customer,
            part_day,
            [item],
            part,
            f"PART PAYMENT INV {invoice}",
            "partial",
            None,
            {invoice},
            [receivable],
        )
        clearing, year = settlement.clearing, str(part_day.year)
        residual_row = dict(
            item.row,
            GJAHR=year,
            BELNR=clearing,
            BUZEI="002",
            BUDAT=dats(part_day),
            BLDAT=dats(part_day),
            REBZG=item.key[1],
            WRBTR=item.amount - part,
            BLART="DZ",
            SGTXT="RESIDUAL ITEM",
        )
        # posted with the clearing (``Receipts``): the moment here is the earliest it can be
        residual = FiItem(("1000", clearing, year, "002"), residual_row, item.due, at(part_day, 16.5))
        settlement.residual = residual
        if item.due < self.cfg.end - timedelta(days=3) and self.take("residual_unpaid", 0.2, 1):
            self._overdue_case(
                residual, receivable.order, customer, "residual item of a partial payment never paid", None
            )
            return True
        self._settle(
            customer,
            pay_day,
            [residual],
            residual.amount,
            f"BALANCE INV {invoice}",
            "residual",
            None,
            {invoice},
            [receivable],
        )
        return True

    def _settle(
        self,
        customer: Row,
        day: date,
        items: list[FiItem],
        amount: Decimal,
        remittance: str,
        kind: str,
        invoice_id: str | None,
        invoice_ids: set[str],
        receivables: list[Receivable],
        style: str = "invoice",
    ) -> Settlement:
        """Decide a payment: numbered (its clearing document) in the order payments are planned."""
        settlement = Settlement(
            customer,
            day,
            items,
            amount,
            remittance,
            kind,
            invoice_id,
            invoice_ids,
            self.next_id("clearing", 1500000000),
            receivables,
            style,
        )
        self.settlements.append(settlement)
        return settlement

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
            cleared_at = max(at(day, 18.0), self._posted(item) + timedelta(minutes=30))
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

    def _posted(self, item: FiItem) -> datetime:
        """The moment ``item`` was written to BSID (a residual item: when its payment's clearing posted)."""
        return self.erp["BSID"][item.key][0][0]


def _alone(item: FiItem) -> bool:
    """May the item be paid with others or in part? Not an instalment (its invoice's other item may be
    paid alone: a clearing reset reads payments by invoice), not a prepayment (paid in full before loading)."""
    return item.row["ZTERM"] not in ("ZI12", "ZPRE")
