"""Extract SAP tables incrementally into ``raw_erp`` by their replication timestamp ``CHANGED_AT``.

Each table lands as text columns mirroring the source (typing happens in dbt staging), plus ``_batch_id``,
``_loaded_at`` and ``_source``. A column that appears in the source later is added to the raw table
(schema drift is absorbed, never fatal). Rows stream source → warehouse with COPY in both directions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg import sql

from o2c.config import Settings, load_settings
from o2c.loading.batches import lock_entity, record_batch, resolve_window
from o2c.warehouse.db import warehouse_url, with_database

SOURCE = "erp"
SOURCE_SCHEMA = "sapsr3"
TABLES = (
    "KNA1",
    "KNB1",
    "KNKK",
    "KNVP",
    "ZSD_SALES_REP",
    "MARA",
    "MAKT",
    "T001W",
    "ZMM_PRICE_BENCH",
    "TCURR",
    "VBAK",
    "VBAP",
    "VBKD",
    "VBEP",
    "LIKP",
    "LIPS",
    "VBRK",
    "VBRP",
    "BSID",
    "BSAD",
)
CHANGE_COLUMN = "CHANGED_AT"


class ErpExtractError(RuntimeError):
    """The ERP could not be read; the message names the table and the reason."""


@dataclass(frozen=True)
class TableLoad:
    table: str
    batch_id: str
    rows: int
    extracted_from: datetime | None
    extracted_to: datetime


def erp_source_url(settings: Settings | None = None) -> str:
    """``O2C_ERP_URL``, else the database ``o2c_erp_sim`` next to the warehouse (the simulator's)."""
    s = settings or load_settings()
    return s.erp_url or with_database(warehouse_url(s), "o2c_erp_sim")


def _source_columns(src: psycopg.Connection, table: str) -> list[str]:
    rows = src.execute(
        "select column_name from information_schema.columns where table_schema = %s and table_name = %s "
        "order by ordinal_position",
        (SOURCE_SCHEMA, table),
    ).fetchall()
    if not rows:
        raise ErpExtractError(f"ERP table {SOURCE_SCHEMA}.{table} does not exist or is not readable")
    columns = [r[0] for r in rows]
    if CHANGE_COLUMN not in columns:
        raise ErpExtractError(
            f"ERP table {table} has no {CHANGE_COLUMN} column: cannot extract incrementally"
        )
    return columns


def _ensure_raw_table(wh: psycopg.Connection, table: str, columns: list[str]) -> sql.Composed:
    target = sql.SQL("raw_erp.{}").format(sql.Identifier(table.lower()))
    wh.execute(
        sql.SQL(
            "create table if not exists {} (_batch_id text not null, "
            "_loaded_at timestamptz not null, _source text not null)"
        ).format(target)
    )
    existing = {
        r[0]
        for r in wh.execute(
            "select column_name from information_schema.columns where table_schema = 'raw_erp' and table_name = %s",
            (table.lower(),),
        )
    }
    for column in columns:
        if column.lower() not in existing:
            wh.execute(
                sql.SQL("alter table {} add column {} text").format(target, sql.Identifier(column.lower()))
            )
    wh.execute(
        sql.SQL("create index if not exists {} on {} (_batch_id)").format(
            sql.Identifier(f"{table.lower()}_batch_idx"), target
        )
    )
    return target


def extract_table(
    src: psycopg.Connection,
    wh: psycopg.Connection,
    table: str,
    interval_start: datetime,
    interval_end: datetime,
) -> TableLoad:
    """Land the rows of ``table`` changed in this interval's window, replacing the interval's batch."""
    columns = _source_columns(src, table)
    with wh.transaction():
        lock_entity(wh, SOURCE, table)
        target = _ensure_raw_table(wh, table, columns)
        window = resolve_window(wh, SOURCE, table, interval_start, interval_end)
        wh.execute(sql.SQL("delete from {} where _batch_id = %s").format(target), (window.batch_id,))
        loaded_at = wh.execute("select now()").fetchone()[0]  # type: ignore[index]
        conditions = [
            sql.SQL("{} <= {}").format(sql.Identifier(CHANGE_COLUMN), sql.Literal(window.extracted_to))
        ]
        if window.extracted_from is not None:
            conditions.append(
                sql.SQL("{} > {}").format(sql.Identifier(CHANGE_COLUMN), sql.Literal(window.extracted_from))
            )
        select = sql.SQL("copy (select {}, {}, {}, {} from {}.{} where {}) to stdout").format(
            sql.SQL(", ").join(sql.Identifier(c) for c in columns),
            sql.Literal(window.batch_id),
            sql.Literal(loaded_at),
            sql.Literal(f"erp:{SOURCE_SCHEMA}.{table}"),
            sql.Identifier(SOURCE_SCHEMA),
            sql.Identifier(table),
            sql.SQL(" and ").join(conditions),
        )
        insert = sql.SQL("copy {} ({}, _batch_id, _loaded_at, _source) from stdin").format(
            target, sql.SQL(", ").join(sql.Identifier(c.lower()) for c in columns)
        )
        with src.cursor().copy(select) as reader, wh.cursor().copy(insert) as writer:
            for chunk in reader:
                writer.write(chunk)
        count = wh.execute(
            sql.SQL("select count(*) from {} where _batch_id = %s").format(target), (window.batch_id,)
        ).fetchone()[0]  # type: ignore[index]
        record_batch(wh, window, SOURCE, table, interval_start, interval_end, count)
    return TableLoad(table, window.batch_id, count, window.extracted_from, window.extracted_to)


def extract_erp(
    interval_start: datetime,
    interval_end: datetime,
    settings: Settings | None = None,
    tables: tuple[str, ...] = TABLES,
) -> list[TableLoad]:
    """Extract every ERP table for one data interval; each table lands in its own transaction."""
    s = settings or load_settings()
    try:
        src = psycopg.connect(erp_source_url(s))
    except psycopg.OperationalError as exc:
        raise ErpExtractError(f"cannot connect to the ERP database: {exc}") from exc
    with src, psycopg.connect(warehouse_url(s)) as wh:
        src.read_only = True
        return [extract_table(src, wh, table, interval_start, interval_end) for table in tables]
