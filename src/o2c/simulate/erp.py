"""Serve the simulated ERP as a PostgreSQL database shaped like SAP (schema ``sapsr3``)."""

from __future__ import annotations

from datetime import datetime

import psycopg
from psycopg import sql

from o2c.simulate.erp_tables import KEYS, TABLES
from o2c.simulate.world import World

ERP_SCHEMA = "sapsr3"
STATE_SCHEMA = "o2c_sim"
"""The simulator's own bookkeeping in the ERP database (not part of the SAP schema, never extracted)."""


def ensure_erp_schema(conn: psycopg.Connection) -> None:
    """Create the SAP-shaped tables, and add the fields a newer simulator writes to tables an older one
    created (as an SAP append structure would: the rows are rewritten by the next materialisation)."""
    conn.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(ERP_SCHEMA)))
    existing: dict[str, set[str]] = {}
    for table_name, column_name in conn.execute(
        "select table_name, column_name from information_schema.columns where table_schema = %s",
        (ERP_SCHEMA,),
    ):
        existing.setdefault(table_name, set()).add(column_name)
    for table, columns in TABLES.items():
        for name, kind in columns if table in existing else []:
            if name not in existing[table]:
                conn.execute(
                    sql.SQL("alter table {}.{} add column {} {}").format(
                        sql.Identifier(ERP_SCHEMA), sql.Identifier(table), sql.Identifier(name), sql.SQL(kind)
                    )
                )
        cols = [
            sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(kind))
            for name, kind in [("MANDT", "varchar(3)"), *columns, ("CHANGED_AT", "timestamptz")]
        ]
        pk = sql.SQL(", ").join(sql.Identifier(k) for k in ("MANDT", *KEYS[table]))
        conn.execute(
            sql.SQL("create table if not exists {}.{} ({}, primary key ({}))").format(
                sql.Identifier(ERP_SCHEMA), sql.Identifier(table), sql.SQL(", ").join(cols), pk
            )
        )
        conn.execute(
            sql.SQL("create index if not exists {} on {}.{} ({})").format(
                sql.Identifier(f"{table.lower()}_changed_at"),
                sql.Identifier(ERP_SCHEMA),
                sql.Identifier(table),
                sql.Identifier("CHANGED_AT"),
            )
        )


def materialize(
    conn: psycopg.Connection, world: World, cutoff: datetime, fingerprint: str | None = None
) -> dict[str, int]:
    """Make every ERP table hold exactly what the business had written by ``cutoff`` (one transaction).

    Rows keep the ``CHANGED_AT`` of their latest version, so an incremental extractor sees late changes
    to old rows exactly as it would in a live system.

    With a ``fingerprint`` (the scenario and the simulator's code), the database records the state it
    holds. When it already holds this world at another cutoff, only the rows whose state differs between
    the two cutoffs are rewritten: those of keys with a version committed in between, in either
    direction (late commits included). Otherwise every table is rewritten whole.

    Returns the rows each table holds.
    """
    with conn.transaction():
        ensure_erp_schema(conn)
        previous = _materialized_cutoff(conn, fingerprint)
        counts: dict[str, int] = {}
        for table in TABLES:
            if previous is None:
                counts[table] = _rewrite(conn, world, table, cutoff)
            else:
                _apply_changes(conn, world, table, previous, cutoff)
                counts[table] = _count(conn, table)
        conn.execute(sql.SQL("delete from {}.materialized").format(sql.Identifier(STATE_SCHEMA)))
        if fingerprint is not None:
            conn.execute(
                sql.SQL("insert into {}.materialized (fingerprint, cutoff) values (%s, %s)").format(
                    sql.Identifier(STATE_SCHEMA)
                ),
                (fingerprint, cutoff),
            )
    return counts


def _materialized_cutoff(conn: psycopg.Connection, fingerprint: str | None) -> datetime | None:
    """The cutoff the ERP tables hold this world at, if they do (``None``: rewrite them whole)."""
    conn.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(STATE_SCHEMA)))
    conn.execute(
        sql.SQL(
            "create table if not exists {}.materialized (fingerprint text not null, cutoff timestamptz not null)"
        ).format(sql.Identifier(STATE_SCHEMA))
    )
    if fingerprint is None:
        return None
    row = conn.execute(
        sql.SQL("select fingerprint, cutoff from {}.materialized").format(sql.Identifier(STATE_SCHEMA))
    ).fetchone()
    if row is None or row[0] != fingerprint:
        return None
    cutoff: datetime = row[1]
    return cutoff


def _target(table: str) -> sql.Composed:
    return sql.SQL("{}.{}").format(sql.Identifier(ERP_SCHEMA), sql.Identifier(table))


def _copy_rows(conn: psycopg.Connection, table: str, rows: list[dict[str, object]]) -> None:
    columns = TABLES[table]
    names = ["MANDT", *[c for c, _ in columns], "CHANGED_AT"]
    copy_sql = sql.SQL("copy {} ({}) from stdin").format(
        _target(table), sql.SQL(", ").join(sql.Identifier(n) for n in names)
    )
    with conn.cursor().copy(copy_sql) as copy:
        for row in rows:
            copy.write_row(["100", *[row.get(c) for c, _ in columns], row["CHANGED_AT"]])


def _rewrite(conn: psycopg.Connection, world: World, table: str, cutoff: datetime) -> int:
    conn.execute(sql.SQL("truncate {}").format(_target(table)))
    rows = world.erp_as_of(table, cutoff)
    _copy_rows(conn, table, rows)
    return len(rows)


def _apply_changes(
    conn: psycopg.Connection, world: World, table: str, previous: datetime, cutoff: datetime
) -> None:
    """Delete the rows of every key whose state may differ between ``previous`` and ``cutoff``, then write
    those keys' rows at ``cutoff`` (a key deleted by then gets none)."""
    keys = world.erp_keys_changed(table, previous, cutoff)
    if not keys:
        return
    key_columns = KEYS[table]
    rows = world.erp_as_of(table, cutoff, keys=keys)
    for row in rows:
        if tuple(str(row[k]) for k in key_columns) not in keys:
            raise RuntimeError(f"simulated ERP table {table}: a row's key columns differ from its key")
    conn.execute(
        sql.SQL("create temp table _changed_keys ({}) on commit drop").format(
            sql.SQL(", ").join(sql.SQL("{} text").format(sql.Identifier(k)) for k in key_columns)
        )
    )
    with conn.cursor().copy(
        sql.SQL("copy _changed_keys ({}) from stdin").format(
            sql.SQL(", ").join(sql.Identifier(k) for k in key_columns)
        )
    ) as copy:
        for key in keys:
            copy.write_row(key)
    conn.execute(
        sql.SQL("delete from {} as t using _changed_keys as k where {}").format(
            _target(table),
            sql.SQL(" and ").join(
                sql.SQL("t.{} = k.{}").format(sql.Identifier(c), sql.Identifier(c)) for c in key_columns
            ),
        )
    )
    conn.execute("drop table _changed_keys")
    _copy_rows(conn, table, rows)


def _count(conn: psycopg.Connection, table: str) -> int:
    row = conn.execute(sql.SQL("select count(*) from {}").format(_target(table))).fetchone()
    return int(row[0]) if row else 0
