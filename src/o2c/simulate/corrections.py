"""Corrections after the fact, the hard cases for exact history: orders deleted a few days after entry,
clearings reset when a payment is returned (the invoice reopens, then is paid again), and clearings whose
night-batch transaction commits after the nightly cutoff with an older change time.

A separate random stream keeps the rest of the business identical whatever these rates are.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, datetime, timedelta

from o2c.business_calendar import BUSINESS_TZ
from o2c.simulate.catalog import at, dats
from o2c.simulate.model import BankDebit, Payment
from o2c.simulate.timeline import Timeline


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
        """Reset a clearing (FBRA): the payment came back, the invoice is open again, then paid again."""
        cfg = self.cfg
        payments = {p.invoice_id: p for p in self.payments}
        for key, _, item in self._clearings():
            if rng.random() >= cfg.clearing_reset_rate:
                continue
            paid = _from_dats(str(item["AUGDT"]))
            if item["SHKZG"] == "H":
                continue
            net_days = int(str(item["ZBD2T"])) or int(str(item["ZBD1T"]))
            due = _from_dats(str(item["ZFBDT"])) + timedelta(days=net_days)
            reset_day = paid + timedelta(days=rng.randint(2, 4))
            while reset_day.weekday() >= 5:
                reset_day += timedelta(days=1)
            repay_day = reset_day + timedelta(days=rng.randint(1, 3))
            while repay_day.weekday() >= 5:
                repay_day += timedelta(days=1)
            original = payments.get(str(item["VBELN"]))
            if original is None or repay_day > min(due, cfg.end - timedelta(days=2)):
                continue  # only when it can be paid again by the due date: no overdue case is created
            reset_at = at(reset_day, 10.25)
            open_item = {k: v for k, v in item.items() if k not in ("AUGDT", "AUGBL")}
            self.put("BSAD", key, reset_at, None)
            self.put("BSID", key, reset_at, open_item)
            self.debits.append(
                BankDebit(
                    reset_day,
                    original.account_currency,
                    original.amount,
                    original.payer_name,
                    f"RETURN OF {original.end_to_end_id} AC04 CLOSED ACCOUNT",
                    f"RTN{original.end_to_end_id[-12:]}",
                )
            )
            self.payments.append(
                Payment(
                    booking_date=repay_day,
                    account_currency=original.account_currency,
                    amount=original.amount,
                    payer_name=original.payer_name,
                    payer_account=original.payer_account,
                    remittance=f"PAYMENT INV {item['VBELN']} RESENT",
                    end_to_end_id=f"E2E{item['VBELN']}{repay_day.strftime('%m%d')}R",
                    invoice_id=str(item["VBELN"]),
                    customer_id=original.customer_id,
                )
            )
            repaid_at = at(repay_day, 16.5)
            self.put("BSID", key, repaid_at, None)
            self.put(
                "BSAD",
                key,
                repaid_at,
                dict(item, AUGDT=dats(repay_day), AUGBL=self.next_id("clearing", 1500000000)),
            )
            self.reset_items.append("-".join(key))

    def _commit_late(self, rng: random.Random) -> None:
        """Move some clearings to the 01:40 night batch of the next day, committed at 02:10: after the
        cutoff, with a change time before it."""
        written_off = {w.clearing_document for w in self.write_offs}
        for key, cleared_at, row in self._clearings():
            if rng.random() >= self.cfg.late_commit_rate:
                continue
            if row["AUGBL"] in written_off:
                continue  # credit control posts a write-off by hand, in the day; the night batch clears payments
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


def _from_dats(value: str) -> date:
    return date(int(value[:4]), int(value[4:6]), int(value[6:8]))
