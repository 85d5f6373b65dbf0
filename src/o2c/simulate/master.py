"""Master data: sales reps, plants, products with monthly benchmark prices, FX rates, customers."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from o2c.simulate.catalog import (
    COMMODITIES,
    COUNTRIES,
    CUSTOMER_KINDS,
    CUSTOMER_STEMS,
    PLANTS,
    PORTS,
    REP_NAMES,
    TERMS,
    at,
    dats,
)
from o2c.simulate.timeline import Timeline


class MasterData(Timeline):
    def build_master(self) -> None:
        cfg, rng = self.cfg, self.rng
        before = cfg.start - timedelta(days=400)
        t0 = at(before, 9)
        self.reps = []
        for i in range(cfg.reps):
            name, name_zh, region = REP_NAMES[i % len(REP_NAMES)]
            pernr = f"{50000001 + i:08d}"
            login = name.lower().replace(" ", ".")
            rep = {
                "PERNR": pernr,
                "ENAME": name,
                "ENAME_ZH": name_zh,
                "SMTP_ADDR": f"{login}@trader.example",
                "LANGU": "ZH" if i % 2 == 0 else "EN",
                "REGION": region,
            }
            self.reps.append(rep)
            self.put("ZSD_SALES_REP", (pernr,), t0, rep)
        for werks, name, city, land in PLANTS:
            self.put("T001W", (werks,), t0, {"WERKS": werks, "NAME1": name, "ORT01": city, "LAND1": land})

        self.products = []
        groups = list(COMMODITIES)
        per_group = max(1, cfg.products // len(groups))
        for g_index, group in enumerate(groups):
            for p_index, (name, name_zh, base) in enumerate(COMMODITIES[group][:per_group]):
                matnr = f"{group}-{p_index + 1:04d}"
                self.products.append(
                    {"MATNR": matnr, "GROUP": group, "BASE": Decimal(base), "NAME": name, "NAME_ZH": name_zh}
                )
                self.put(
                    "MARA",
                    (matnr,),
                    t0,
                    {"MATNR": matnr, "MTART": "HAWA", "MATKL": group, "MEINS": "TO", "ERSDA": dats(before)},
                )
                self.put("MAKT", (matnr, "E"), t0, {"MATNR": matnr, "SPRAS": "E", "MAKTX": name})
                self.put("MAKT", (matnr, "1"), t0, {"MATNR": matnr, "SPRAS": "1", "MAKTX": name_zh})
            del g_index
        # monthly benchmark (index) prices: a random walk per product
        self.bench = {}
        months = sorted({(cfg.start + timedelta(days=d)).strftime("%Y%m") for d in range(-31, cfg.days + 31)})
        for product in self.products:
            level = product["BASE"]
            for month in months:
                level = (level * Decimal(str(1 + rng.uniform(-0.04, 0.04)))).quantize(Decimal("0.01"))
                self.bench[(product["MATNR"], month)] = level
                self.put(
                    "ZMM_PRICE_BENCH",
                    (product["MATNR"], month),
                    t0,
                    {
                        "MATNR": product["MATNR"],
                        "SPMON": month,
                        "KBETR": level,
                        "WAERS": "USD",
                        "KMEIN": "TO",
                    },
                )
        # daily USD/CNY rates, published each morning
        self.usd_cny = {}
        rate = Decimal("7.1500")
        for d in range(-5, cfg.days):
            day = cfg.start + timedelta(days=d)
            rate = (rate + Decimal(str(rng.uniform(-0.02, 0.02)))).quantize(Decimal("0.0001"))
            self.usd_cny[day] = rate
            self.put(
                "TCURR",
                ("M", "USD", "CNY", dats(day)),
                at(day, 8),
                {"KURST": "M", "FCURR": "USD", "TCURR": "CNY", "GDATU": dats(day), "UKURS": rate},
            )

        self.customers = []
        for i in range(cfg.customers):
            stem, stem_zh = CUSTOMER_STEMS[i % len(CUSTOMER_STEMS)]
            kind, kind_zh = CUSTOMER_KINDS[(i // len(CUSTOMER_STEMS)) % len(CUSTOMER_KINDS)]
            land, region, currency = COUNTRIES[rng.randrange(len(COUNTRIES))]
            suffix = "Co., Ltd." if land == "CN" else "Pte. Ltd." if land == "SG" else "Ltd."
            kunnr = f"{100001 + i:010d}"
            created = before + timedelta(days=rng.randrange(0, 300))
            rep = self.reps[i % cfg.reps]
            zterm = rng.choices(list(TERMS), weights=[45, 30, 10, 15])[0]
            limit = Decimal(rng.choice([500, 1000, 2000, 3000, 5000])) * 1000
            customer = {
                "KUNNR": kunnr,
                "NAME": f"{stem} {kind} {suffix}",
                "NAME_ZH": f"{stem_zh}{kind_zh}有限公司",
                "LAND1": land,
                "CURRENCY": currency,
                "REP": rep,
                "ZTERM": zterm,
                "PORT": PORTS[land],
                "ACCOUNT": self._iban(land, i),
            }
            self.customers.append(customer)
            t = at(created, 10)
            self.put(
                "KNA1",
                (kunnr,),
                t,
                {
                    "KUNNR": kunnr,
                    "NAME1": customer["NAME"],
                    "NAME2": customer["NAME_ZH"],
                    "LAND1": land,
                    "REGIO": region[:3].upper(),
                    "ORT01": region,
                    "ERDAT": dats(created),
                    "SPRAS": "1" if land == "CN" else "E",
                    "LOEVM": "",
                },
            )
            self.put(
                "KNB1",
                (kunnr, "1000"),
                t,
                {"KUNNR": kunnr, "BUKRS": "1000", "ZTERM": zterm, "AKONT": "0011000000"},
            )
            self.put(
                "KNKK", (kunnr, "1000"), t, {"KUNNR": kunnr, "KKBER": "1000", "KLIMK": limit, "WAERS": "USD"}
            )
            self.put(
                "KNVP",
                (kunnr, "1000", "VE"),
                t,
                {"KUNNR": kunnr, "VKORG": "1000", "PARVW": "VE", "PERNR": rep["PERNR"]},
            )

    def _iban(self, land: str, i: int) -> str:
        return f"{land}{(i * 7919) % 97:02d}TRDB{i:012d}"
