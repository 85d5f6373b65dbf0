"""Land the forwarder's shipments into ``raw_logistics.shipments`` for one data interval."""

from __future__ import annotations

from datetime import datetime

import psycopg
from psycopg.types.json import Jsonb

from o2c.config import Settings, load_settings
from o2c.loading.batches import lock_entity, record_batch, resolve_window
from o2c.sources.logistics.client import LogisticsClient
from o2c.warehouse.db import warehouse_url

SOURCE = "logistics"
ENTITY = "shipments"


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def extract_shipments(
    interval_start: datetime,
    interval_end: datetime,
    settings: Settings | None = None,
    client: LogisticsClient | None = None,
) -> dict[str, object]:
    s = settings or load_settings()
    api = client or LogisticsClient(s.logistics_api_url)
    with psycopg.connect(warehouse_url(s)) as wh:
        window = resolve_window(wh, SOURCE, ENTITY, interval_start, interval_end)
        wh.rollback()
        seen: dict[tuple[str, str], dict[str, object]] = {}
        for record in api.shipments(window.extracted_from):
            stamp = _ts(str(record["updated_at"]))
            if stamp <= window.extracted_to and (
                window.extracted_from is None or stamp > window.extracted_from
            ):
                seen[(str(record["shipment_id"]), str(record["updated_at"]))] = record
        with wh.transaction():
            lock_entity(wh, SOURCE, ENTITY)
            wh.execute("delete from raw_logistics.shipments where _batch_id = %s", (window.batch_id,))
            loaded_at = wh.execute("select now()").fetchone()[0]  # type: ignore[index]
            with wh.cursor().copy(
                "copy raw_logistics.shipments (_batch_id, _loaded_at, _source, shipment_id, "
                "updated_at, payload) from stdin"
            ) as copy:
                for (shipment_id, updated_at), record in sorted(seen.items()):
                    copy.write_row(
                        [
                            window.batch_id,
                            loaded_at,
                            api.base_url,
                            shipment_id,
                            _ts(updated_at),
                            Jsonb(record),
                        ]
                    )
            record_batch(
                wh, window, SOURCE, ENTITY, interval_start, interval_end, len(seen), {"retries": api.retries}
            )
    return {"batch_id": window.batch_id, "rows": len(seen), "retries": api.retries}
