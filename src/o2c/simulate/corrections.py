"""Corrections after the fact, the hard cases for exact history: orders deleted a few days after entry,
clearings reset when the bank returns a payment (a return debit; the invoice reopens, then is paid again), and
clearings whose night-batch transaction commits after the nightly cutoff with an older change time.

A separate random stream keeps the rest of the business identical whatever these rates are.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal

from o2c.business_calendar import BUSINESS_TZ
from o2c.simulate.catalog import at, dats
from o2c.simulate.model import Application, BankDebit, Payment
from o2c.simulate.receivables import (
    business_days_after,
    clearing_moment,
    from_dats,
    net_due,
    weekday_on_or_after,
)
from o2c.simulate.timeline import Timeline

RETURN_REASONS = (
    ("AC04", "CLOSED ACCOUNT NUMBER"),
    ("AC06", "BLOCKED ACCOUNT"),
    ("AM05", "DUPLICATION"),
    ("MD07", "END CUSTOMER DECEASED"),
    ("FOCR", "FOLLOWING CANCELLATION REQUEST"),
    ("RR04", "REGULATORY REASON"),
)
"""ISO 20022 return reasons (ExternalReturnReason1Code) a returned credit carries, with the bank's text."""
RETURNABLE = frozenset(
    {
        "exact_ref",
        "typo_ref",
        "missing_ref",
        "order_ref",
        "delivery_ref",
        "contract_ref",
        "rf_ref",
        "structured_ref",
        "group_payer",
        "charges_our",
    }
)
"""The cases of a payment that may come back: nothing that changed the amount or the payer's identity."""


class Corrections(Timeline):
    def build_corrections(self) -> None:
        rng = random.Random(self.cfg.seed * 7919 + 17)  # noqa: S311 - a simulation
        self._delete_orders(rng)
        self._reset_clearings(rng)
        self._commit_late(rng)

    def _delete_orders(self, rng: random.Random) -> None:
        """Orders keyed in twice by mistake: the copy (VBAK, VBAP, VBEP, VBKD, and its document flow from
        the contract) is deleted 1–3 days later. Orders whose contract's ground truth must be exact to the
        day (``protected_orders``) are never copied."""
        cfg = self.cfg
        document_tables = ("VBAK", "VBAP", "VBEP", "VBKD")
        keys_of: dict[str, dict[str, list[tuple[str, ...]]]] = {t: defaultdict(list) for t in document_tables}
        for table in document_tables:
            for key in self.erp[table]:
                keys_of[table][key[0]].append(key)
        flows_of: dict[str, list[tuple[str, ...]]] = defaultdict(list)
        for key in self.erp["VBFA"]:
            if key[4] == "C":  # contract -> order: keyed by the order (subsequent document)
                flows_of[key[2]].append(key)
        for (vbeln,), versions in sorted(self.erp["VBAK"].items()):
            created, header = versions[0]
            if header is None or header["VBTYP"] != "C" or rng.random() >= cfg.deleted_order_rate:
                continue
            entered = created + timedelta(minutes=20)
            deleted = created + timedelta(days=rng.randint(1, 3), hours=rng.randint(0, 3))
            if deleted.date() > cfg.end or vbeln in self.protected_orders:
                continue
            copy = self.next_id("order", 10000000)
            copied: list[tuple[str, tuple[str, ...]]] = []
            for table in document_tables:
                for key in sorted(keys_of[table][vbeln]):
                    row = self.erp[table][key][0][1]
                    if row is not None:
                        self.put(table, (copy, *key[1:]), entered, {**row, "VBELN": copy})
                        copied.append((table, (copy, *key[1:])))
            for key in sorted(flows_of[vbeln]):
                row = self.erp["VBFA"][key][0][1]
                if row is not None:
                    flow = (key[0], key[1], copy, key[3], key[4])
                    local = entered.astimezone(BUSINESS_TZ)
                    self.put(
                        "VBFA",
                        flow,
                        entered,
                        {
                            **row,
                            "VBELN": copy,
                            "ERDAT": local.strftime("%Y%m%d"),
                            "ERZET": local.strftime("%H%M%S"),
                        },
                    )
                    copied.append(("VBFA", flow))
            for table in ("VBFA", "VBEP", "VBKD", "VBAP", "VBAK"):
                for key in sorted(k for t, k in copied if t == table):
                    self.put(table, key, deleted, None)
            self.deleted_orders.append(copy)

    def _clearings(self) -> list[tuple[tuple[str, ...], datetime, dict[str, object]]]:
        """(FI key, clearing moment, cleared item) of every cleared customer item, in key order."""
        out = []
        for key, versions in sorted(self.erp["BSAD"].items()):
            when, row = versions[-1]
            if row is not None:
                out.append((key, when, row))
        return out

    def _reset_clearings(self, rng: random.Random) -> None:
        """Reset a clearing (FBRA) when the bank returns the payment: a return debit (an ISO return reason,
        the original end-to-end id) booked 2–4 days after the credit, the item open again that morning, then
        paid again, in full and quoting the invoice, by its due date. Only a plain payment of one item can
        come back this way (no fees, no conversion, nothing deducted or paid on account): its return is the
        amount the item was credited with. The first two such payments come back in any scenario."""
        cfg = self.cfg
        payments = {p.invoice_id: p for p in self.payments if p.invoice_id}
        for key, _, item in self._clearings():
            draw = rng.random()
            if item["SHKZG"] == "H":
                continue
            bukrs, belnr, gjahr, buzei = key
            item_id = f"{bukrs}-{gjahr}-{belnr}-{buzei}"
            original = payments.get(str(item["VBELN"]))
            if (
                original is None
                or original.cleared_items != (item_id,)
                or original.clearing_document != item["AUGBL"]
                or not set(original.cases) <= RETURNABLE
                or original.clearing_posted_at is None
                or (draw >= cfg.clearing_reset_rate and len(self.reset_items) >= 2)
            ):
                continue
            paid = from_dats(str(item["AUGDT"]))
            due = net_due(item)
            posted = original.clearing_posted_at.astimezone(BUSINESS_TZ).date()
            reset_day = weekday_on_or_after(paid + timedelta(days=rng.randint(2, 4)))
            reset_day = max(reset_day, business_days_after(posted, 1))
            repay_day = weekday_on_or_after(reset_day + timedelta(days=rng.randint(1, 3)))
            if repay_day > min(due, cfg.end - timedelta(days=2)):
                continue  # only when it can be paid again by the due date: no overdue case is created
            amount = Decimal(str(item["WRBTR"]))
            kunnr, invoice = str(item["KUNNR"]), str(item["VBELN"])
            code, text = rng.choice(RETURN_REASONS)
            reset_at = at(reset_day, 10.25)
            self.debits.append(
                BankDebit(
                    reset_day,
                    original.account_currency,
                    original.amount,
                    original.payer_name,
                    f"RETURN {code} {text}",
                    original.end_to_end_id,
                    kind="return",
                    counterparty_account=original.payer_account,
                    customer_id=kunnr,
                    return_reason=code,
                    applications=(Application(item_id, invoice, kunnr, -amount, reason="return"),),
                    clearing_document=original.clearing_document,
                    booked_at=at(reset_day, rng.uniform(9.0, 10.0)),
                    original=original,
                )
            )
            original.cases = (*original.cases, "returned")
            open_item = {k: v for k, v in item.items() if k not in ("AUGDT", "AUGBL")}
            self.put("BSAD", key, reset_at, None)
            self.put("BSID", key, reset_at, open_item)
            clearing = self.next_id("clearing", 1500000000)
            latest = reset_at + timedelta(minutes=30)
            repaid_at = clearing_moment(rng, cfg.clearing_delay_weights, repay_day, latest, [due])
            self.payments.append(
                Payment(
                    booking_date=repay_day,
                    account_currency=original.account_currency,
                    amount=amount,
                    payer_name=original.payer_name,
                    payer_account=original.payer_account,
                    remittance=f"PAYMENT INV {invoice} RESENT",
                    end_to_end_id=f"E2E{repay_day:%y%m%d}{self.next_id('end_to_end', 0, 7)}",
                    invoice_id=invoice,
                    customer_id=original.customer_id,
                    invoice_ids=(invoice,),
                    cleared_items=(item_id,),
                    clearing_document=clearing,
                    cases=("exact_ref", *(c for c in original.cases if c == "group_payer")),
                    reference_form="resent",
                    payer_customer_id=original.payer_customer_id,
                    applications=(Application(item_id, invoice, kunnr, amount),),
                    cleared_on=repay_day,
                    clearing_posted_at=repaid_at,
                )
            )
            self.put("BSID", key, repaid_at, None)
            self.put("BSAD", key, repaid_at, dict(item, AUGDT=dats(repay_day), AUGBL=clearing))
            self.reset_items.append("-".join(key))

    def _commit_late(self, rng: random.Random) -> None:
        """Move some clearings to the 01:40 night batch of the next day, committed at 02:10: after the
        cutoff, with a change time before it."""
        by_bank = {p.clearing_document for p in self.payments if "unidentified" not in p.cases}
        for key, cleared_at, row in self._clearings():
            if rng.random() >= self.cfg.late_commit_rate:
                continue
            if row["AUGBL"] not in by_bank:
                continue  # write-offs, claims, refunds and unidentified credits are cleared by hand in the day;
                # the night batch clears the payments the bank statements bring
            if len(self.erp["BSAD"][key]) > 1 or self.erp["BSID"][key][-1] != (cleared_at, None):
                continue  # leave reset items alone
            local = cleared_at.astimezone(BUSINESS_TZ)
            if local.hour < 3:
                continue
            night = at(local.date() + timedelta(days=1), 1 + 40 / 60)
            committed = night + timedelta(minutes=30)
            for table in ("BSID", "BSAD"):
                versions = self.erp[table][key]
                versions[-1] = (night, versions[-1][1])
                self.commit_times[(table, key, night)] = committed
            self.late_commits.append("-".join(key))
