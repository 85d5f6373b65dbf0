"""Bank debits that are not customer payments: account fees and supplier payments (from the main stream,
after the payment plan; returns are ``corrections``, refunds ``receipts``)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from o2c.simulate.catalog import money
from o2c.simulate.model import BankDebit
from o2c.simulate.timeline import Timeline


class BankNoise(Timeline):
    def build_bank_debits(self) -> None:
        cfg, rng = self.cfg, self.rng
        for d in range(cfg.days):
            day = cfg.start + timedelta(days=d)
            if day.weekday() >= 5:
                continue
            for currency in ("USD", "CNY"):
                fee = Decimal("35.00") if currency == "USD" else Decimal("120.00")
                self.debits.append(
                    BankDebit(
                        day,
                        currency,
                        fee,
                        "BANK",
                        "ACCOUNT MAINTENANCE FEE",
                        f"FEE{day.strftime('%Y%m%d')}",
                        kind="fee",
                    )
                )
                if rng.random() < 0.5:
                    amount = money(Decimal(rng.randrange(50_000, 900_000)) * (7 if currency == "CNY" else 1))
                    self.debits.append(
                        BankDebit(
                            day,
                            currency,
                            amount,
                            "Supplier Payment",
                            f"SUPPLIER INVOICE SI{rng.randrange(10000, 99999)}",
                            f"OUT{day.strftime('%Y%m%d')}{currency}",
                            kind="supplier",
                        )
                    )
