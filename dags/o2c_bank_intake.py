"""
### o2c_bank_intake — land bank statement files as they arrive

Banks drop MT940 / camt.053 statement files into the inbox (SFTP in production) at any time of day, so
their intake is not tied to the nightly data interval. Every 15 minutes this DAG lands whatever is in the
inbox (`O2C_BANK_INBOX`):

- **land_bank_files**: each file loads whole into `raw_bank.*` (one transaction), is a duplicate, or is
  quarantined with a reason (`$O2C_HOME/quarantine/bank`). `ops.bank_files.first_seen_at` records when
  each file landed. A file that fails with an unexpected error (a defect) fails the task, named in the
  error, and stays in the inbox for the retry; nothing of it is landed.

When it landed at least one file it emits the asset `o2c://warehouse/raw_bank` (with the file names as
the event's extra); a run that landed nothing (an empty inbox, only duplicates or quarantines) is
*skipped* and emits nothing. `o2c_nightly` builds from the bank rows booked by its as-of date; its own
first task lands the inbox only for the latest night, so a backfill of an old night neither shows later
entries nor consumes files that arrived since.

No catchup and one run at a time: the inbox is the state, so a missed run is simply covered by the next.
Owner: data team. Business logic lives in `src/o2c`, not here.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import Asset, CronTriggerTimetable, dag, task
from airflow.sdk.exceptions import AirflowSkipException

RAW_BANK = Asset(name="o2c_raw_bank", uri="o2c://warehouse/raw_bank")
"""Bank statements and entries landed in the warehouse (`raw_bank.statements`, `raw_bank.entries`)."""


@dag(
    dag_id="o2c_bank_intake",
    schedule=CronTriggerTimetable("*/15 * * * *", timezone="Asia/Shanghai"),
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai"),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=1),
    doc_md=__doc__,
    tags=["o2c", "bank", "intake"],
    default_args={
        "owner": "data-team",
        "retries": int(os.environ.get("O2C_TASK_RETRIES", "2")),
        "retry_delay": timedelta(minutes=2),
        "retry_exponential_backoff": True,
    },
)
def o2c_bank_intake() -> None:
    @task(outlets=[RAW_BANK])
    def land_bank_files(outlet_events=None) -> dict:  # Airflow passes the outlet event accessors
        from o2c import pipeline

        result = pipeline.ingest_bank_inbox()
        if not result.get("loaded"):
            raise AirflowSkipException(f"nothing landed: {result}")
        outlet_events[RAW_BANK].extra = {"files": result["loaded_files"]}
        return result

    land_bank_files()


o2c_bank_intake()
