"""The nightly pipeline's steps, one function per Airflow task, each keyed on the run's data interval.

Each step is an entry point: it resolves the warehouse once (starting the embedded server if that is the
warehouse) and passes the URL down; no library function starts a server. Each step reads and writes
exactly its interval and can be re-run: extraction adds the versions it has not landed yet, dbt rebuilds
for the interval's as-of date, checks replace that date's observations, alerts send what was not sent yet.
Airflow is not imported here: the DAG files only wire these functions.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from o2c.business_calendar import as_of_for, interval_for
from o2c.config import Settings, load_settings

__all__ = [
    "as_of_for",
    "build_marts",
    "extract_erp",
    "extract_logistics",
    "ingest_bank_inbox",
    "interval_for",
    "prepare",
    "run_all",
    "run_checks",
    "send_alerts",
]


def _resolve(settings: Settings | None) -> tuple[str, Settings]:
    from o2c.warehouse.db import start_warehouse

    s = settings or load_settings()
    return start_warehouse(s), s


def prepare(settings: Settings | None = None) -> str:
    """Start the embedded warehouse if needed and create the landing/ops schemas; return the redacted URL."""
    from o2c.warehouse.db import redact

    url, _ = _resolve(settings)
    return redact(url)


def extract_erp(
    interval_start: datetime, interval_end: datetime, settings: Settings | None = None
) -> dict[str, Any]:
    from o2c.sources.erp.extract import extract_erp as run

    url, s = _resolve(settings)
    loads = run(url, interval_start, interval_end, s)
    return {
        "tables": len(loads),
        "rows": sum(t.read for t in loads),
        "new_versions": sum(t.new_versions for t in loads),
        "tombstones": sum(t.tombstones for t in loads),
        "per_table": {t.table: t.read for t in loads},
    }


def extract_logistics(
    interval_start: datetime, interval_end: datetime, settings: Settings | None = None
) -> dict[str, Any]:
    from o2c.sources.logistics.extract import extract_shipments

    url, s = _resolve(settings)
    return extract_shipments(url, interval_start, interval_end, s)


def ingest_bank_inbox(
    settings: Settings | None = None, *, night_ending: datetime | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """Land every statement file waiting in the bank inbox: the ``o2c_bank_intake`` DAG, ``o2c run``.

    Bank files arrive at any time and are not keyed on a data interval: whichever run lands a file,
    ``ops.bank_files.first_seen_at`` and ``raw_bank.*._loaded_at`` record when, and each build shows the
    entries booked by its as-of date (``stg_bank__entries``).

    ``night_ending`` is passed by ``o2c_nightly``'s first task (its data interval's end). That run lands
    the inbox only while its night is the latest one (it ended less than a day before ``now``), so the
    night's build sees every file that arrived before it started. A backfill or late re-run of an older
    night lands nothing and says why: files that arrived since then are the intake's to land.

    Raises:
        o2c.sources.bank.ingest.BankIngestError: a file failed with an unexpected error (a defect, not
            bad data): nothing of it was landed, it stays in the inbox, the error names it.
    """
    if night_ending is not None:
        current = now or datetime.now(UTC)
        if current - night_ending >= timedelta(days=1):
            return {
                "files": 0,
                "skipped": (
                    f"the night ending {night_ending.isoformat()} is not the latest one (now"
                    f" {current.isoformat()}): a backfill lands nothing, o2c_bank_intake lands new files"
                ),
            }
    from o2c.sources.bank.ingest import BankIngest

    url, s = _resolve(settings)
    results = BankIngest(url, s).ingest_inbox()
    by_status: dict[str, int] = {}
    for result in results:
        by_status[result.status] = by_status.get(result.status, 0) + 1
    return {
        "files": len(results),
        **by_status,
        "loaded_files": [r.file for r in results if r.status == "loaded"],
        "quarantined_files": [
            {"file": r.file, "reason": r.reason} for r in results if r.status == "quarantined"
        ],
    }


def build_marts(as_of: date, settings: Settings | None = None) -> dict[str, Any]:
    """Build and test the marts in their shadow schema, then publish them (write-audit-publish).

    Then, whether the build succeeded or not, report the ERP rows it rejected for breaking a staging type
    contract and no run reported before (``type_contract_rejects``: a warning in the log, the data team's
    outbox and e-mail; see ``o2c.transform.rejects``). Rejected rows do not fail the build.

    Raises when a model or a test fails (``DbtError``) or the publish does (``PublishError``): BI users then
    keep the last published marts, and the failed task alerts the data team.
    """
    from o2c.transform.publish import build_and_publish
    from o2c.transform.rejects import report_rejects

    url, s = _resolve(settings)
    try:
        result, published = build_and_publish(as_of, url, s)
    finally:
        rejects = report_rejects(url, as_of, s)
    statuses: dict[str, int] = {}
    for r in result.results:
        statuses[str(r.get("status"))] = statuses.get(str(r.get("status")), 0) + 1
    return {
        "as_of": as_of.isoformat(),
        "nodes": len(result.results),
        "elapsed_s": round(result.elapsed_s, 1),
        **statuses,
        "published": bool(published.published),
        "type_contract_rejects": rejects.summary(),
    }


def run_checks(as_of: date, run_id: str, settings: Settings | None = None) -> dict[str, Any]:
    from o2c.checks.runner import run_checks as run

    url, s = _resolve(settings)
    return run(as_of, run_id, url, s)


def send_alerts(as_of: date, settings: Settings | None = None) -> dict[str, Any]:
    from o2c.alerts.dispatch import send_alerts as run
    from o2c.warehouse.db import connect

    url, s = _resolve(settings)
    with connect(url, autocommit=True) as conn:
        return run(as_of, s, conn=conn)


def run_all(as_of: date, settings: Settings | None = None, run_id: str | None = None) -> dict[str, Any]:
    """Every step for one business date, in order, without Airflow (``o2c run``).

    Its bank step is the intake (``o2c_bank_intake`` under Airflow): it lands whatever is in the inbox,
    whatever the date; the build shows the entries booked by ``as_of``.
    """
    start, end = interval_for(as_of)
    return {
        "erp": extract_erp(start, end, settings),
        "logistics": extract_logistics(start, end, settings),
        "bank": ingest_bank_inbox(settings),
        "dbt": build_marts(as_of, settings),
        "checks": run_checks(as_of, run_id or f"manual__{as_of.isoformat()}", settings),
        "alerts": send_alerts(as_of, settings),
    }
