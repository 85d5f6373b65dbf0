"""The simulated trader's fixed catalog: commodities, plants, reps, customer names, countries, ports, payment
terms, rule ids, and the small helpers (money, SAP dates, business-time moments) every builder uses."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, NamedTuple

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
    ("SG", "Singapore", "SGD"),
    ("VN", "Ho Chi Minh", "USD"),
    ("KR", "Seoul", "USD"),
    ("IN", "Mumbai", "USD"),
    ("AE", "Dubai", "USD"),
    ("ID", "Jakarta", "USD"),
    ("TH", "Bangkok", "USD"),
    ("DE", "Hamburg", "EUR"),
    ("NL", "Rotterdam", "EUR"),
]
"""Customer country, region and billing currency. Customers are dealt these in shuffled rounds (every
round of ``len(COUNTRIES)`` customers has each entry once), so even a small scenario bills in every currency."""
PORTS = {
    "CN": ("CNSHA", 2),
    "SG": ("SGSIN", 6),
    "VN": ("VNSGN", 5),
    "KR": ("KRPUS", 3),
    "IN": ("INNSA", 14),
    "AE": ("AEJEA", 18),
    "ID": ("IDJKT", 7),
    "TH": ("THLCH", 6),
    "DE": ("DEHAM", 34),
    "NL": ("NLRTM", 32),
}

REFERENCE_CURRENCY = "USD"
"""The currency every rate path goes through (dbt var ``fx_reference_currency``)."""


class FxQuote(NamedTuple):
    """One currency pair the treasury publishes daily as exchange rate type M in TCURR.

    ``start`` is the rate as quoted: for a direct quotation ``ffact`` units of ``fcurr`` cost ``start`` ×
    ``tfact`` units of ``tcurr``; for an indirect one ``tfact`` units of ``tcurr`` cost ``start`` × ``ffact``
    units of ``fcurr`` (stored as UKURS = −start). ``step`` is the largest relative daily move.
    """

    fcurr: str
    tcurr: str
    start: str
    indirect: bool
    ffact: int
    tfact: int
    step: float


FX_QUOTES = [
    FxQuote("USD", "CNY", "7.1500", False, 1, 1, 0.0028),  # 1 USD = 7.15 CNY (PBoC central parity style)
    FxQuote("USD", "EUR", "1.0850", True, 1, 1, 0.004),  # indirect: 1 EUR = 1.085 USD
    FxQuote("SGD", "USD", "1.3450", True, 1, 1, 0.003),  # indirect: 1 USD = 1.345 SGD
    FxQuote("JPY", "USD", "0.6650", False, 100, 1, 0.005),  # 100 JPY = 0.665 USD
    FxQuote("HKD", "CNY", "0.9150", False, 1, 1, 0.002),  # quoted against CNY only: a cross rate to USD
]
"""Type-M rates published every day: a mix of direct and indirect quotations, a ratio factor (100 JPY), and
a currency (HKD) that reaches the reference currency only through another currency (CNY)."""

TERMS = {"Z030": 30, "Z060": 60, "Z090": 90, "ZLC0": 10}
"""The payment terms a customer master gets at creation and may change to (KNB1-ZTERM): T/T 30/60/90 days
net from the invoice date, and L/C at sight. Net days of each; :data:`PAYMENT_TERMS` says from when."""


class PaymentTerm(NamedTuple):
    """A payment term as the trader's SAP configures it (OBB8): what the baseline date (ZFBDT) is and how
    many net days (ZBD1T) follow it."""

    code: str
    baseline: str
    """``invoice``: the invoice date; ``bl``: the bill of lading (on-board) date, i.e. the shipment's actual
    departure; ``prepayment``: the invoice date of an invoice billed when the delivery is created, before
    goods issue"""
    net_days: int
    text: str


PAYMENT_TERMS = {
    t.code: t
    for t in (
        PaymentTerm("Z030", "invoice", 30, "T/T 30 days net from invoice date"),
        PaymentTerm("Z060", "invoice", 60, "T/T 60 days net from invoice date"),
        PaymentTerm("Z090", "invoice", 90, "T/T 90 days net from invoice date"),
        PaymentTerm("ZB30", "bl", 30, "T/T 30 days net from B/L date"),
        PaymentTerm("ZB60", "bl", 60, "T/T 60 days net from B/L date"),
        PaymentTerm("ZLC0", "bl", 10, "L/C at sight: documents presented after B/L, paid within 10 days"),
        PaymentTerm("ZLU9", "bl", 90, "L/C usance 90 days from B/L date"),
        PaymentTerm("ZPRE", "prepayment", 2, "prepayment: invoice at delivery creation, paid before loading"),
    )
}
"""Every payment term on customers and orders. ``ZPRE`` is the prepayment term (dbt var
``prepayment_terms``); ZLC0 and ZLU9 are letters of credit (exposure on the issuing bank)."""

TRADE_TERMS_SHARE = {"ZB30": 0.10, "ZB60": 0.05, "ZLU9": 0.06, "ZPRE": 0.08}
"""Share of customers whose master (KNB1-ZTERM) carries a trade term other than :data:`TERMS` from go-live;
each appears at least :data:`TRADE_TERMS_MINIMUM` times (enough customers permitting)."""
TRADE_TERMS_MINIMUM = 2

BILLING_CATEGORIES = {
    "F2": "invoice",
    "ZPRV": "provisional",
    "ZFIN": "final",
    "G2": "credit_memo",
    "RE": "credit_memo",
    "L2": "debit_memo",
    "S1": "cancellation",
    "S2": "cancellation",
}
"""Billing type (FKART) → category, as dbt var ``billing_categories`` (dbt_project.yml) has it: for the
ground truth. The simulator writes F2, ZPRV, L2, G2 and S1."""

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


def inverted_dats(d: date) -> str:
    """SAP's inverted date (ABAP ``CONVERT DATE ... INTO INVERTED-DATE``): the nine's complement of
    ``YYYYMMDD``, i.e. 99999999 − YYYYMMDD as 8 characters, so that the newest date sorts first (TCURR-GDATU).
    """
    return f"{99999999 - int(d.strftime('%Y%m%d')):08d}"


def tcurr_rate(ukurs: Decimal, ffact: Decimal | int = 1, tfact: Decimal | int = 1) -> Decimal:
    """Units of TCURR per one unit of FCURR for a TCURR row.

    UKURS > 0 is a direct quotation, UKURS < 0 an indirect one (the rate is 1 ÷ |UKURS|); FFACT/TFACT are the
    ratios (100 JPY = x USD has FFACT 100): amount in TCURR = amount in FCURR × rate × TFACT ÷ FFACT.
    """
    rate = 1 / -ukurs if ukurs < 0 else ukurs
    return rate * Decimal(tfact) / Decimal(ffact)


def at(d: date, hour: float) -> datetime:
    """A moment on business date ``d`` (Asia/Shanghai wall clock), as UTC."""
    hh = int(hour)
    mm = int((hour - hh) * 60)
    return datetime.combine(d, time(hh, mm), tzinfo=BUSINESS_TZ).astimezone(UTC)
