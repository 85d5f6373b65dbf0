"""Master data: sales reps, plants, products with monthly benchmark prices, FX rates, customers."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from o2c.simulate.catalog import (
    COMMODITIES,
    COUNTRIES,
    CUSTOMER_KINDS,
    CUSTOMER_STEMS,
    FX_QUOTES,
    PLANTS,
    PORTS,
    REFERENCE_CURRENCY,
    REP_NAMES,
    TERMS,
    Row,
    at,
    dats,
    inverted_dats,
    tcurr_rate,
)
from o2c.simulate.model import MasterDataChange
from o2c.simulate.timeline import Timeline

SUFFIXES = {"CN": "Co., Ltd.", "SG": "Pte. Ltd.", "DE": "GmbH", "NL": "B.V."}


class MasterData(Timeline):
    fx_published: dict[date, dict[tuple[str, str], Decimal]]
    """Per day, the type-M rate of every published (FCURR, TCURR) pair: units of TCURR per 1 FCURR."""

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
        self.build_fx_rates()

        self.customers = []
        self.payment_terms = {}
        deck: list[tuple[str, str, str]] = []
        for i in range(cfg.customers):
            stem, stem_zh = CUSTOMER_STEMS[i % len(CUSTOMER_STEMS)]
            kind, kind_zh = CUSTOMER_KINDS[(i // len(CUSTOMER_STEMS)) % len(CUSTOMER_KINDS)]
            if not deck:  # a shuffled round of every country: each billing currency appears
                deck = rng.sample(COUNTRIES, len(COUNTRIES))
            land, region, currency = deck.pop()
            suffix = SUFFIXES.get(land, "Ltd.")
            kunnr = f"{100001 + i:010d}"
            created = before + timedelta(days=rng.randrange(0, 300))
            rep = self.reps[i % cfg.reps]
            zterm = rng.choices(list(TERMS), weights=[45, 30, 10, 15])[0]
            # a commodity trader's limits: a customer buys about 20 million USD a month, on 30 to 90 days
            limit = Decimal(rng.choice([20, 30, 40, 60, 80])) * 1_000_000
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
            self.payment_terms[kunnr] = [(date.min, zterm)]
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

    def build_master_changes(self) -> None:
        """Customer master data changing over time, each on a stated date (ground truth
        ``master_data_changes``): credit limits (KNKK-KLIMK, change document object KLIM), owner rep
        reassignments (KNVP-PERNR of partner function VE) and payment terms (KNB1-ZTERM), both object DEBI.

        A few per month across the customers, at least two of each kind, some customers several times.
        The row version is written on a weekday between 08:00 and 09:00 Shanghai time, before the day's
        order entry: orders entered from that date on carry the new payment terms (VBKD-ZTERM), and their
        invoices take the terms from the order, as SAP copies them. A stream of its own: the rest of the
        business draws the same whatever these rates are.
        """
        cfg = self.cfg
        rng = random.Random(f"{cfg.seed}:master-changes")  # noqa: S311 - a simulation
        weekdays = [
            cfg.start + timedelta(days=d)
            for d in range(1, cfg.days)
            if (cfg.start + timedelta(days=d)).weekday() < 5
        ]
        if not weekdays:
            return
        # a quarter of the customers change often: some customers get several changes
        weights = [5 if rng.random() < 0.25 else 1 for _ in self.customers]
        plan: list[tuple[date, int, str]] = []
        taken: set[tuple[int, str, date]] = set()
        for kind, rate in (
            ("credit_limit", cfg.credit_limit_changes),
            ("owner_rep_id", cfg.rep_changes),
            ("payment_terms_code", cfg.payment_term_changes),
        ):
            if kind == "owner_rep_id" and len(self.reps) < 2:
                continue
            count = max(2, round(rate * len(self.customers) * cfg.days / 30))
            for index in range(count):
                # the first change of every kind after the first goes to the customer changed first
                who = (
                    plan[0][1] if plan and index == 0 else rng.choices(range(len(self.customers)), weights)[0]
                )
                day = rng.choice(weekdays)
                if (who, kind, day) in taken:
                    continue
                taken.add((who, kind, day))
                plan.append((day, who, kind))
        current = {
            c["KUNNR"]: {
                "credit_limit": self.latest("KNKK", (c["KUNNR"], "1000")),
                "owner_rep_id": self.latest("KNVP", (c["KUNNR"], "1000", "VE")),
                "payment_terms_code": self.latest("KNB1", (c["KUNNR"], "1000")),
            }
            for c in self.customers
        }
        for day, who, kind in sorted(plan):
            kunnr = self.customers[who]["KUNNR"]
            key: tuple[str, ...]
            when = at(day, rng.uniform(8.0, 8.98))
            row = current[kunnr][kind]
            if kind == "credit_limit":
                table, key, fname, objectclass, tcode = "KNKK", (kunnr, "1000"), "KLIMK", "KLIM", "FD32"
                old = row["KLIMK"]
                new = old
                while new == old:
                    new = max(
                        Decimal(1_000_000), (old * Decimal(rng.choice(["0.5", "0.8", "1.25", "1.5", "2"])))
                    )
                    new = (new / 1_000_000).quantize(Decimal(1)) * 1_000_000
                old_text, new_text = f"{old:.2f}", f"{new:.2f}"
            elif kind == "owner_rep_id":
                table, key, fname, objectclass, tcode = "KNVP", (kunnr, "1000", "VE"), "PERNR", "DEBI", "VD02"
                old_text = row["PERNR"]
                new_text = rng.choice([r["PERNR"] for r in self.reps if r["PERNR"] != old_text])
                new = new_text
            else:
                table, key, fname, objectclass, tcode = "KNB1", (kunnr, "1000"), "ZTERM", "DEBI", "FD02"
                old_text = row["ZTERM"]
                new_text = rng.choice([t for t in TERMS if t != old_text])
                new = new_text
                self.payment_terms[kunnr].append((day, new_text))
            updated = {**row, fname: new}
            current[kunnr][kind] = updated
            self.put(table, key, when, updated)
            self.update_document(objectclass, tcode, table, key, when, {fname: (old_text, new_text)})
            self.master_data_changes.append(
                MasterDataChange(kunnr, kind, table, fname, old_text, new_text, day, when)
            )

    def build_fx_rates(self) -> None:
        """Publish exchange rate type M every morning in TCURR, stored as SAP stores it.

        TCURR key is KURST, FCURR, TCURR, GDATU; the values are UKURS, FFACT, TFACT.

        - GDATU is the valid-from date as an *inverted date*: the nine's complement of ``YYYYMMDD``
          (99999999 − YYYYMMDD, 8 characters; ABAP ``CONVERT DATE ... INTO INVERTED-DATE``), so that the newest
          rate sorts first. 2026-06-01 is stored as ``79739398``. A rate is valid from GDATU until the next
          newer GDATU of the same KURST/FCURR/TCURR.
        - UKURS > 0 is a direct quotation: FFACT units of FCURR = UKURS × TFACT units of TCURR. UKURS < 0 is
          an indirect quotation: the rate is 1 ÷ |UKURS|, i.e. TFACT units of TCURR = |UKURS| × FFACT units
          of FCURR (e.g. SGD→USD at −1.3450: 1 USD = 1.3450 SGD).
        - FFACT/TFACT are the ratio factors (100 JPY = 0.665 USD: FFACT 100, TFACT 1). SAP's own translation
          takes the factors from TCURF (SAP Note 783877); o2c extracts TCURR only, so the simulator writes
          the factors into TCURR's FFACT/TFACT too and o2c reads them there.
        - Amount in TCURR = amount in FCURR × rate × TFACT ÷ FFACT (:func:`o2c.simulate.catalog.tcurr_rate`).

        The pairs (``catalog.FX_QUOTES``) mix direct and indirect quotations, a factor, and a currency quoted
        against CNY only; each walks randomly from its own seeded generator, so adding a pair does not
        reshuffle the rest of the business.
        """
        cfg = self.cfg
        self.usd_cny = {}
        self.fx_published = {}
        for quote in FX_QUOTES:
            walk = random.Random(f"{cfg.seed}:fx:{quote.fcurr}{quote.tcurr}")  # noqa: S311 - a simulation
            level = Decimal(quote.start)
            for d in range(-5, cfg.days):
                day = cfg.start + timedelta(days=d)
                level = (level * Decimal(str(1 + walk.uniform(-quote.step, quote.step)))).quantize(
                    Decimal("0.0001")
                )
                ukurs = -level if quote.indirect else level
                gdatu = inverted_dats(day)
                self.put(
                    "TCURR",
                    ("M", quote.fcurr, quote.tcurr, gdatu),
                    at(day, 8),
                    {
                        "KURST": "M",
                        "FCURR": quote.fcurr,
                        "TCURR": quote.tcurr,
                        "GDATU": gdatu,
                        "UKURS": ukurs,
                        "FFACT": Decimal(quote.ffact),
                        "TFACT": Decimal(quote.tfact),
                    },
                )
                rate = tcurr_rate(ukurs, quote.ffact, quote.tfact)
                self.fx_published.setdefault(day, {})[(quote.fcurr, quote.tcurr)] = rate
        self.usd_cny = {day: quotes[("USD", "CNY")] for day, quotes in self.fx_published.items()}

    def fx_rate(self, day: date, from_currency: str, to_currency: str) -> Decimal:
        """Units of ``to_currency`` per 1 ``from_currency`` on ``day`` (type M): the published pair, its
        inverse, or a cross rate through the reference currency."""
        quotes = self.fx_published[day]
        if from_currency == to_currency:
            return Decimal(1)
        if (from_currency, to_currency) in quotes:
            return quotes[(from_currency, to_currency)]
        if (to_currency, from_currency) in quotes:
            return 1 / quotes[(to_currency, from_currency)]
        return self._to_reference(day, from_currency) / self._to_reference(day, to_currency)

    def _to_reference(self, day: date, currency: str) -> Decimal:
        """Units of the reference currency per 1 ``currency``: breadth-first over the day's published pairs."""
        reached = {REFERENCE_CURRENCY: Decimal(1)}
        frontier = [REFERENCE_CURRENCY]
        while frontier and currency not in reached:
            following = []
            for known in frontier:
                for (fcurr, tcurr), rate in sorted(self.fx_published[day].items()):
                    if tcurr == known and fcurr not in reached:  # 1 fcurr = rate tcurr
                        reached[fcurr] = rate * reached[known]
                        following.append(fcurr)
                    elif fcurr == known and tcurr not in reached:  # 1 tcurr = 1/rate fcurr
                        reached[tcurr] = reached[known] / rate
                        following.append(tcurr)
            frontier = following
        if currency not in reached:
            raise KeyError(f"no rate path from {currency} to {REFERENCE_CURRENCY} on {day}")
        return reached[currency]

    def price_for(self, product: Row, day: date, currency: str) -> Decimal:
        """The month's benchmark (USD/MT) in ``currency`` at the day's type-M rate (implements
        ``Timeline.price_for`` for the other stages: prices and FX rates are master data)."""
        usd = self.bench[(product["MATNR"], day.strftime("%Y%m"))]
        return usd if currency == "USD" else usd * self.fx_rate(day, "USD", currency)

    def assign_customer_groups(self) -> None:
        """Form customer groups: ``group_parent_share`` of the customers (at least two where there are
        customers enough) head a group of 1–3 affiliates billed in the parent's currency. KNA1-KONZS (the
        group key) is the parent's KUNNR on the parent and on each affiliate, from go-live. A stream of its
        own: the rest of the business is unchanged."""
        rng = random.Random(f"{self.cfg.seed}:customer-groups")  # noqa: S311 - a simulation
        by_currency: dict[str, list[Row]] = {}
        for customer in self.customers:
            by_currency.setdefault(customer["CURRENCY"], []).append(customer)
        wanted = max(2, round(len(self.customers) * self.cfg.group_parent_share))
        if len(self.customers) < 8 or self.cfg.group_parent_share <= 0:
            return
        pools = {ccy: rng.sample(members, len(members)) for ccy, members in sorted(by_currency.items())}
        groups = 0
        while groups < wanted and any(len(pool) >= 2 for pool in pools.values()):
            currency = rng.choice(sorted(ccy for ccy, pool in pools.items() if len(pool) >= 2))
            pool = pools[currency]
            parent = pool.pop()
            for _ in range(min(len(pool), rng.randint(1, 3))):
                self.customer_groups[pool.pop()["KUNNR"]] = parent["KUNNR"]
            groups += 1
        members = {**self.customer_groups, **{p: p for p in self.customer_groups.values()}}
        for kunnr, parent_id in members.items():
            versions = self.erp["KNA1"][(kunnr,)]
            for position, (when, row) in enumerate(versions):
                if row is not None:
                    versions[position] = (when, {**row, "KONZS": parent_id})

    def _iban(self, land: str, i: int) -> str:
        return f"{land}{(i * 7919) % 97:02d}TRDB{i:012d}"
