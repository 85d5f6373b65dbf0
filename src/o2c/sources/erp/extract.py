"""Read SAP tables incrementally by their replication timestamp ``CHANGED_AT`` and hand them to landing.

This module only reads: each table's rows changed in the window (COPY out of the source, streamed), the
deletions its change documents record, or its current keys for reconciliation (see
:mod:`o2c.sources.erp.tables`). :func:`o2c.loading.land.land` lands them as immutable versions. Raw
columns are text, mirroring the source; typing happens in dbt staging.

Each table lands in its own transaction: a table that fails (schema drift, a read error) lands nothing,
the others still load, and the run then fails naming every table that did not load.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
from psycopg import sql

from o2c.business_calendar import as_of_for
from o2c.config import SIM_ERP_DATABASE, Settings
from o2c.loading.land import (
    LandingError,
    LandResult,
    RawTable,
    Reconciliation,
    Tombstone,
    Window,
    land,
    resolve_window,
)
from o2c.sources.erp.tables import CHANGE_COLUMN, CLEARED_ITEMS_DATE, TABLES, ErpTable
from o2c.warehouse.db import with_database

SOURCE = "erp"
SOURCE_SCHEMA = "sapsr3"
RAW_SCHEMA = "raw_erp"


class ErpExtractError(RuntimeError):
    """The ERP could not be read or landed; the message names each table and the reason."""


def erp_source_url(settings: Settings, warehouse_url: str) -> str:
    """``O2C_ERP_URL``, else the simulator's database next to the warehouse."""
    return settings.erp_url or with_database(warehouse_url, SIM_ERP_DATABASE)


def raw_table(table: ErpTable) -> RawTable:
    return RawTable(
        source=SOURCE,
        entity=table.name,
        schema=RAW_SCHEMA,
        name=table.name.lower(),
        key_columns=tuple(k.lower() for k in table.keys),
        change_column=CHANGE_COLUMN.lower(),
    )


def source_columns(src: psycopg.Connection, table: str) -> list[tuple[str, str, int | None]]:
    """(name, data type, character length) of the source table's columns, in order."""
    rows = src.execute(
        "select column_name, data_type, character_maximum_length from information_schema.columns "
        "where table_schema = %s and table_name = %s order by ordinal_position",
        (SOURCE_SCHEMA, table),
    ).fetchall()
    if not rows:
        raise ErpExtractError(f"ERP table {SOURCE_SCHEMA}.{table} does not exist or is not readable")
    if CHANGE_COLUMN not in [r[0] for r in rows]:
        raise ErpExtractError(
            f"ERP table {table} has no {CHANGE_COLUMN} column: cannot extract incrementally"
        )
    return [(r[0], r[1], r[2]) for r in rows]


def _window_condition(column: sql.Identifier, window: Window) -> sql.Composed:
    conditions = [sql.SQL("{} <= {}").format(column, sql.Literal(window.extracted_to))]
    if window.extracted_from is not None:
        conditions.append(sql.SQL("{} > {}").format(column, sql.Literal(window.extracted_from)))
    return sql.SQL(" and ").join(conditions)


def read_changed_rows(
    src: psycopg.Connection, table: str, columns: list[str], window: Window
) -> Iterator[bytes]:
    """The table's rows whose ``CHANGED_AT`` falls in the window, as COPY text chunks."""
    select = sql.SQL("copy (select {} from {}.{} where {}) to stdout").format(
        sql.SQL(", ").join(sql.Identifier(c) for c in columns),
        sql.Identifier(SOURCE_SCHEMA),
        sql.Identifier(table),
        _window_condition(sql.Identifier(CHANGE_COLUMN), window),
    )
    with src.cursor().copy(select) as reader:
        for chunk in reader:
            yield bytes(chunk)


def read_deletions(
    src: psycopg.Connection,
    table: ErpTable,
    widths: dict[str, int | None],
    window: Window,
    erp_timezone: ZoneInfo,
) -> list[Tombstone]:
    """Rows of ``table`` deleted according to the change documents written in the window."""
    rows = src.execute(
        sql.SQL(
            'select pos."TABKEY", hdr."UDATE", hdr."UTIME" from {schema}."CDPOS" as pos '
            'join {schema}."CDHDR" as hdr on hdr."MANDT" = pos."MANDT" and hdr."OBJECTCLAS" = pos."OBJECTCLAS" '
            'and hdr."OBJECTID" = pos."OBJECTID" and hdr."CHANGENR" = pos."CHANGENR" '
            'where pos."TABNAME" = %s and pos."CHNGIND" = \'D\' and pos."FNAME" = \'KEY\' and {window}'
        ).format(
            schema=sql.Identifier(SOURCE_SCHEMA),
            window=_window_condition(sql.Identifier("hdr", CHANGE_COLUMN), window),
        ),
        (table.name,),
    ).fetchall()
    tombstones = []
    for tabkey, udate, utime in rows:
        key = split_tabkey(str(tabkey), ("MANDT", *table.keys), widths, table.name)[1:]
        moment = datetime.strptime(f"{udate}{utime}", "%Y%m%d%H%M%S").replace(tzinfo=erp_timezone)
        tombstones.append(Tombstone(key, moment))
    return tombstones


def split_tabkey(
    tabkey: str, fields: tuple[str, ...], widths: dict[str, int | None], table: str
) -> tuple[str, ...]:
    """Cut a CDPOS ``TABKEY`` (the key fields' values concatenated at their full widths) into values."""
    parts: list[str] = []
    offset = 0
    for name in fields:
        width = widths.get(name)
        if not width:
            raise ErpExtractError(
                f"ERP table {table}: cannot cut change-document keys, {name} has no fixed width"
            )
        parts.append(tabkey[offset : offset + width].rstrip())
        offset += width
    return tuple(parts)


def read_keys(
    src: psycopg.Connection, table: ErpTable, since: date | None = None
) -> Iterator[tuple[str, ...]]:
    """Every key the table holds now (cleared items: those cleared on or after ``since``)."""
    condition: sql.Composable = sql.SQL("true")
    if since is not None:
        condition = sql.SQL("{} >= {}").format(
            sql.Identifier(CLEARED_ITEMS_DATE), sql.Literal(since.strftime("%Y%m%d"))
        )
    query = sql.SQL("select {} from {}.{} where {}").format(
        sql.SQL(", ").join(sql.SQL("{}::text").format(sql.Identifier(k)) for k in table.keys),
        sql.Identifier(SOURCE_SCHEMA),
        sql.Identifier(table.name),
        condition,
    )
    with src.cursor(name=f"keys_{table.name.lower()}") as cursor:
        cursor.itersize = 50_000
        cursor.execute(query)
        for row in cursor:
            yield tuple(row)


def extract_table(
    src: psycopg.Connection,
    wh: psycopg.Connection,
    table: ErpTable,
    interval_start: datetime,
    interval_end: datetime,
    settings: Settings,
) -> LandResult:
    """Land the rows of ``table`` changed in this interval's window, and its deletions."""
    described = source_columns(src, table.name)
    columns = [name for name, _, _ in described]
    raw = raw_table(table)
    with wh.transaction():
        window = resolve_window(
            wh, raw, interval_start, interval_end, timedelta(minutes=settings.erp_lookback_minutes)
        )
    tombstones: list[Tombstone] = []
    reconciliation = None
    if table.deletions == "change_documents":
        widths = {name: length for name, _, length in described}
        tombstones = read_deletions(src, table, widths, window, ZoneInfo(settings.erp_timezone))
    elif table.deletions in ("reconcile", "reconcile_cleared") and not window.is_backfill:
        since = None
        scope = None
        if table.deletions == "reconcile_cleared":
            since = as_of_for(window.extracted_to) - timedelta(days=settings.erp_reconcile_cleared_days)
            scope = sql.SQL("{} >= {}").format(
                sql.Identifier(CLEARED_ITEMS_DATE.lower()), sql.Literal(since.strftime("%Y%m%d"))
            )
        reconciliation = Reconciliation(read_keys(src, table, since), window.extracted_to, scope)
    return land(
        wh,
        raw,
        window,
        (interval_start, interval_end),
        [c.lower() for c in columns],
        chunks=read_changed_rows(src, table.name, columns, window),
        tombstones=tombstones,
        reconciliation=reconciliation,
        source_schema=[(name, kind) for name, kind, _ in described],
        source_label=f"erp:{SOURCE_SCHEMA}.{table.name}",
        detail={"deletions": table.deletions},
    )


def extract_erp(
    warehouse_url: str,
    interval_start: datetime,
    interval_end: datetime,
    settings: Settings,
    tables: tuple[ErpTable, ...] = TABLES,
) -> list[LandResult]:
    """Extract every ERP table for one data interval; each table lands in its own transaction.

    Raises :class:`ErpExtractError` after trying every table if any of them failed.
    """
    try:
        src = psycopg.connect(erp_source_url(settings, warehouse_url), options="-c TimeZone=UTC")
    except psycopg.OperationalError as exc:
        raise ErpExtractError(f"cannot connect to the ERP database: {exc}") from exc
    results: list[LandResult] = []
    failures: list[str] = []
    with src, psycopg.connect(warehouse_url) as wh:
        # one snapshot of the source for every table, so that a row moving between tables (an item
        # cleared from BSID into BSAD) is seen in exactly one of them
        src.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        src.read_only = True
        for table in tables:
            try:
                results.append(extract_table(src, wh, table, interval_start, interval_end, settings))
            except (LandingError, ErpExtractError) as exc:
                failures.append(str(exc))
                src.rollback()
            except psycopg.Error as exc:
                failures.append(f"ERP table {table.name}: {type(exc).__name__}: {exc}".strip())
                src.rollback()
                wh.rollback()
    if failures:
        loaded = ", ".join(r.table for r in results) or "none"
        raise ErpExtractError(
            f"{len(failures)} ERP table(s) not loaded:\n- " + "\n- ".join(failures) + f"\nloaded: {loaded}"
        )
    return results
