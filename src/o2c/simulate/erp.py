"""Serve the simulated ERP as a PostgreSQL database shaped like SAP (schema ``sapsr3``)."""

from __future__ import annotations

from datetime import datetime

import psycopg
from psycopg import sql

from o2c.simulate.erp_tables import KEYS, TABLES
from o2c.simulate.world import World

ERP_SCHEMA = "sapsr3"


def ensure_erp_schema(conn: psycopg.Connection) -> None:
    conn.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(ERP_SCHEMA)))
    for table, columns in TABLES.items():
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


def materialize(conn: psycopg.Connection, world: World, cutoff: datetime) -> dict[str, int]:
    """Make every ERP table hold exactly what the business had written by ``cutoff`` (one transaction).

    Rows keep the ``CHANGED_AT`` of their latest version, so an incremental extractor sees late changes
    to old rows exactly as it would in a live system.
    """
    counts: dict[str, int] = {}
    with conn.transaction():
        ensure_erp_schema(conn)
        for table, columns in TABLES.items():
            names = ["MANDT", *[c for c, _ in columns], "CHANGED_AT"]
            target = sql.SQL("{}.{}").format(sql.Identifier(ERP_SCHEMA), sql.Identifier(table))
            conn.execute(sql.SQL("truncate {}").format(target))
            rows = world.erp_as_of(table, cutoff)
            copy_sql = sql.SQL("copy {} ({}) from stdin").format(
                target, sql.SQL(", ").join(sql.Identifier(n) for n in names)
            )
            with conn.cursor().copy(copy_sql) as copy:
                for row in rows:
                    copy.write_row(["100", *[row.get(c) for c, _ in columns], row["CHANGED_AT"]])
            counts[table] = len(rows)
    return counts
