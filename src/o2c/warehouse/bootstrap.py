"""Create the landing and operations schemas (idempotent)."""

from __future__ import annotations

from importlib import resources

import psycopg

from o2c.warehouse.locks import SCHEMA_DDL


def ensure_schema(conn: psycopg.Connection) -> None:
    """Create ``raw_*``, ``ops`` and ``marts`` schemas and the tables o2c itself writes."""
    ddl = resources.files("o2c.warehouse").joinpath("schema.sql").read_text()
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(%s)", (SCHEMA_DDL,))
        conn.execute(ddl)
