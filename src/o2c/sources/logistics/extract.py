"""Read the forwarder's shipments changed in one data interval's window and hand them to landing.

The window is ``(watermark − lookback, interval end]`` (:func:`o2c.loading.land.resolve_window`). The API
is asked for everything updated after the window's start; records updated after its end belong to a later
interval and are left for it. Each (shipment, ``updated_at``) is one version; landing ignores versions it
already holds, so overlapping windows, re-runs and backfills neither duplicate nor lose one.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from o2c.config import Settings
from o2c.loading.land import RawTable, land, resolve_window
from o2c.sources.logistics.client import PAGE_SIZE_MAX, LogisticsClient

SHIPMENTS = RawTable(
    source="logistics",
    entity="shipments",
    schema="raw_logistics",
    name="shipments",
    key_columns=("shipment_id",),
    change_column="updated_at",
    drift_type=None,
    fixed_columns=(
        ("shipment_id", "text not null"),
        ("updated_at", "timestamptz not null"),
        ("payload", "jsonb not null"),
    ),
)


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def extract_shipments(
    warehouse_url: str,
    interval_start: datetime,
    interval_end: datetime,
    settings: Settings,
    client: LogisticsClient | None = None,
) -> dict[str, Any]:
    # the largest page the API serves: a first load of three years is about 100 pages instead of 250, so
    # it waits out proportionally fewer rate limits (429) and upstream timeouts (503)
    api = client or LogisticsClient(settings.logistics_api_url, page_size=PAGE_SIZE_MAX)
    with psycopg.connect(warehouse_url) as wh:
        with wh.transaction():
            window = resolve_window(
                wh,
                SHIPMENTS,
                interval_start,
                interval_end,
                timedelta(minutes=settings.logistics_lookback_minutes),
            )
        versions: dict[tuple[str, datetime], dict[str, Any]] = {}
        for record in api.shipments(window.extracted_from):
            stamp = _ts(str(record["updated_at"]))
            if stamp <= window.extracted_to and (
                window.extracted_from is None or stamp > window.extracted_from
            ):
                versions[(str(record["shipment_id"]), stamp)] = record
        result = land(
            wh,
            SHIPMENTS,
            window,
            (interval_start, interval_end),
            ["shipment_id", "updated_at", "payload"],
            rows=(
                [shipment_id, stamp, Jsonb(record)]
                for (shipment_id, stamp), record in sorted(versions.items())
            ),
            source_label=api.base_url,
            detail={"retries": api.retries},
        )
    return {
        "batch_id": result.batch_id,
        "rows": result.read,
        "new_versions": result.new_versions,
        "retries": api.retries,
    }
