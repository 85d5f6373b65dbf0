"""Quantity contracts (VBAK VBTYP G) per customer, with tolerance, premium, validity and plant."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from o2c.simulate.catalog import PLANTS, at, dats
from o2c.simulate.timeline import Timeline


class Contracts(Timeline):
    def build_contracts(self) -> None:
        cfg, rng = self.cfg, self.rng
        self.contracts = {}
        for customer in self.customers:
            lines = []
            for _ in range(rng.randint(1, 3)):
                product = rng.choice(self.products)
                valid_from = cfg.start - timedelta(days=rng.randrange(0, 90))
                valid_to = cfg.end + timedelta(days=rng.randrange(30, 200))
                vbeln = self.next_id("contract", 40000000)
                tolerance = rng.choice([Decimal("5.0"), Decimal("10.0")])
                premium = Decimal(str(round(rng.uniform(-0.03, 0.03), 4)))
                target = Decimal(rng.randrange(2000, 20000, 500))
                created = valid_from - timedelta(days=rng.randrange(3, 20))
                t = at(created, self.business_hour())
                self.put(
                    "VBAK",
                    (vbeln,),
                    t,
                    {
                        "VBELN": vbeln,
                        "VBTYP": "G",
                        "AUART": "ZQC",
                        "ERDAT": dats(created),
                        "AUDAT": dats(created),
                        "KUNNR": customer["KUNNR"],
                        "VKORG": "1000",
                        "WAERK": customer["CURRENCY"],
                        "NETWR": Decimal(0),
                        "GUEBG": dats(valid_from),
                        "GUEEN": dats(valid_to),
                        "BSTNK": f"PC-{customer['KUNNR'][-4:]}-{vbeln[-4:]}",
                    },
                )
                self.put(
                    "VBAP",
                    (vbeln, "000010"),
                    t,
                    {
                        "VBELN": vbeln,
                        "POSNR": "000010",
                        "MATNR": product["MATNR"],
                        "KWMENG": Decimal(0),
                        "ZMENG": target,
                        "VRKME": "TO",
                        "NETPR": Decimal(0),
                        "KPEIN": 1,
                        "NETWR": Decimal(0),
                        "WAERK": customer["CURRENCY"],
                        "WERKS": rng.choice(PLANTS)[0],
                        "UEBTO": tolerance,
                        "UNTTO": tolerance,
                        "VGBEL": "",
                        "VGPOS": "000000",
                        "ABGRU": "",
                        "ERDAT": dats(created),
                    },
                )
                self.put(
                    "VBKD",
                    (vbeln, "000000"),
                    t,
                    {
                        "VBELN": vbeln,
                        "POSNR": "000000",
                        "ZTERM": customer["ZTERM"],
                        "INCO1": rng.choice(["FOB", "CFR", "CIF", "DAP"]),
                        "INCO2": customer["PORT"][0],
                    },
                )
                lines.append(
                    {
                        "VBELN": vbeln,
                        "PRODUCT": product,
                        "TOL": tolerance,
                        "PREMIUM": premium,
                        "FROM": valid_from,
                        "TO": valid_to,
                        "PLANT": rng.choice(PLANTS)[0],
                    }
                )
            self.contracts[customer["KUNNR"]] = lines
