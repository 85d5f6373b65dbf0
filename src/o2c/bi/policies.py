"""Row-level security by region on the marts, kept through every publish.

A BI role granted with ``--region`` sees, in every mart that has a column named ``region``, only the rows
of its regions; a BI role without ``--region`` (and any other reader) sees every row. Each such mart has
row-level security enabled (not forced: the owner, i.e. dbt and the publish, still sees everything) and one
policy, :data:`POLICY`, that asks ``bi_access.allowed_regions(current_user)`` (``access.sql``) which
regions the querying role may see. The policy holds no role or region: granting, re-granting or revoking a
role changes only the registry ``ops.bi_roles``.

A table mart is a new table at every publish, and an incremental mart published whole is one too; RLS and
policies belong to the table and would be lost with the old one. :func:`protect_regions` therefore runs
inside the publish transaction (``o2c.transform.publish``) on every mart it publishes, after the new tables
were moved in and before the commit: no statement ever sees a published mart without its policy.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import resources

import psycopg
from psycopg import sql

from o2c.warehouse.locks import SCHEMA_DDL

REGION_COLUMN = "region"
"""A mart with a column of this name is filtered by region for BI roles granted with ``--region``."""
POLICY = "o2c_bi_region"
BI_SCHEMA = "marts"
"""The one schema BI roles read."""


def ensure_access_objects(conn: psycopg.Connection) -> None:
    """Create ``ops.bi_roles`` and ``bi_access.allowed_regions`` (idempotent; own transaction).

    Run before any transaction that creates policies (the policies reference the function); never inside
    the publish transaction, so that the DDL lock is not taken while the marts are locked."""
    ddl = resources.files("o2c.bi").joinpath("access.sql").read_text()
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(%s)", (SCHEMA_DDL,))
        conn.execute("create schema if not exists ops")
        conn.execute(ddl)


def region_tables(conn: psycopg.Connection, schema: str = BI_SCHEMA) -> list[tuple[str, str]]:
    """The tables of ``schema`` with a ``region`` column, as (schema, name)."""
    rows = conn.execute(
        "select namespace.nspname, class.relname from pg_class as class "
        "inner join pg_namespace as namespace on class.relnamespace = namespace.oid "
        "inner join pg_attribute as attribute on attribute.attrelid = class.oid "
        "where namespace.nspname = %s and class.relkind in ('r', 'p') "
        "and attribute.attname = %s and attribute.attnum > 0 and not attribute.attisdropped "
        "order by class.relname",
        (schema, REGION_COLUMN),
    ).fetchall()
    return [(str(s), str(n)) for s, n in rows]


def protect_regions(conn: psycopg.Connection, relations: Iterable[tuple[str, str]]) -> list[str]:
    """Enable RLS and (re)create the region policy on each of ``relations`` that has a ``region`` column.

    Runs in the caller's transaction (the publish's: the marts are locked and just moved in). Returns the
    relations protected, as ``schema.name``."""
    wanted = set(relations)
    protected: list[str] = []
    for schema in sorted({s for s, _ in wanted}):
        for table in region_tables(conn, schema):
            if table not in wanted:
                continue
            target = sql.Identifier(*table)
            conn.execute(sql.SQL("alter table {} enable row level security").format(target))
            conn.execute(sql.SQL("drop policy if exists {} on {}").format(sql.Identifier(POLICY), target))
            conn.execute(
                sql.SQL(
                    "create policy {} on {} as permissive for all to public using ("
                    "(select bi_access.allowed_regions(current_user)) is null "
                    "or {}::text = any((select bi_access.allowed_regions(current_user))::text[]))"
                ).format(sql.Identifier(POLICY), target, sql.Identifier(REGION_COLUMN))
            )
            protected.append(".".join(table))
    return protected


def unprotected(conn: psycopg.Connection, schema: str = BI_SCHEMA) -> list[tuple[str, str]]:
    """The tables of ``schema`` with a ``region`` column that lack RLS or the region policy."""
    protected = {
        (str(s), str(n))
        for s, n in conn.execute(
            "select namespace.nspname, class.relname from pg_class as class "
            "inner join pg_namespace as namespace on class.relnamespace = namespace.oid "
            "inner join pg_policy as policy on policy.polrelid = class.oid "
            "where namespace.nspname = %s and class.relrowsecurity and policy.polname = %s",
            (schema, POLICY),
        ).fetchall()
    }
    return [table for table in region_tables(conn, schema) if table not in protected]


def protect_all(conn: psycopg.Connection, schema: str = BI_SCHEMA) -> list[str]:
    """:func:`protect_regions` on every table of ``schema`` with a ``region`` column that is not protected
    yet (``o2c bi grant``: marts published before the first BI role, or created by something other than
    the publish). Protected tables are left alone: no lock on them, so no wait for their readers."""
    return protect_regions(conn, unprotected(conn, schema))
