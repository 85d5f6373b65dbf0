"""SAP-shaped ERP tables the simulator serves (field names as SAP's; see shared/data/sap).

Dates are SAP ``DATS`` strings (``YYYYMMDD``, ``00000000`` when empty) as in a real extract; amounts and
quantities are packed decimals. ``CHANGED_AT`` is the replication timestamp (UTC) that a change-data
extraction (SLT/ODP) adds to every row: the ERP extractor reads incrementally on it.
"""

from __future__ import annotations

from decimal import Decimal

D = "varchar(8)"  # SAP DATS
Q = "numeric(15,3)"  # quantity
A = "numeric(17,2)"  # amount
P = "numeric(13,4)"  # price per unit

CUSTOMER_ITEM: list[tuple[str, str]] = [
    ("BUKRS", "varchar(4)"),
    ("KUNNR", "varchar(10)"),
    ("GJAHR", "varchar(4)"),
    ("BELNR", "varchar(10)"),
    ("BUZEI", "varchar(3)"),
    ("BUDAT", D),
    ("BLDAT", D),
    ("ZFBDT", D),
    ("ZBD1T", "numeric(3,0)"),
    ("ZBD1P", "numeric(5,3)"),
    ("ZBD2T", "numeric(3,0)"),
    ("ZBD3T", "numeric(3,0)"),
    ("REBZG", "varchar(10)"),
    ("ZTERM", "varchar(4)"),
    ("SHKZG", "varchar(1)"),
    ("WRBTR", A),
    ("WAERS", "varchar(5)"),
    ("XBLNR", "varchar(16)"),
    ("VBELN", "varchar(10)"),
    # document type: RV billing (invoice, memo, cancellation), DZ customer payment (a residual item, a
    # deducted claim's dispute item, a payment on account posted by a payment's clearing)
    ("BLART", "varchar(2)"),
    # reason code of a payment difference (OB59): Q01 quality claim deducted (the dispute item), blank else
    ("RSTGR", "varchar(3)"),
    ("SGTXT", "varchar(50)"),
]

TABLES: dict[str, list[tuple[str, str]]] = {
    "KNA1": [
        ("KUNNR", "varchar(10)"),
        ("NAME1", "varchar(80)"),
        ("NAME2", "varchar(80)"),
        ("LAND1", "varchar(3)"),
        ("REGIO", "varchar(3)"),
        ("ORT01", "varchar(40)"),
        ("ERDAT", D),
        ("SPRAS", "varchar(2)"),
        ("LOEVM", "varchar(1)"),
        # group key: the group parent's KUNNR on the parent and on each of its affiliates, blank otherwise
        ("KONZS", "varchar(10)"),
    ],
    "KNB1": [
        ("KUNNR", "varchar(10)"),
        ("BUKRS", "varchar(4)"),
        ("ZTERM", "varchar(4)"),
        ("AKONT", "varchar(10)"),
    ],
    "KNKK": [("KUNNR", "varchar(10)"), ("KKBER", "varchar(4)"), ("KLIMK", A), ("WAERS", "varchar(5)")],
    "KNVP": [
        ("KUNNR", "varchar(10)"),
        ("VKORG", "varchar(4)"),
        ("PARVW", "varchar(2)"),
        ("PERNR", "varchar(8)"),
    ],
    "ZSD_SALES_REP": [
        ("PERNR", "varchar(8)"),
        ("ENAME", "varchar(60)"),
        ("ENAME_ZH", "varchar(60)"),
        ("SMTP_ADDR", "varchar(120)"),
        ("LANGU", "varchar(2)"),
        ("REGION", "varchar(20)"),
    ],
    "MARA": [
        ("MATNR", "varchar(18)"),
        ("MTART", "varchar(4)"),
        ("MATKL", "varchar(9)"),
        ("MEINS", "varchar(3)"),
        ("ERSDA", D),
    ],
    "MAKT": [("MATNR", "varchar(18)"), ("SPRAS", "varchar(2)"), ("MAKTX", "varchar(80)")],
    "T001W": [
        ("WERKS", "varchar(4)"),
        ("NAME1", "varchar(60)"),
        ("ORT01", "varchar(40)"),
        ("LAND1", "varchar(3)"),
    ],
    "ZMM_PRICE_BENCH": [
        ("MATNR", "varchar(18)"),
        ("SPMON", "varchar(6)"),
        ("KBETR", P),
        ("WAERS", "varchar(5)"),
        ("KMEIN", "varchar(3)"),
    ],
    # GDATU is an inverted date (99999999 - YYYYMMDD), not DATS; UKURS < 0 is an indirect quotation;
    # FFACT/TFACT are the from/to ratio factors (see o2c.simulate.master.MasterData.build_fx_rates)
    "TCURR": [
        ("KURST", "varchar(4)"),
        ("FCURR", "varchar(5)"),
        ("TCURR", "varchar(5)"),
        ("GDATU", "varchar(8)"),
        ("UKURS", "numeric(9,5)"),
        ("FFACT", "numeric(9,0)"),
        ("TFACT", "numeric(9,0)"),
    ],
    "VBAK": [
        ("VBELN", "varchar(10)"),
        ("VBTYP", "varchar(1)"),
        ("AUART", "varchar(4)"),
        ("ERDAT", D),
        ("AUDAT", D),
        ("KUNNR", "varchar(10)"),
        ("VKORG", "varchar(4)"),
        ("WAERK", "varchar(5)"),
        ("NETWR", A),
        ("GUEBG", D),
        ("GUEEN", D),
        ("BSTNK", "varchar(35)"),
    ],
    "VBAP": [
        ("VBELN", "varchar(10)"),
        ("POSNR", "varchar(6)"),
        ("MATNR", "varchar(18)"),
        ("KWMENG", Q),
        ("ZMENG", Q),
        ("VRKME", "varchar(3)"),
        ("NETPR", P),
        ("KPEIN", "numeric(5,0)"),
        ("NETWR", A),
        ("WAERK", "varchar(5)"),
        ("WERKS", "varchar(4)"),
        ("UEBTO", "numeric(4,1)"),
        ("UNTTO", "numeric(4,1)"),
        ("VGBEL", "varchar(10)"),
        ("VGPOS", "varchar(6)"),
        ("ABGRU", "varchar(2)"),
        ("LFSTA", "varchar(1)"),
        ("ERDAT", D),
        # the trader's append structure for formula pricing (SAP CPE keeps it in the formula of the price
        # condition; a custom ZZ append on the item is the common way to make it reportable):
        # ZZPRTYP 'F' = formula-priced (NETPR is the provisional price), blank = fixed price;
        # ZZQPRULE the quotational period ('M': the B/L month, 'M+1': the month after it);
        # ZZPREMP the contract premium over the QP's average benchmark, in % of the benchmark
        ("ZZPRTYP", "varchar(1)"),
        ("ZZQPRULE", "varchar(4)"),
        ("ZZPREMP", "numeric(7,2)"),
    ],
    "VBKD": [
        ("VBELN", "varchar(10)"),
        ("POSNR", "varchar(6)"),
        ("ZTERM", "varchar(4)"),
        ("INCO1", "varchar(3)"),
        ("INCO2", "varchar(28)"),
    ],
    "VBEP": [
        ("VBELN", "varchar(10)"),
        ("POSNR", "varchar(6)"),
        ("ETENR", "varchar(4)"),
        ("EDATU", D),
        ("WMENG", Q),
        ("BMENG", Q),
    ],
    "LIKP": [
        ("VBELN", "varchar(10)"),
        ("ERDAT", D),
        ("LFDAT", D),
        ("WADAT", D),
        ("WADAT_IST", D),
        ("KUNNR", "varchar(10)"),
        ("VSTEL", "varchar(4)"),
    ],
    "LIPS": [
        ("VBELN", "varchar(10)"),
        ("POSNR", "varchar(6)"),
        ("MATNR", "varchar(18)"),
        ("WERKS", "varchar(4)"),
        ("CHARG", "varchar(10)"),
        ("LFIMG", Q),
        ("VRKME", "varchar(3)"),
        ("VGBEL", "varchar(10)"),
        ("VGPOS", "varchar(6)"),
    ],
    "VBRK": [
        ("VBELN", "varchar(10)"),
        ("FKART", "varchar(4)"),
        ("FKDAT", D),
        ("KUNAG", "varchar(10)"),
        ("WAERK", "varchar(5)"),
        ("NETWR", A),
        ("MWSBK", A),
        ("ZTERM", "varchar(4)"),
        ("FKSTO", "varchar(1)"),
        ("BUKRS", "varchar(4)"),
        ("ERDAT", D),
        # document category: M invoice, N invoice cancellation, O credit memo, P debit memo
        ("VBTYP", "varchar(1)"),
        # a cancellation's cancelled billing document
        ("SFAKN", "varchar(10)"),
    ],
    "VBRP": [
        ("VBELN", "varchar(10)"),
        ("POSNR", "varchar(6)"),
        ("FKIMG", Q),
        ("VRKME", "varchar(3)"),
        ("NETWR", A),
        ("MATNR", "varchar(18)"),
        ("AUBEL", "varchar(10)"),
        ("AUPOS", "varchar(6)"),
        ("VGBEL", "varchar(10)"),
        ("VGPOS", "varchar(6)"),
        # category of the reference document VGBEL: J delivery (invoices), M invoice (memos, cancellations)
        ("VGTYP", "varchar(1)"),
    ],
    # document flow: preceding document/item -> subsequent document/item (contract -> call-off order G->C,
    # order -> delivery C->J, delivery -> invoice J->M, invoice -> credit memo M->O, debit memo M->P,
    # cancellation M->N); ERDAT/ERZET: created
    "VBFA": [
        ("VBELV", "varchar(10)"),
        ("POSNV", "varchar(6)"),
        ("VBELN", "varchar(10)"),
        ("POSNN", "varchar(6)"),
        ("VBTYP_N", "varchar(1)"),
        ("VBTYP_V", "varchar(1)"),
        ("RFMNG", Q),
        ("MEINS", "varchar(3)"),
        ("RFWRT", A),
        ("WAERS", "varchar(5)"),
        ("ERDAT", D),
        ("ERZET", "varchar(6)"),
    ],
    # change documents: header (who/when) and items (which table row, which field, old/new value)
    "CDHDR": [
        ("OBJECTCLAS", "varchar(15)"),
        ("OBJECTID", "varchar(90)"),
        ("CHANGENR", "varchar(10)"),
        ("USERNAME", "varchar(12)"),
        ("UDATE", D),
        ("UTIME", "varchar(6)"),
        ("TCODE", "varchar(20)"),
        ("CHANGE_IND", "varchar(1)"),
    ],
    "CDPOS": [
        ("OBJECTCLAS", "varchar(15)"),
        ("OBJECTID", "varchar(90)"),
        ("CHANGENR", "varchar(10)"),
        ("TABNAME", "varchar(30)"),
        ("TABKEY", "varchar(70)"),
        ("FNAME", "varchar(30)"),
        ("CHNGIND", "varchar(1)"),
        ("VALUE_NEW", "varchar(254)"),
        ("VALUE_OLD", "varchar(254)"),
    ],
    # open (BSID) and cleared (BSAD) customer items share their layout; BSAD adds the clearing
    "BSID": CUSTOMER_ITEM,
    "BSAD": [*CUSTOMER_ITEM, ("AUGDT", D), ("AUGBL", "varchar(10)")],
}

KEYS: dict[str, tuple[str, ...]] = {
    "KNA1": ("KUNNR",),
    "KNB1": ("KUNNR", "BUKRS"),
    "KNKK": ("KUNNR", "KKBER"),
    "KNVP": ("KUNNR", "VKORG", "PARVW"),
    "ZSD_SALES_REP": ("PERNR",),
    "MARA": ("MATNR",),
    "MAKT": ("MATNR", "SPRAS"),
    "T001W": ("WERKS",),
    "ZMM_PRICE_BENCH": ("MATNR", "SPMON"),
    "TCURR": ("KURST", "FCURR", "TCURR", "GDATU"),
    "VBAK": ("VBELN",),
    "VBAP": ("VBELN", "POSNR"),
    "VBKD": ("VBELN", "POSNR"),
    "VBEP": ("VBELN", "POSNR", "ETENR"),
    "LIKP": ("VBELN",),
    "LIPS": ("VBELN", "POSNR"),
    "VBRK": ("VBELN",),
    "VBRP": ("VBELN", "POSNR"),
    "VBFA": ("VBELV", "POSNV", "VBELN", "POSNN", "VBTYP_N"),
    "CDHDR": ("OBJECTCLAS", "OBJECTID", "CHANGENR"),
    "CDPOS": ("OBJECTCLAS", "OBJECTID", "CHANGENR", "TABNAME", "TABKEY", "FNAME", "CHNGIND"),
    "BSID": ("BUKRS", "BELNR", "GJAHR", "BUZEI"),
    "BSAD": ("BUKRS", "BELNR", "GJAHR", "BUZEI"),
}

DEFAULTS: dict[str, dict[str, object]] = {
    "VBAP": {"ZZPRTYP": "", "ZZQPRULE": "", "ZZPREMP": Decimal("0.00")},
    "KNA1": {"KONZS": ""},
    "BSID": {"BLART": "", "RSTGR": "", "SGTXT": ""},
    "BSAD": {"BLART": "", "RSTGR": "", "SGTXT": ""},
}
"""Values of appended fields for rows written without them (SAP initialises a new field: blank, zero)."""
