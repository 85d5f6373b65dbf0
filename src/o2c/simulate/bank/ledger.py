"""The banks' books: every customer receipt and every debit booked as an entry on the trader's account in its
currency, at a time of the day, under a bank reference of its own that every report of the entry repeats
(intraday report, notification, statement). On some days the CNY account books several customer credits
as one batch entry (its transactions numbered 1..n).

A random stream of its own: the business is the same whatever the bank's times and batches are.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date

from o2c.simulate.catalog import at
from o2c.simulate.model import BankDebit, BankEntry, Payment
from o2c.simulate.timeline import Timeline

DEBIT_HOURS = {"fee": (8.0, 8.0), "supplier": (10.0, 16.0), "return": (9.0, 10.0), "refund": (10.0, 15.5)}
"""Local booking hours (from, to) of each kind of debit without a time of its own."""
BATCH_HOURS = (10.5, 11.0, 15.0, 15.5)
"""When the CNY account's batch bookings run."""


class BankLedger(Timeline):
    bank_entries: list[BankEntry]

    def book_bank_entries(self) -> None:
        """Book every payment and debit on its account and day (beyond the simulated range too): a customer
        credit between 09:00 and 16:15 (before its clearing can be posted), a debit at its kind's hours or
        its own time; a CNY day with two or more credits books 2–5 of them as one batch entry now and then
        (``cny_batch_rate``, at least once). References are numbered per account in booking order:
        ``<YYMMDD><currency><7 digits>``, 16 characters (MT940's limit), unique across accounts."""
        cfg = self.cfg
        rng = random.Random(f"{cfg.seed}:bank-ledger")  # noqa: S311 - a simulation
        days: dict[tuple[str, date], tuple[list[Payment], list[BankDebit]]] = defaultdict(lambda: ([], []))
        for payment in self.payments:
            days[(payment.account_currency, payment.booking_date)][0].append(payment)
        for debit in self.debits:
            days[(debit.account_currency, debit.booking_date)][1].append(debit)
        numbers: dict[str, int] = defaultdict(int)
        batches = 0
        self.bank_entries = []
        for currency, day in sorted(days):
            credits, debits = days[(currency, day)]
            entries: list[BankEntry] = []
            for payment in credits:
                payment.booked_at = payment.booked_at or at(day, rng.uniform(9.0, 16.25))
            batch: list[Payment] = []
            if (
                currency == "CNY"
                and len(credits) >= 2
                and (batches == 0 or rng.random() < cfg.cny_batch_rate)
            ):
                batch = rng.sample(credits, rng.randint(2, min(5, len(credits))))
                batch.sort(key=credits.index)
                moment = at(day, rng.choice(BATCH_HOURS))
                for payment in batch:
                    payment.booked_at = moment
                entries.append(BankEntry(currency, day, moment, "", credits=batch))
                batches += 1
            for payment in credits:
                if payment not in batch:
                    assert payment.booked_at is not None
                    entries.append(BankEntry(currency, day, payment.booked_at, "", credits=[payment]))
            for debit in debits:
                low, high = DEBIT_HOURS[debit.kind]
                debit.booked_at = debit.booked_at or at(day, rng.uniform(low, high))
                entries.append(BankEntry(currency, day, debit.booked_at, "", debit=debit))
            entries.sort(key=lambda e: e.booked_at)
            for entry in entries:
                numbers[currency] += 1
                entry.reference = f"{day:%y%m%d}{currency}{numbers[currency]:07d}"
                for seq, payment in enumerate(entry.credits, start=1):
                    payment.bank_reference, payment.tx_seq = entry.reference, seq
                if entry.debit is not None:
                    entry.debit.bank_reference = entry.reference
                    original = entry.debit.original
                    if original is not None:
                        entry.debit.original_reference = original.bank_reference
                        original.returned_by = entry.reference
            self.bank_entries.extend(entries)
