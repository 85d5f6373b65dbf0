"""End to end: a real ``o2c_nightly`` run through Airflow whose dbt build fails a test. Airflow's
``on_failure_callback`` must e-mail the data team through a real SMTP server, naming the DAG, the run, the
task, the as-of date, the failing dbt nodes and where the logs are, and nothing of the build may be
published to ``marts``.

The failing input is real bad data: a bank statement booked in 2014 in EUR (a public ING camt.053 sample),
years before the first exchange rate, so its payment has no USD amount and the test
``reporting_amount_converted`` fails on ``fct_payments``."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from datetime import timedelta

import psycopg
import pytest

from o2c import pipeline
from o2c.demo import _airflow
from o2c.simulate.driver import Simulation
from o2c.warehouse.db import warehouse_url
from tests.conftest import SMALL_SCENARIO, shared_data
from tests.e2e.conftest import Stack, e2e_stack

pytestmark = pytest.mark.e2e

DATA_TEAM = "data-team@o2c.test"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with e2e_stack(tmp_path_factory.mktemp("e2e-failure-home"), {"O2C_DATA_TEAM_EMAIL": DATA_TEAM}) as built:
        yield built


def test_a_failed_build_emails_the_data_team_and_publishes_nothing(stack) -> None:
    settings, airflow, inbox, log = stack.settings, stack.airflow, stack.inbox, stack.log
    sim = Simulation(settings)
    cfg = sim.init(**SMALL_SCENARIO)
    night = cfg.end - timedelta(days=1)
    sim.advance(night)
    sim.start_api()
    sample = shared_data() / "camt053" / "svapnil-iso20022js" / "ing__example_camt.xml"
    settings.bank_inbox.mkdir(parents=True, exist_ok=True)
    shutil.copy(sample, settings.bank_inbox / sample.name)
    assert pipeline.ingest_bank_inbox(settings)["loaded"] >= 1

    _, interval_end = pipeline.interval_for(night)
    with contextlib.suppress(SystemExit):  # a failed run may end `airflow dags test` non-zero: checked below
        _airflow(["dags", "test", "o2c_nightly", interval_end.isoformat()], airflow, log)

    metadata = airflow["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].replace(
        "postgresql+psycopg2://", "postgresql://"
    )
    with psycopg.connect(metadata) as conn:
        run_id, state = conn.execute(
            "select run_id, state from dag_run where dag_id = 'o2c_nightly' order by id desc limit 1"
        ).fetchone()
        tasks = dict(
            conn.execute(
                "select task_id, state from task_instance where dag_id = 'o2c_nightly' and run_id = %s",
                (run_id,),
            ).fetchall()
        )
    assert state == "failed"
    assert tasks["dbt_build"] == "failed"
    assert tasks["run_checks"] == tasks["send_alerts"] == "upstream_failed"

    assert len(inbox.messages) == 1, [m.subject for m in inbox.messages]
    mail = inbox.messages[0]
    assert mail.to == [DATA_TEAM]
    assert mail.subject == f"[o2c] o2c_nightly failed: dbt_build, as of {night} (run {run_id})"
    body = mail.body
    for expected in (
        "DAG:         o2c_nightly",
        f"Run:         {run_id}",
        "Task:        dbt_build (try 1)",
        f"As-of date:  {night}",
        "reporting_amount_converted_fct_payments_amount_usd",
        "no marts have been published yet",
        "Airflow task log: http://127.0.0.1:8080/dags/o2c_nightly/runs/",
        f"dbt log: {settings.home / 'dbt' / 'logs' / 'dbt.log'}",
    ):
        assert expected in body, (expected, body)

    with psycopg.connect(warehouse_url(settings), autocommit=True) as conn:
        logged = conn.execute(
            "select task_id, run_id, as_of_date, status, recipient from ops.pipeline_failure_alerts"
        ).fetchall()
        visible = conn.execute(
            "select count(*) from pg_class where relnamespace = 'marts'::regnamespace and relkind in ('r', 'v')"
        ).fetchone()[0]
        published = conn.execute("select count(*) from ops.published_marts").fetchone()[0]
    assert logged == [("dbt_build", run_id, night, "sent", DATA_TEAM)]
    assert visible == 0 and published == 0, "nothing of a failed build is visible to BI users"
