"""
### o2c_nightly — the nightly order-to-cash load

Runs at 02:00 Asia/Shanghai for the business day that just closed (data interval
`[D 02:00, D+1 02:00)` Shanghai time, as-of date `D`):

1. **extract_erp** — SAP tables (customers, contracts, orders, deliveries, billing, open/cleared items),
   incrementally by change timestamp from the stored watermark; a re-run replaces the interval's batch.
2. **extract_logistics** — the forwarder's shipments API (`updated_since`, paginated, retried).
3. **ingest_bank** — MT940 / camt.053 files in the bank inbox; bad files go to quarantine with a reason.
4. **dbt_build** — staging → marts for the as-of date, with the models' tests.
5. **run_checks** — the abnormal-order rules (Great Expectations) → `marts.fct_order_exceptions`.
6. **send_alerts** — one EN/ZH digest per owning sales rep (outbox + SMTP), never twice.

Every task reads and writes its own interval only and can be re-run or backfilled safely.
Owner: data team. Business logic lives in `src/o2c` and `dbt_project`, not here.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import dag, get_current_context, task
from airflow.timetables.interval import CronDataIntervalTimetable


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
    def ingest_bank() -> dict:
        from o2c import pipeline

        return pipeline.ingest_bank_inbox()

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

    loaded = [extract_erp(), extract_logistics(), ingest_bank()]
    built = dbt_build()
    loaded >> built
    built >> run_checks() >> send_alerts()


o2c_nightly()
