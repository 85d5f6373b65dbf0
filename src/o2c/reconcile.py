"""Reconcile the warehouse with the ERP it loads: does staging hold exactly what the source holds?

Two independent comparisons, both against the source tables themselves (never against other models):

- **keys**: each staging model's key set equals the keys of its SAP table (staging is 1:1 with source
  tables), both ways;
- **content**: every source row, all its columns, equals the version the warehouse keeps for that key at
  the as-of cutoff (the version staging reads), both ways.

Run after a night's build with the source as it stood at that night's cutoff (``make demo`` does so for
its last night and prints the result).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

import psycopg
from psycopg import sql

from o2c.business_calendar import cutoff_for
from o2c.loading.land import RawTable
from o2c.sources.erp.extract import SOURCE_SCHEMA, raw_table
from o2c.sources.erp.tables import BY_NAME, CHANGE_COLUMN

STAGING_KEYS: dict[str, tuple[str, str]] = {
    # staging model -> (SAP table, staging key column); the key is the SAP key fields joined by "-"
    "stg_erp__customers": ("KNA1", "customer_id"),
    "stg_erp__customer_company_codes": ("KNB1", "customer_company_code_id"),
    "stg_erp__customer_credit_limits": ("KNKK", "customer_credit_limit_id"),
    "stg_erp__customer_partners": ("KNVP", "customer_partner_id"),
    "stg_erp__sales_reps": ("ZSD_SALES_REP", "sales_rep_id"),
    "stg_erp__materials": ("MARA", "product_id"),
    "stg_erp__material_texts": ("MAKT", "material_text_id"),
    "stg_erp__plants": ("T001W", "plant_id"),
    "stg_erp__sales_documents": ("VBAK", "sales_document_id"),
    "stg_erp__sales_document_items": ("VBAP", "sales_item_id"),
    "stg_erp__schedule_lines": ("VBEP", "schedule_line_id"),
    "stg_erp__deliveries": ("LIKP", "delivery_id"),
    "stg_erp__delivery_items": ("LIPS", "delivery_item_id"),
    "stg_erp__billing_documents": ("VBRK", "invoice_id"),
    "stg_erp__billing_document_items": ("VBRP", "invoice_item_id"),
    "stg_erp__document_flow": ("VBFA", "document_flow_id"),
    "stg_erp__open_customer_items": ("BSID", "customer_item_id"),
    "stg_erp__cleared_customer_items": ("BSAD", "customer_item_id"),
}
FI_KEY_ORDER = ("BUKRS", "GJAHR", "BELNR", "BUZEI")
"""Customer item ids read company code, fiscal year, document, line (not SAP's key order)."""


@dataclass
class TableDiff:
    table: str
    source_rows: int
    missing: list[str] = field(default_factory=list)
    """in the source, not (or different) in the warehouse"""
    extra: list[str] = field(default_factory=list)
    """in the warehouse, not (or different) in the source"""

    @property
    def ok(self) -> bool:
        return not self.missing and not self.extra


def _source_columns(erp: psycopg.Connection, table: str) -> list[str]:
    rows = erp.execute(
        "select column_name from information_schema.columns where table_schema = %s and table_name = %s "
        "and column_name not in ('MANDT', %s) order by ordinal_position",
        (SOURCE_SCHEMA, table, CHANGE_COLUMN),
    ).fetchall()
    return [r[0] for r in rows]


def _rows(conn: psycopg.Connection, query: sql.Composed) -> set[tuple[str | None, ...]]:
    return {tuple(None if v is None else str(v) for v in row) for row in conn.execute(query)}


def _sample(values: Iterable[object], limit: int = 5) -> list[str]:
    return [str(v) for v in sorted(values, key=str)[:limit]]


def compare_content(wh: psycopg.Connection, erp: psycopg.Connection, table: str, as_of: date) -> TableDiff:
    """Every column of every source row vs the warehouse's version of that key at the as-of cutoff."""
    columns = _source_columns(erp, table)
    source = _rows(
        erp,
        sql.SQL("select {} from {}.{}").format(
            sql.SQL(", ").join(sql.SQL("{}::text").format(sql.Identifier(c)) for c in columns),
            sql.Identifier(SOURCE_SCHEMA),
            sql.Identifier(table),
        ),
    )
    warehouse = _warehouse_rows(wh, raw_table(BY_NAME[table]), columns, as_of)
    return TableDiff(table, len(source), _sample(source - warehouse), _sample(warehouse - source))


def _warehouse_rows(
    wh: psycopg.Connection, raw: RawTable, columns: list[str], as_of: date
) -> set[tuple[str | None, ...]]:
    keys = sql.SQL(", ").join(sql.Identifier(k) for k in raw.key_columns)
    change = sql.SQL("cast({} as timestamptz)").format(sql.Identifier(raw.versioned_change_column()))
    query = sql.SQL(
        "select {cols} from (select distinct on ({keys}) * from {target} where {change} <= {cutoff} "
        "order by {keys}, {change} desc, _loaded_at desc) as latest where not _is_deleted"
    ).format(
        cols=sql.SQL(", ").join(sql.Identifier(c.lower()) for c in columns),
        keys=keys,
        target=raw.qualified,
        change=change,
        cutoff=sql.Literal(cutoff_for(as_of)),
    )
    return _rows(wh, query)


def compare_keys(wh: psycopg.Connection, erp: psycopg.Connection, model: str) -> TableDiff:
    """A staging model's keys vs its SAP table's keys."""
    table, key_column = STAGING_KEYS[model]
    fields = FI_KEY_ORDER if table in ("BSID", "BSAD") else BY_NAME[table].keys
    source = {
        "-".join(row)
        for row in erp.execute(
            sql.SQL("select {} from {}.{}").format(
                sql.SQL(", ").join(sql.SQL("{}::text").format(sql.Identifier(f)) for f in fields),
                sql.Identifier(SOURCE_SCHEMA),
                sql.Identifier(table),
            )
        )
    }
    staged = {
        str(row[0])
        for row in wh.execute(
            sql.SQL("select {} from staging.{}").format(sql.Identifier(key_column), sql.Identifier(model))
        )
    }
    return TableDiff(model, len(source), _sample(source - staged), _sample(staged - source))


def staging_vs_source(warehouse_url: str, erp_url: str, as_of: date) -> list[TableDiff]:
    """Keys of every staging model and content of every SAP table, against the source as it is now
    (which must be the source as of ``as_of``'s cutoff: the staging views are built for that date)."""
    with (
        psycopg.connect(warehouse_url, autocommit=True) as wh,
        psycopg.connect(erp_url, autocommit=True) as erp,
    ):
        diffs = [compare_keys(wh, erp, model) for model in STAGING_KEYS]
        diffs += [
            compare_content(wh, erp, table, as_of) for table in sorted({t for t, _ in STAGING_KEYS.values()})
        ]
    return diffs
