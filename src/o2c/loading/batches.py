"""Batches and watermarks: how a re-run of an interval replaces exactly what it loaded before.

A batch is one (source, entity, data interval). Its extraction window is fixed the first time it runs:
from the entity's watermark (everything, the first time) to the interval's end. A re-run reads the same
window again and replaces the batch in one transaction, so it never duplicates or loses a row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb


@dataclass(frozen=True)
class Window:
    batch_id: str
    extracted_from: datetime | None
    """exclusive lower bound; ``None`` = from the beginning"""
    extracted_to: datetime
    """inclusive upper bound"""


def batch_id_for(source: str, entity: str, interval_end: datetime) -> str:
    return f"{source}:{entity}:{interval_end.strftime('%Y%m%dT%H%M%SZ')}"


def resolve_window(
    conn: psycopg.Connection, source: str, entity: str, interval_start: datetime, interval_end: datetime
) -> Window:
    """The window this interval's batch reads: the stored one on a re-run, else watermark → interval end."""
    batch_id = batch_id_for(source, entity, interval_end)
    stored = conn.execute(
        "select extracted_from, extracted_to from ops.load_batches where batch_id = %s", (batch_id,)
    ).fetchone()
    if stored:
        return Window(batch_id, stored[0], stored[1])
    mark = conn.execute(
        "select high_water from ops.watermarks where source = %s and entity = %s", (source, entity)
    ).fetchone()
    if mark is None:
        lower = None
    elif mark[0] < interval_end:
        lower = mark[0]
    else:  # a backfill of an interval older than the watermark: read just that interval
        lower = interval_start
    return Window(batch_id, lower, interval_end)


def record_batch(
    conn: psycopg.Connection,
    window: Window,
    source: str,
    entity: str,
    interval_start: datetime,
    interval_end: datetime,
    row_count: int,
    detail: dict[str, Any] | None = None,
) -> None:
    """Record the batch and advance the watermark; call inside the landing transaction."""
    conn.execute(
        """
        insert into ops.load_batches (batch_id, source, entity, interval_start, interval_end,
            extracted_from, extracted_to, row_count, detail)
        values (%s, %s, %s, %s, %s, %s, %s, %s, %s)
        on conflict (batch_id) do update set row_count = excluded.row_count, loaded_at = now(),
            detail = excluded.detail
        """,
        (
            window.batch_id,
            source,
            entity,
            interval_start,
            interval_end,
            window.extracted_from,
            window.extracted_to,
            row_count,
            Jsonb(detail or {}),
        ),
    )
    conn.execute(
        """
        insert into ops.watermarks (source, entity, high_water) values (%s, %s, %s)
        on conflict (source, entity) do update
            set high_water = greatest(ops.watermarks.high_water, excluded.high_water), updated_at = now()
        """,
        (source, entity, window.extracted_to),
    )


def lock_entity(conn: psycopg.Connection, source: str, entity: str) -> None:
    """Serialise concurrent runs loading the same entity (held until the transaction ends)."""
    conn.execute("select pg_advisory_xact_lock(hashtext(%s))", (f"{source}:{entity}",))
