"""The data team's failure alert without a warehouse or SMTP server: what the message says, the outbox
copy, and a callback that never raises, whatever Airflow hands it."""

from __future__ import annotations

import dataclasses
from datetime import date
from email import message_from_bytes, policy
from pathlib import Path
from types import SimpleNamespace

import pytest

from o2c.alerts import data_team
from o2c.alerts.smtp import AlertSendError
from o2c.business_calendar import interval_for
from o2c.config import Settings, load_settings
from o2c.transform.build import DbtError

AS_OF = date(2026, 9, 28)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(
        {
            "O2C_HOME": str(tmp_path),
            "O2C_WAREHOUSE_URL": "postgresql://nobody:x@127.0.0.1:9/none",  # refused at once: no warehouse
            "O2C_DATA_TEAM_EMAIL": "Data Team <data@example.com>, oncall@example.com",
        }
    )


def context(exception: BaseException | None) -> dict[str, object]:
    start, end = interval_for(AS_OF)
    ti = SimpleNamespace(
        dag_id="o2c_nightly",
        task_id="dbt_build",
        run_id="scheduled__2026-09-28T18:00:00+00:00",
        try_number=3,
        log_url="http://airflow.example/dags/o2c_nightly/runs/x/tasks/dbt_build?try_number=3",
    )
    return {
        "ti": ti,
        "run_id": ti.run_id,
        "data_interval_start": start,
        "data_interval_end": end,
        "exception": exception,
    }


def test_the_failure_names_the_run_the_task_the_date_the_nodes_and_the_logs() -> None:
    error = DbtError(
        "dbt build failed for as-of 2026-09-28:\ntest.o2c.unique_fct_invoices_invoice_id: Got 2 results",
        ["test.o2c.unique_fct_invoices_invoice_id: Got 2 results"],
        Path("/srv/o2c/dbt/logs/dbt.log"),
    )
    failure = data_team.failure_from_context(context(error))
    assert (failure.dag_id, failure.task_id, failure.try_number, failure.as_of_date) == (
        "o2c_nightly",
        "dbt_build",
        3,
        AS_OF,
    )
    assert failure.key == "o2c_nightly:scheduled__2026-09-28T18:00:00+00:00:dbt_build:3"
    assert failure.failing_nodes == ("test.o2c.unique_fct_invoices_invoice_id: Got 2 results",)
    assert failure.log_locations == (
        "Airflow task log: http://airflow.example/dags/o2c_nightly/runs/x/tasks/dbt_build?try_number=3",
        "dbt log: /srv/o2c/dbt/logs/dbt.log",
        "dbt results: /srv/o2c/dbt/target/run_results.json",
    )
    message = data_team.build_failure_message(
        failure, sender="o2c@example.com", recipients=["data@example.com"], sent_at=interval_for(AS_OF)[1]
    )
    assert message["Subject"] == (
        "[o2c] o2c_nightly failed: dbt_build, as of 2026-09-28 (run scheduled__2026-09-28T18:00:00+00:00)"
    )
    body = message.get_content()
    assert "Failing dbt nodes:\n  - test.o2c.unique_fct_invoices_invoice_id: Got 2 results" in body
    assert "Error (DbtError):" in body and "Task:        dbt_build (try 3)" in body


def test_without_a_warehouse_or_smtp_the_alert_is_in_the_outbox(settings: Settings) -> None:
    outcome = data_team.alert_task_failure(context(RuntimeError("the ERP replica is down")), settings)
    assert outcome is not None and outcome.status == "outbox_only"
    assert outcome.recipients == ["data@example.com", "oncall@example.com"]
    assert outcome.outbox_file is not None and outcome.outbox_file.parent.parent.name == "data-team"
    message = message_from_bytes(outcome.outbox_file.read_bytes(), policy=policy.default)
    assert message["To"] == "data@example.com, oncall@example.com"
    assert "the ERP replica is down" in message.get_body(("plain",)).get_content()


def test_a_failed_send_is_reported_not_raised(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> int:
        raise AlertSendError("smtp.example:25", "data@example.com", 3, "ConnectionRefusedError")

    monkeypatch.setattr(data_team, "send_message", refuse)
    smtp = dataclasses.replace(settings, smtp_host="smtp.example")
    outcome = data_team.alert_task_failure(context(RuntimeError("boom")), smtp)
    assert (
        outcome is not None and outcome.status == "failed" and "ConnectionRefusedError" in str(outcome.error)
    )


@pytest.mark.parametrize("ctx", [{}, {"ti": object(), "exception": "a string, not an exception"}, None])
def test_the_callback_never_raises(settings: Settings, ctx: object) -> None:
    data_team.alert_task_failure(ctx, settings)  # type: ignore[arg-type]
