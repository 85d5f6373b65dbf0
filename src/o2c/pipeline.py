"""The nightly pipeline's steps, one function per Airflow task, each keyed on the run's data interval.

Each step reads and writes exactly its interval and can be re-run: extraction replaces the interval's
batches, dbt rebuilds for the interval's as-of date, checks replace that date's observations, alerts send
what was not sent yet. Airflow is not imported here: the DAG file only wires these functions.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from o2c.config import BUSINESS_TZ, Settings, load_settings


def as_of_for(interval_end: datetime) -> date:
    """The business date a run closes: the Shanghai date before the interval's end (02:00 → previous day)."""
    return (interval_end.astimezone(BUSINESS_TZ) - timedelta(hours=2, seconds=1)).date()


def interval_for(as_of: date) -> tuple[datetime, datetime]:
    """The nightly data interval that closes business date ``as_of``: [as_of 02:00, as_of+1 02:00) CST."""
    start = datetime.combine(as_of, time(2, 0), tzinfo=BUSINESS_TZ)
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


def prepare(settings: Settings | None = None) -> str:
    """Start the embedded warehouse if needed and create the landing/ops schemas; return the redacted URL."""
    import psycopg

    from o2c.warehouse.bootstrap import ensure_schema
    from o2c.warehouse.db import redact, warehouse_url

    url = warehouse_url(settings or load_settings())
    with psycopg.connect(url) as conn:
        ensure_schema(conn)
    return redact(url)


def extract_erp(
    interval_start: datetime, interval_end: datetime, settings: Settings | None = None
) -> dict[str, Any]:
    from o2c.sources.erp.extract import extract_erp as run

    prepare(settings)
    loads = run(interval_start, interval_end, settings)
    return {
        "tables": len(loads),
        "rows": sum(t.rows for t in loads),
        "per_table": {t.table: t.rows for t in loads},
    }


def extract_logistics(
    interval_start: datetime, interval_end: datetime, settings: Settings | None = None
) -> dict[str, Any]:
    from o2c.sources.logistics.extract import extract_shipments

    prepare(settings)
    return extract_shipments(interval_start, interval_end, settings)


def ingest_bank_inbox(settings: Settings | None = None) -> dict[str, Any]:
    from o2c.sources.bank.ingest import BankIngest

    prepare(settings)
    results = BankIngest(settings).ingest_inbox()
    by_status: dict[str, int] = {}
    for result in results:
        by_status[result.status] = by_status.get(result.status, 0) + 1
    return {
        "files": len(results),
        **by_status,
        "quarantined_files": [
            {"file": r.file, "reason": r.reason} for r in results if r.status == "quarantined"
        ],
    }


def build_marts(as_of: date, settings: Settings | None = None) -> dict[str, Any]:
    from o2c.transform.build import build

    result = build(as_of, settings)
    statuses: dict[str, int] = {}
    for r in result.results:
        statuses[str(r.get("status"))] = statuses.get(str(r.get("status")), 0) + 1
    return {
        "as_of": as_of.isoformat(),
        "nodes": len(result.results),
        "elapsed_s": round(result.elapsed_s, 1),
        **statuses,
    }


def run_checks(as_of: date, run_id: str, settings: Settings | None = None) -> dict[str, Any]:
    from o2c.checks.runner import run_checks as run

    return run(as_of, run_id, settings)


def send_alerts(as_of: date, settings: Settings | None = None) -> dict[str, Any]:
    from o2c.alerts.dispatch import send_alerts as run

    return run(as_of, settings)


def run_all(as_of: date, settings: Settings | None = None, run_id: str | None = None) -> dict[str, Any]:
    """Every step for one business date, in order, without Airflow (``o2c run``)."""
    start, end = interval_for(as_of)
    return {
        "erp": extract_erp(start, end, settings),
        "logistics": extract_logistics(start, end, settings),
        "bank": ingest_bank_inbox(settings),
        "dbt": build_marts(as_of, settings),
        "checks": run_checks(as_of, run_id or f"manual__{as_of.isoformat()}", settings),
        "alerts": send_alerts(as_of, settings),
    }
