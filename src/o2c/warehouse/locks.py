"""PostgreSQL advisory lock ids, in one place so that no two jobs share one by accident.

Class-wide locks use a fixed id; per-entity locks hash a name into the ``ENTITY`` key space with
``pg_advisory_xact_lock(ENTITY, hashtext(name))`` (two-key form: never collides with the single ids).
"""

from __future__ import annotations

import psycopg

SCHEMA_DDL = 4242001
"""``o2c.warehouse.bootstrap.ensure_schema``: one DDL run at a time."""
CHECK_RESULTS = 4242002
"""``o2c.checks.runner`` and ``o2c.alerts.dispatch``: one writer of check results/alerts at a time."""
BUILD_PUBLISH = 4242004
"""``o2c.transform.publish``: one build-test-publish of the marts at a time (session lock: the shadow schema
is shared by every build, and two publishes must never interleave)."""
BANK_INBOX = 4242003
"""``o2c.sources.bank.ingest.BankIngest.ingest_inbox``: one intake drains the bank inbox at a time."""
ENTITY = 4242
"""Key space of per-entity locks (landing a source entity, a bank file)."""


def lock_entity(conn: psycopg.Connection, name: str) -> None:
    """Serialise writers of one entity (e.g. ``erp:VBAP``); held until the transaction ends."""
    conn.execute("select pg_advisory_xact_lock(%s, hashtext(%s))", (ENTITY, name))
