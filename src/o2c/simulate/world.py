"""Generate a commodity trader's business deterministically: master data, contracts, orders, deliveries,
invoices, payments, shipments, and the abnormal cases injected into them.

Everything is a *timeline*: each ERP row has versions stamped with the moment they were written, so the
simulator can serve the ERP exactly as it stood at any cutoff, with later changes to old rows (quantity
changes, rejections, goods issue, clearing) appearing as they would in a real system.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from o2c.config import BUSINESS_TZ

Row = dict[str, Any]

COMMODITIES: dict[str, list[tuple[str, str, int]]] = {
    # commodity group -> (English name, Chinese name, base USD/MT)
    "CHEM": [
        ("Methanol", "甲醇", 330),
        ("PTA", "精对苯二甲酸", 780),
        ("MEG", "乙二醇", 560),
        ("Caustic Soda 50%", "液碱50%", 420),
        ("PVC Resin SG-5", "PVC树脂SG-5", 830),
        ("Styrene Monomer", "苯乙烯", 1050),
    ],
    "METL": [
        ("Copper Cathode", "电解铜", 9200),
        ("Aluminium Ingot", "铝锭", 2450),
        ("Zinc Ingot", "锌锭", 2700),
        ("Nickel Briquette", "镍豆", 16500),
        ("Steel Billet", "钢坯", 520),
        ("HRC Coil", "热轧卷板", 600),
    ],
    "AGRI": [
        ("Soybeans", "大豆", 480),
        ("Yellow Corn", "玉米", 230),
        ("Milling Wheat", "小麦", 260),
        ("Crude Palm Oil", "毛棕榈油", 900),
        ("Raw Sugar", "原糖", 480),
        ("Cotton", "棉花", 1750),
    ],
    "PLAS": [
        ("Polypropylene", "聚丙烯", 1020),
        ("HDPE", "高密度聚乙烯", 1080),
        ("LLDPE", "线性低密度聚乙烯", 1000),
        ("ABS Resin", "ABS树脂", 1450),
        ("PET Chips", "聚酯切片", 900),
        ("EVA", "乙烯-醋酸乙烯共聚物", 1600),
    ],
}

PLANTS = [
    ("CN01", "Shanghai Waigaoqiao DC", "Shanghai", "CN"),
    ("CN02", "Tianjin Port DC", "Tianjin", "CN"),
    ("CN03", "Ningbo Zhoushan DC", "Ningbo", "CN"),
    ("SG01", "Singapore Jurong DC", "Singapore", "SG"),
]

REP_NAMES = [
    ("Li Wei", "李伟", "East China"),
    ("Wang Fang", "王芳", "North China"),
    ("Zhang Min", "张敏", "South China"),
    ("Chen Jie", "陈杰", "South-East Asia"),
    ("Liu Yang", "刘洋", "Korea & Japan"),
    ("Zhao Lei", "赵磊", "South Asia"),
    ("Sun Li", "孙丽", "Middle East"),
    ("Zhou Tao", "周涛", "Europe"),
]

CUSTOMER_STEMS = [
    ("Huaxin", "华信"),
    ("Jinlong", "金龙"),
    ("Hengtai", "恒泰"),
    ("Dongfang", "东方"),
    ("Xinghai", "星海"),
    ("Ruifeng", "瑞丰"),
    ("Tianyuan", "天元"),
    ("Baoli", "宝利"),
    ("Zhongcheng", "中诚"),
    ("Yongsheng", "永盛"),
    ("Guotai", "国泰"),
    ("Haitong", "海通"),
    ("Minsheng", "民生"),
    ("Kaiyuan", "开元"),
    ("Longteng", "龙腾"),
    ("Shengda", "盛达"),
]
CUSTOMER_KINDS = [
    ("Chemicals", "化工"),
    ("Metals", "金属"),
    ("Trading", "贸易"),
    ("Industrial", "实业"),
    ("Materials", "材料"),
    ("Plastics", "塑料"),
    ("Agri", "农业"),
]
COUNTRIES = [
    ("CN", "Shanghai", "CNY"),
    ("CN", "Jiangsu", "CNY"),
    ("CN", "Zhejiang", "CNY"),
    ("CN", "Guangdong", "CNY"),
    ("CN", "Shandong", "CNY"),
    ("SG", "Singapore", "USD"),
    ("VN", "Ho Chi Minh", "USD"),
    ("KR", "Seoul", "USD"),
    ("IN", "Mumbai", "USD"),
    ("AE", "Dubai", "USD"),
    ("ID", "Jakarta", "USD"),
    ("TH", "Bangkok", "USD"),
]
PORTS = {
    "CN": ("CNSHA", 2),
    "SG": ("SGSIN", 6),
    "VN": ("VNSGN", 5),
    "KR": ("KRPUS", 3),
    "IN": ("INNSA", 14),
    "AE": ("AEJEA", 18),
    "ID": ("IDJKT", 7),
    "TH": ("THLCH", 6),
}
TERMS = {"Z030": 30, "Z060": 60, "Z090": 90, "ZLC0": 10}
"""Payment terms: T/T 30/60/90 days net, and L/C at sight (paid on presentation, 10 days allowed)."""

RULE_ORDER_OVERDUE = "ORD_OVERDUE"
RULE_QTY_TOLERANCE = "QTY_TOLERANCE"
RULE_PRICE_BAND = "PRICE_BAND"
RULE_AR_OVERDUE = "AR_OVERDUE"

TWO = Decimal("0.01")
THREE = Decimal("0.001")


def money(value: Decimal | float) -> Decimal:
    return Decimal(str(value)).quantize(TWO, rounding=ROUND_HALF_UP)


def dats(d: date | None) -> str:
    """SAP DATS representation."""
    return d.strftime("%Y%m%d") if d else "00000000"


def at(d: date, hour: float) -> datetime:
    """A moment on business date ``d`` (Asia/Shanghai wall clock), as UTC."""
    hh = int(hour)
    mm = int((hour - hh) * 60)
    return datetime.combine(d, time(hh, mm), tzinfo=BUSINESS_TZ).astimezone(UTC)


@dataclass(frozen=True)
class SimConfig:
    """Scale and rates of the simulated business (defaults: a mid-size trader over 120 days)."""

    seed: int = 42
    start: date = date(2026, 6, 1)
    days: int = 120
    customers: int = 120
    products: int = 24
    reps: int = 6
    lines_per_day: float = 46.0
    overdue_order_rate: float = 0.03
    qty_deviation_rate: float = 0.025
    price_deviation_rate: float = 0.015
    unpaid_invoice_rate: float = 0.04
    rejection_rate: float = 0.02
    price_band_pct: Decimal = Decimal("8")
    bad_bank_file_day: int | None = 40

    @property
    def end(self) -> date:
        return self.start + timedelta(days=self.days - 1)


@dataclass
class Case:
    """One injected abnormal case: the ground truth a check must find."""

    rule_id: str
    entity_key: str
    order_id: str | None
    customer_id: str
    reference_date: date
    """promised date (overdue orders), due date (receivables), goods issue (quantity) or order date (price)"""
    note: str


@dataclass
class Payment:
    """A customer payment as the bank books it (credit), with the invoice it pays (expected match)."""

    booking_date: date
    account_currency: str
    amount: Decimal
    payer_name: str
    payer_account: str
    remittance: str
    end_to_end_id: str
    invoice_id: str | None
    customer_id: str


@dataclass
class BankDebit:
    booking_date: date
    account_currency: str
    amount: Decimal
    counterparty: str
    remittance: str
    reference: str


@dataclass
class Shipment:
    shipment_id: str
    versions: list[tuple[datetime, dict[str, Any]]] = field(default_factory=list)


@dataclass
class World:
    config: SimConfig
    erp: dict[str, dict[tuple[str, ...], list[tuple[datetime, Row | None]]]]
    shipments: list[Shipment]
    payments: list[Payment]
    debits: list[BankDebit]
    cases: list[Case]
    reps: list[Row]
    order_line_count: int

    def erp_as_of(self, table: str, cutoff: datetime) -> list[Row]:
        """Rows of ``table`` as the ERP held them at ``cutoff`` (deleted rows omitted)."""
        rows: list[Row] = []
        for key in sorted(self.erp[table]):
            current: tuple[datetime, Row | None] | None = None
            for version in self.erp[table][key]:
                if version[0] <= cutoff and (current is None or version[0] >= current[0]):
                    current = version
            if current is not None and current[1] is not None:
                rows.append({**current[1], "CHANGED_AT": current[0]})
        return rows

    def shipments_as_of(self, cutoff: datetime) -> list[dict[str, Any]]:
        out = []
        for shipment in self.shipments:
            visible = [v for v in shipment.versions if v[0] <= cutoff]
            if visible:
                stamp, body = max(visible, key=lambda v: v[0])
                out.append({**body, "updated_at": stamp.isoformat().replace("+00:00", "Z")})
        return out


class _Builder:
    def __init__(self, cfg: SimConfig) -> None:
        self.cfg = cfg
        self.rng = random.Random(cfg.seed)  # noqa: S311 - a simulation, not cryptography
        self.erp: dict[str, dict[tuple[str, ...], list[tuple[datetime, Row | None]]]] = defaultdict(dict)
        self.shipments: list[Shipment] = []
        self.payments: list[Payment] = []
        self.debits: list[BankDebit] = []
        self.cases: list[Case] = []
        self.counters: dict[str, int] = defaultdict(int)

    # -- helpers ------------------------------------------------------------------------------
    def put(self, table: str, key: tuple[str, ...], when: datetime, row: Row | None) -> None:
        self.erp[table].setdefault(key, []).append((when, row))

    def latest(self, table: str, key: tuple[str, ...]) -> Row:
        """The most recently written version of a row (which must exist)."""
        row = self.erp[table][key][-1][1]
        if row is None:
            raise KeyError(f"{table} {key} was deleted")
        return row

    def next_id(self, kind: str, start: int, width: int = 10) -> str:
        self.counters[kind] += 1
        return str(start + self.counters[kind]).zfill(width)

    def business_hour(self) -> float:
        return self.rng.uniform(9.0, 17.5)

    # -- master data --------------------------------------------------------------------------
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

        self.products: list[Row] = []
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
        self.bench: dict[tuple[str, str], Decimal] = {}
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
        self.usd_cny: dict[date, Decimal] = {}
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

        self.customers: list[Row] = []
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

    # -- contracts ----------------------------------------------------------------------------
    def build_contracts(self) -> None:
        cfg, rng = self.cfg, self.rng
        self.contracts: dict[str, list[Row]] = {}
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

    # -- orders and fulfilment ------------------------------------------------------------------
    def price_for(self, product: Row, day: date, currency: str) -> Decimal:
        usd = self.bench[(product["MATNR"], day.strftime("%Y%m"))]
        return usd if currency == "USD" else usd * self.usd_cny[day]

    def build_orders(self) -> None:
        cfg, rng = self.cfg, self.rng
        self.order_lines = 0
        for d in range(cfg.days):
            day = cfg.start + timedelta(days=d)
            if day.weekday() == 6:  # no order entry on Sundays
                continue
            target_lines = rng.gauss(cfg.lines_per_day * 7 / 6, 6)
            made = 0
            while made < target_lines:
                customer = rng.choice(self.customers)
                made += self.build_order(customer, day)

    def build_order(self, customer: Row, day: date) -> int:
        cfg, rng = self.cfg, self.rng
        valid = [c for c in self.contracts[customer["KUNNR"]] if c["FROM"] <= day <= c["TO"]]
        if not valid:
            return 0
        vbeln = self.next_id("order", 10000000)
        created = at(day, self.business_hour())
        n_lines = min(len(valid), rng.choice([1, 1, 1, 2, 2, 3]))
        horizon_left = (cfg.end - day).days
        header_total = Decimal(0)
        currency = customer["CURRENCY"]
        for index, contract in enumerate(rng.sample(valid, n_lines)):
            posnr = f"{(index + 1) * 10:06d}"
            key = f"{vbeln}-{posnr}"
            product = contract["PRODUCT"]
            qty = Decimal(rng.randrange(40, 4000)) / 2
            bench = self.price_for(product, day, currency)
            band = cfg.price_band_pct / 100
            price_injected = rng.random() < cfg.price_deviation_rate
            if price_injected:
                off = Decimal(str(round(rng.uniform(0.15, 0.30), 4))) * rng.choice([1, -1])
                self.cases.append(
                    Case(
                        RULE_PRICE_BAND,
                        key,
                        vbeln,
                        customer["KUNNR"],
                        day,
                        f"price {off:+.1%} off the benchmark",
                    )
                )
            else:
                off = contract["PREMIUM"] + Decimal(str(round(rng.uniform(-0.5, 0.5) * float(band), 4)))
                off = max(min(off, band * Decimal("0.8")), -band * Decimal("0.8"))
            price = (bench * (1 + off)).quantize(Decimal("0.01"))
            net = money(qty * price)
            header_total += net
            lead = rng.randint(7, 30)
            promised = day + timedelta(days=lead)
            self.put(
                "VBAP",
                (vbeln, posnr),
                created,
                {
                    "VBELN": vbeln,
                    "POSNR": posnr,
                    "MATNR": product["MATNR"],
                    "KWMENG": qty,
                    "ZMENG": Decimal(0),
                    "VRKME": "TO",
                    "NETPR": price,
                    "KPEIN": 1,
                    "NETWR": net,
                    "WAERK": currency,
                    "WERKS": contract["PLANT"],
                    "UEBTO": contract["TOL"],
                    "UNTTO": contract["TOL"],
                    "VGBEL": contract["VBELN"],
                    "VGPOS": "000010",
                    "ABGRU": "",
                    "ERDAT": dats(day),
                },
            )
            self.put(
                "VBEP",
                (vbeln, posnr, "0001"),
                created,
                {"VBELN": vbeln, "POSNR": posnr, "ETENR": "0001", "EDATU": dats(promised), "WMENG": qty},
            )
            self.put(
                "VBKD",
                (vbeln, posnr),
                created,
                {
                    "VBELN": vbeln,
                    "POSNR": posnr,
                    "ZTERM": customer["ZTERM"],
                    "INCO1": rng.choice(["FOB", "CFR", "CIF"]),
                    "INCO2": customer["PORT"][0],
                },
            )
            shipment = Shipment(f"SHP{vbeln[-7:]}{posnr[-2:-1]}")
            self.shipments.append(shipment)
            etd_plan = promised + timedelta(days=1)
            transit = customer["PORT"][1]
            base_body = {
                "shipment_id": shipment.shipment_id,
                "order_id": vbeln,
                "order_item": posnr,
                "delivery_id": None,
                "customer_id": customer["KUNNR"],
                "mode": "SEA",
                "carrier": rng.choice(["COSCO", "Maersk", "MSC", "CMA CGM", "ONE"]),
                "port_of_loading": "CNSHA",
                "port_of_discharge": customer["PORT"][0],
                "etd_planned": etd_plan.isoformat(),
                "eta_planned": (etd_plan + timedelta(days=transit)).isoformat(),
                "etd_actual": None,
                "eta_actual": None,
                "vessel": None,
                "voyage": None,
                "bl_number": None,
                "containers": [],
                "status": "BOOKED",
                "events": [{"code": "BOOKED", "at": (created + timedelta(hours=3)).isoformat()}],
            }
            shipment.versions.append((created + timedelta(hours=3), base_body))
            self.order_lines += 1

            # the order line's fate: rejected, stuck (overdue), or delivered
            overdue = horizon_left > 12 and rng.random() < cfg.overdue_order_rate
            rejected = not overdue and rng.random() < cfg.rejection_rate
            if rng.random() < 0.1 and not overdue:  # customer revises the quantity two days later
                qty = (qty * Decimal(str(rng.choice([0.8, 0.9, 1.1, 1.2])))).quantize(Decimal("0.5"))
                net = money(qty * price)
                self.put(
                    "VBAP",
                    (vbeln, posnr),
                    created + timedelta(days=2),
                    {**self.latest("VBAP", (vbeln, posnr)), "KWMENG": qty, "NETWR": net},
                )
                self.put(
                    "VBEP",
                    (vbeln, posnr, "0001"),
                    created + timedelta(days=2),
                    {"VBELN": vbeln, "POSNR": posnr, "ETENR": "0001", "EDATU": dats(promised), "WMENG": qty},
                )
            if overdue:
                self.cases.append(
                    Case(RULE_ORDER_OVERDUE, key, vbeln, customer["KUNNR"], promised, "never delivered")
                )
                slipped = dict(
                    base_body,
                    etd_planned=(etd_plan + timedelta(days=10)).isoformat(),
                    eta_planned=(etd_plan + timedelta(days=10 + transit)).isoformat(),
                    events=[
                        *base_body["events"],
                        {"code": "ETD_REVISED", "at": at(promised - timedelta(days=1), 11).isoformat()},
                    ],
                )
                shipment.versions.append((at(promised - timedelta(days=1), 11), slipped))
                continue
            if rejected:  # after any quantity revision (day 2), so the rejection is the latest version
                when = created + timedelta(days=rng.randint(3, 6))
                self.put(
                    "VBAP",
                    (vbeln, posnr),
                    when,
                    {
                        **self.latest("VBAP", (vbeln, posnr)),
                        "ABGRU": "Z1",
                    },
                )
                shipment.versions.append(
                    (
                        when,
                        dict(
                            base_body,
                            status="CANCELLED",
                            events=[*base_body["events"], {"code": "CANCELLED", "at": when.isoformat()}],
                        ),
                    )
                )
                continue
            goods_issue = promised - timedelta(days=rng.randint(0, min(5, lead - 3)))
            self.build_delivery(
                customer, contract, vbeln, posnr, key, qty, price, goods_issue, shipment, base_body
            )
        self.put(
            "VBAK",
            (vbeln,),
            created,
            {
                "VBELN": vbeln,
                "VBTYP": "C",
                "AUART": "ZOR",
                "ERDAT": dats(day),
                "AUDAT": dats(day),
                "KUNNR": customer["KUNNR"],
                "VKORG": "1000",
                "WAERK": currency,
                "NETWR": header_total,
                "GUEBG": "00000000",
                "GUEEN": "00000000",
                "BSTNK": f"PO{rng.randrange(100000, 999999)}",
            },
        )
        return n_lines

    def build_delivery(
        self,
        customer: Row,
        contract: Row,
        vbeln: str,
        posnr: str,
        key: str,
        qty: Decimal,
        price: Decimal,
        goods_issue: date,
        shipment: Shipment,
        base_body: dict[str, Any],
    ) -> None:
        cfg, rng = self.cfg, self.rng
        tol = contract["TOL"] / 100
        if rng.random() < cfg.qty_deviation_rate:
            deviation = (tol + Decimal(str(round(rng.uniform(0.04, 0.15), 4)))) * rng.choice([1, -1])
            self.cases.append(
                Case(
                    RULE_QTY_TOLERANCE,
                    key,
                    vbeln,
                    customer["KUNNR"],
                    goods_issue,
                    f"delivered {deviation:+.1%} vs ordered, tolerance {contract['TOL']}%",
                )
            )
        else:
            deviation = Decimal(str(round(rng.uniform(-0.8, 0.8) * float(tol), 4)))
        delivered = (qty * (1 + deviation)).quantize(THREE)
        lieferung = self.next_id("delivery", 80000000)
        picked = at(goods_issue - timedelta(days=2), self.business_hour())
        batch = f"B{goods_issue.strftime('%y%m%d')}{rng.randrange(100, 999)}"
        plant = contract["PLANT"]
        likp = {
            "VBELN": lieferung,
            "ERDAT": dats(goods_issue - timedelta(days=2)),
            "LFDAT": dats(goods_issue),
            "WADAT": dats(goods_issue),
            "WADAT_IST": "00000000",
            "KUNNR": customer["KUNNR"],
            "VSTEL": plant,
        }
        self.put("LIKP", (lieferung,), picked, likp)
        self.put(
            "LIPS",
            (lieferung, "000010"),
            picked,
            {
                "VBELN": lieferung,
                "POSNR": "000010",
                "MATNR": contract["PRODUCT"]["MATNR"],
                "WERKS": plant,
                "CHARG": batch,
                "LFIMG": delivered,
                "VRKME": "TO",
                "VGBEL": vbeln,
                "VGPOS": posnr,
            },
        )
        issued = at(goods_issue, self.business_hour())
        self.put("LIKP", (lieferung,), issued, dict(likp, WADAT_IST=dats(goods_issue)))
        # the forwarder: booked, gate-in, departed, arrived
        etd = goods_issue + timedelta(days=rng.randint(1, 3))
        eta = etd + timedelta(days=customer["PORT"][1] + rng.randint(-1, 2))
        body = dict(
            base_body,
            delivery_id=lieferung,
            vessel=f"{base_body['carrier']} {rng.choice(['STAR', 'PRIDE', 'HOPE', 'GLORY'])}",
            voyage=f"{rng.randrange(100, 999)}E",
            bl_number=f"BL{lieferung}",
            containers=[
                f"CSNU{rng.randrange(1000000, 9999999)}" for _ in range(max(1, min(40, int(delivered // 25))))
            ],
            status="GATE_IN",
            events=[*base_body["events"], {"code": "GATE_IN", "at": issued.isoformat()}],
        )
        shipment.versions.append((issued + timedelta(hours=1), body))
        departed = at(etd, 20)
        body = dict(
            body,
            status="DEPARTED",
            etd_actual=etd.isoformat(),
            eta_planned=eta.isoformat(),
            events=[*body["events"], {"code": "DEPARTED", "at": departed.isoformat()}],
        )
        shipment.versions.append((departed, body))
        arrived = at(eta, 8)
        body = dict(
            body,
            status="ARRIVED",
            eta_actual=eta.isoformat(),
            events=[*body["events"], {"code": "ARRIVED", "at": arrived.isoformat()}],
        )
        shipment.versions.append((arrived, body))
        self.build_invoice(customer, vbeln, posnr, lieferung, contract, delivered, price, goods_issue)

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

    # -- bank noise -----------------------------------------------------------------------------
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
                        day, currency, fee, "BANK", "ACCOUNT MAINTENANCE FEE", f"FEE{day.strftime('%Y%m%d')}"
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
                        )
                    )


def build_world(cfg: SimConfig | None = None) -> World:
    """The whole simulated business, deterministic for ``cfg.seed``."""
    config = cfg or SimConfig()
    builder = _Builder(config)
    builder.build_master()
    builder.build_contracts()
    builder.build_orders()
    builder.build_bank_debits()
    return World(
        config=config,
        erp=builder.erp,
        shipments=builder.shipments,
        payments=builder.payments,
        debits=builder.debits,
        cases=builder.cases,
        reps=builder.reps,
        order_line_count=builder.order_lines,
    )
