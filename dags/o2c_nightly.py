"""
### o2c_nightly — the nightly order-to-cash load

Runs at 02:00 Asia/Shanghai for the business day that just closed (data interval
`[D 02:00, D+1 02:00)` Shanghai time, as-of date `D`):

1. **extract_erp** — SAP tables (customers, contracts, orders, deliveries, billing, open/cleared items),
   incrementally by change timestamp from the stored watermark; a re-run replaces the interval's batch.
2. **extract_logistics** — the forwarder's shipments API (`updated_since`, paginated, retried).
3. **bank_intake** — for the latest night only, lands the bank files waiting in the inbox (as the
   `o2c_bank_intake` DAG does every 15 minutes), so the build sees every file that arrived before it
   started. A backfill or late re-run of an older night lands nothing: it builds from the bank rows
   already landed, booked by its as-of date.
4. **dbt_build** — staging → marts for the as-of date, built and tested in `marts_next`, then published to
   `marts` in one transaction; a failing test publishes nothing (BI users keep the last good marts).
   Source rows that break a staging type contract are left out, listed in `ops.type_contract_rejects`
   and reported (task result, log, data team's outbox/e-mail); they do not fail the build.
5. **run_checks** — the abnormal-order rules (Great Expectations) → `marts.fct_order_exceptions`.
6. **send_alerts** — one EN/ZH digest per owning sales rep, and one for finance (`O2C_FINANCE_EMAIL`:
   unapplied cash, bank statement breaks), outbox + SMTP, never twice.

Every task reads and writes its own interval only and can be re-run or backfilled safely.
A task that fails for good e-mails the data team (`O2C_DATA_TEAM_EMAIL`, `o2c.alerts.data_team`).
Owner: data team. Business logic lives in `src/o2c` and `dbt_project`, not here.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import dag, get_current_context, task
from airflow.timetables.interval import CronDataIntervalTimetable


def alert_data_team(context) -> None:
    """on_failure_callback of every task: e-mail the data team (``o2c.alerts.data_team``); never raises."""
    try:
        from o2c.alerts.data_team import alert_task_failure

        alert_task_failure(context)
    except Exception:  # a broken alert must not mask the task's own failure
        import logging

        logging.getLogger(__name__).exception("could not alert the data team")


@dag(
    dag_id="o2c_nightly",
    schedule=CronDataIntervalTimetable("0 2 * * *", timezone="Asia/Shanghai"),
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai"),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["o2c", "nightly", "erp", "logistics", "bank", "dbt", "checks", "alerts"],
    default_args={
        "owner": "data-team",
        "retries": int(os.environ.get("O2C_TASK_RETRIES", "2")),
        "retry_delay": timedelta(minutes=2),
        "retry_exponential_backoff": True,
        "on_failure_callback": alert_data_team,
    },
)
def o2c_nightly() -> None:
    @task
    def extract_erp() -> dict:
        from o2c import pipeline

        ctx = get_current_context()
        return pipeline.extract_erp(ctx["data_interval_start"], ctx["data_interval_end"])

    @task
    def extract_logistics() -> dict:
        from o2c import pipeline

        ctx = get_current_context()
        return pipeline.extract_logistics(ctx["data_interval_start"], ctx["data_interval_end"])

    @task
    def bank_intake() -> dict:
        from o2c import pipeline

        return pipeline.ingest_bank_inbox(night_ending=get_current_context()["data_interval_end"])

    @task
    def dbt_build() -> dict:
        from o2c import pipeline

        return pipeline.build_marts(pipeline.as_of_for(get_current_context()["data_interval_end"]))

    @task
    def run_checks() -> dict:
        from o2c import pipeline

        ctx = get_current_context()
        return pipeline.run_checks(pipeline.as_of_for(ctx["data_interval_end"]), ctx["run_id"])

    @task
    def send_alerts() -> dict:
        from o2c import pipeline

        return pipeline.send_alerts(pipeline.as_of_for(get_current_context()["data_interval_end"]))

    loaded = [extract_erp(), extract_logistics(), bank_intake()]
    built = dbt_build()
    loaded >> built
    built >> run_checks() >> send_alerts()


o2c_nightly()
