"""SAP-shaped ERP tables the simulator serves (field names as SAP's; see shared/data/sap).

Dates are SAP ``DATS`` strings (``YYYYMMDD``, ``00000000`` when empty) as in a real extract; amounts and
quantities are packed decimals. ``CHANGED_AT`` is the replication timestamp (UTC) that a change-data
extraction (SLT/ODP) adds to every row: the ERP extractor reads incrementally on it.
"""

from __future__ import annotations

D = "varchar(8)"  # SAP DATS
Q = "numeric(15,3)"  # quantity
A = "numeric(17,2)"  # amount
P = "numeric(13,4)"  # price per unit

TABLES: dict[str, list[tuple[str, str]]] = {
    "KNA1": [("KUNNR", "varchar(10)"), ("NAME1", "varchar(80)"), ("NAME2", "varchar(80)"),
             ("LAND1", "varchar(3)"), ("REGIO", "varchar(3)"), ("ORT01", "varchar(40)"),
             ("ERDAT", D), ("SPRAS", "varchar(2)"), ("LOEVM", "varchar(1)")],
    "KNB1": [("KUNNR", "varchar(10)"), ("BUKRS", "varchar(4)"), ("ZTERM", "varchar(4)"),
             ("AKONT", "varchar(10)")],
    "KNKK": [("KUNNR", "varchar(10)"), ("KKBER", "varchar(4)"), ("KLIMK", A), ("WAERS", "varchar(5)")],
    "KNVP": [("KUNNR", "varchar(10)"), ("VKORG", "varchar(4)"), ("PARVW", "varchar(2)"),
             ("PERNR", "varchar(8)")],
    "ZSD_SALES_REP": [("PERNR", "varchar(8)"), ("ENAME", "varchar(60)"), ("ENAME_ZH", "varchar(60)"),
                      ("SMTP_ADDR", "varchar(120)"), ("LANGU", "varchar(2)"), ("REGION", "varchar(20)")],
    "MARA": [("MATNR", "varchar(18)"), ("MTART", "varchar(4)"), ("MATKL", "varchar(9)"),
             ("MEINS", "varchar(3)"), ("ERSDA", D)],
    "MAKT": [("MATNR", "varchar(18)"), ("SPRAS", "varchar(2)"), ("MAKTX", "varchar(80)")],
    "T001W": [("WERKS", "varchar(4)"), ("NAME1", "varchar(60)"), ("ORT01", "varchar(40)"),
              ("LAND1", "varchar(3)")],
    "ZMM_PRICE_BENCH": [("MATNR", "varchar(18)"), ("SPMON", "varchar(6)"), ("KBETR", P),
                        ("WAERS", "varchar(5)"), ("KMEIN", "varchar(3)")],
    "TCURR": [("KURST", "varchar(4)"), ("FCURR", "varchar(5)"), ("TCURR", "varchar(5)"),
              ("GDATU", D), ("UKURS", "numeric(13,6)")],
    "VBAK": [("VBELN", "varchar(10)"), ("VBTYP", "varchar(1)"), ("AUART", "varchar(4)"),
             ("ERDAT", D), ("AUDAT", D), ("KUNNR", "varchar(10)"), ("VKORG", "varchar(4)"),
             ("WAERK", "varchar(5)"), ("NETWR", A), ("GUEBG", D), ("GUEEN", D),
             ("BSTNK", "varchar(35)")],
    "VBAP": [("VBELN", "varchar(10)"), ("POSNR", "varchar(6)"), ("MATNR", "varchar(18)"),
             ("KWMENG", Q), ("ZMENG", Q), ("VRKME", "varchar(3)"), ("NETPR", P),
             ("KPEIN", "numeric(5,0)"), ("NETWR", A), ("WAERK", "varchar(5)"), ("WERKS", "varchar(4)"),
             ("UEBTO", "numeric(4,1)"), ("UNTTO", "numeric(4,1)"), ("VGBEL", "varchar(10)"),
             ("VGPOS", "varchar(6)"), ("ABGRU", "varchar(2)"), ("ERDAT", D)],
    "VBKD": [("VBELN", "varchar(10)"), ("POSNR", "varchar(6)"), ("ZTERM", "varchar(4)"),
             ("INCO1", "varchar(3)"), ("INCO2", "varchar(28)")],
    "VBEP": [("VBELN", "varchar(10)"), ("POSNR", "varchar(6)"), ("ETENR", "varchar(4)"),
             ("EDATU", D), ("WMENG", Q)],
    "LIKP": [("VBELN", "varchar(10)"), ("ERDAT", D), ("LFDAT", D), ("WADAT", D), ("WADAT_IST", D),
             ("KUNNR", "varchar(10)"), ("VSTEL", "varchar(4)")],
    "LIPS": [("VBELN", "varchar(10)"), ("POSNR", "varchar(6)"), ("MATNR", "varchar(18)"),
             ("WERKS", "varchar(4)"), ("CHARG", "varchar(10)"), ("LFIMG", Q), ("VRKME", "varchar(3)"),
             ("VGBEL", "varchar(10)"), ("VGPOS", "varchar(6)")],
    "VBRK": [("VBELN", "varchar(10)"), ("FKART", "varchar(4)"), ("FKDAT", D), ("KUNAG", "varchar(10)"),
             ("WAERK", "varchar(5)"), ("NETWR", A), ("MWSBK", A), ("ZTERM", "varchar(4)"),
             ("FKSTO", "varchar(1)"), ("BUKRS", "varchar(4)"), ("ERDAT", D)],
    "VBRP": [("VBELN", "varchar(10)"), ("POSNR", "varchar(6)"), ("FKIMG", Q), ("VRKME", "varchar(3)"),
             ("NETWR", A), ("MATNR", "varchar(18)"), ("AUBEL", "varchar(10)"), ("AUPOS", "varchar(6)"),
             ("VGBEL", "varchar(10)"), ("VGPOS", "varchar(6)")],
    "BSID": [("BUKRS", "varchar(4)"), ("KUNNR", "varchar(10)"), ("GJAHR", "varchar(4)"),
             ("BELNR", "varchar(10)"), ("BUZEI", "varchar(3)"), ("BUDAT", D), ("BLDAT", D),
             ("ZFBDT", D), ("ZBD1T", "numeric(3,0)"), ("ZTERM", "varchar(4)"), ("SHKZG", "varchar(1)"),
             ("WRBTR", A), ("WAERS", "varchar(5)"), ("XBLNR", "varchar(16)"), ("VBELN", "varchar(10)")],
    "BSAD": [("BUKRS", "varchar(4)"), ("KUNNR", "varchar(10)"), ("GJAHR", "varchar(4)"),
             ("BELNR", "varchar(10)"), ("BUZEI", "varchar(3)"), ("BUDAT", D), ("BLDAT", D),
             ("ZFBDT", D), ("ZBD1T", "numeric(3,0)"), ("ZTERM", "varchar(4)"), ("SHKZG", "varchar(1)"),
             ("WRBTR", A), ("WAERS", "varchar(5)"), ("XBLNR", "varchar(16)"), ("VBELN", "varchar(10)"),
             ("AUGDT", D), ("AUGBL", "varchar(10)")],
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
    "BSID": ("BUKRS", "BELNR", "GJAHR", "BUZEI"),
    "BSAD": ("BUKRS", "BELNR", "GJAHR", "BUZEI"),
}
