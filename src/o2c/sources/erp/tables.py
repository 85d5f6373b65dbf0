"""The SAP tables o2c extracts, their keys, and how each one's deletions are detected.

SAP extraction sees deletions in one of two ways:

- **change documents** (CDHDR/CDPOS): deleting a sales document, item, schedule line or delivery writes
  a CDPOS row with ``FNAME = 'KEY'`` and ``CHNGIND = 'D'`` naming the table and the row's key (TABKEY),
  stamped by its CDHDR ``UDATE``/``UTIME``. That is exact and costs only the window's change documents.
- **key reconciliation** for tables without change documents: the keys the source holds now are
  compared with those alive in the warehouse. Master data and open items (BSID) are small and are
  compared whole; cleared items (BSAD) only within a recent clearing-date range, since a clearing reset
  (FBRA) reopens recent clearings. The document flow (VBFA) is compared whole too: its rows go with the
  document they lead to (a deleted order takes its contract → order rows along), and SAP keeps no change
  document for them. Reconciliation runs only when a run moves the watermark forward.

Billing documents are never deleted in SAP (they are cancelled), nor are rates or change documents.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

DeletionMode = Literal["change_documents", "reconcile", "reconcile_cleared", "none"]


@dataclass(frozen=True)
class ErpTable:
    name: str
    keys: tuple[str, ...]
    """SAP key fields, without the client (MANDT)"""
    deletions: DeletionMode


TABLES: tuple[ErpTable, ...] = (
    ErpTable("KNA1", ("KUNNR",), "reconcile"),
    ErpTable("KNB1", ("KUNNR", "BUKRS"), "reconcile"),
    ErpTable("KNKK", ("KUNNR", "KKBER"), "reconcile"),
    ErpTable("KNVP", ("KUNNR", "VKORG", "PARVW"), "reconcile"),
    ErpTable("ZSD_SALES_REP", ("PERNR",), "reconcile"),
    ErpTable("MARA", ("MATNR",), "reconcile"),
    ErpTable("MAKT", ("MATNR", "SPRAS"), "reconcile"),
    ErpTable("T001W", ("WERKS",), "reconcile"),
    ErpTable("ZMM_PRICE_BENCH", ("MATNR", "SPMON"), "reconcile"),
    ErpTable("TCURR", ("KURST", "FCURR", "TCURR", "GDATU"), "none"),
    ErpTable("VBAK", ("VBELN",), "change_documents"),
    ErpTable("VBAP", ("VBELN", "POSNR"), "change_documents"),
    ErpTable("VBKD", ("VBELN", "POSNR"), "change_documents"),
    ErpTable("VBEP", ("VBELN", "POSNR", "ETENR"), "change_documents"),
    ErpTable("LIKP", ("VBELN",), "change_documents"),
    ErpTable("LIPS", ("VBELN", "POSNR"), "change_documents"),
    ErpTable("VBRK", ("VBELN",), "none"),
    ErpTable("VBRP", ("VBELN", "POSNR"), "none"),
    # document flow rows are deleted with their subsequent document, and SAP writes no change document
    # for VBFA itself: only key reconciliation sees those deletions
    ErpTable("VBFA", ("VBELV", "POSNV", "VBELN", "POSNN", "VBTYP_N"), "reconcile"),
    ErpTable("BSID", ("BUKRS", "BELNR", "GJAHR", "BUZEI"), "reconcile"),
    ErpTable("BSAD", ("BUKRS", "BELNR", "GJAHR", "BUZEI"), "reconcile_cleared"),
    ErpTable("CDHDR", ("OBJECTCLAS", "OBJECTID", "CHANGENR"), "none"),
    ErpTable(
        "CDPOS", ("OBJECTCLAS", "OBJECTID", "CHANGENR", "TABNAME", "TABKEY", "FNAME", "CHNGIND"), "none"
    ),
)
BY_NAME = {t.name: t for t in TABLES}
CHANGE_COLUMN = "CHANGED_AT"
"""The replication timestamp (UTC) a change-data extraction (SLT/ODP) adds to every row."""
CLEARED_ITEMS_DATE = "AUGDT"
"""BSAD's clearing date: the range key reconciliation of cleared items covers."""
