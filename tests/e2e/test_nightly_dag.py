"""End to end: real ``o2c_nightly`` runs through Airflow over a small simulated business, with a real
SMTP server on 127.0.0.1. Every injected abnormal case must be flagged, no clean one, each owning rep
gets one digest per run, and re-running a night sends nothing twice and changes no counts."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes
from email.header import decode_header, make_header
from pathlib import Path
from typing import Any

import psycopg
import pytest

from o2c.checks.rules import load_rules
from o2c.config import Settings, load_settings
from o2c.demo import run_dag
from o2c.orchestration import airflow_env
from o2c.pipeline import prepare
from o2c.simulate.driver import Simulation
from o2c.simulate.scorecard import expected_cases, flagged_exceptions, score
from o2c.warehouse.db import warehouse_url
from o2c.warehouse.embedded import EmbeddedWarehouse
from tests.conftest import SMALL_SCENARIO, free_port

pytestmark = pytest.mark.e2e


class Inbox:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content)
        body = "".join(
            part.get_payload(decode=True).decode("utf-8")
            for part in message.walk()
            if part.get_content_type() == "text/plain"
        )
        self.messages.append(
            {
                "to": list(envelope.rcpt_tos),
                "subject": str(make_header(decode_header(message["Subject"]))),
                "body": body,
            }
        )
        return "250 OK"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, dict[str, str], Inbox, Path]]:
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    home = tmp_path_factory.mktemp("e2e-home")
    env = {
        "O2C_HOME": str(home),
        "O2C_WAREHOUSE_PORT": str(free_port()),
        "O2C_LOGISTICS_API_URL": f"http://127.0.0.1:{free_port()}",
        "O2C_SMTP_HOST": "127.0.0.1",
        "O2C_SMTP_PORT": str(smtp.port),
        "O2C_TASK_RETRIES": "0",
    }
    settings = load_settings(env)
    prepare(settings)
    base = {k: v for k, v in os.environ.items() if not k.startswith("O2C_")}
    airflow = airflow_env(settings, {**base, **env})
    log = home / "airflow.log"
    from o2c.demo import _airflow

    _airflow(["db", "migrate"], airflow, log)
    try:
        yield settings, airflow, inbox, log
    finally:
        Simulation(settings).stop_api()
        EmbeddedWarehouse(settings.home, settings.warehouse_port).stop()
        smtp.stop()


def counts(settings: Settings) -> dict[str, int]:
    with psycopg.connect(warehouse_url(settings), autocommit=True) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "select table_schema || '.' || table_name from information_schema.tables "
                "where table_schema in ('raw_erp', 'raw_logistics', 'raw_bank', 'marts', 'ops') "
                "and table_type = 'BASE TABLE' and table_name not in ('check_runs') order by 1"
            )
        ]
        return {t: conn.execute(f"select count(*) from {t}").fetchone()[0] for t in tables}


def test_history_then_a_night_flags_every_case_and_alerts_each_owner(stack) -> None:
    settings, airflow, inbox, log = stack
    sim = Simulation(settings)
    cfg = sim.init(**SMALL_SCENARIO)
    history, night = cfg.end - timedelta(days=1), cfg.end
    sim.advance(history)
    sim.start_api()
    run_dag(history, airflow, log)
    first_run = list(inbox.messages)
    sim.advance(night)
    run_dag(night, airflow, log)
    second_run = inbox.messages[len(first_run) :]

    rules = load_rules(settings.expectations_dir)
    expected = expected_cases(settings.sim_dir / "ground_truth", night, rules)
    with psycopg.connect(warehouse_url(settings), autocommit=True) as conn:
        flagged = flagged_exceptions(conn, night)
        reps = dict(conn.execute("select sales_rep_id, email from marts.dim_sales_reps").fetchall())
        owners_new = {
            r[0]
            for r in conn.execute(
                "select owner_rep_id from marts.fct_order_exceptions where first_seen_date = %s and status = 'open'",
                (night,),
            )
        }
        owners_history = {
            r[0]
            for r in conn.execute(
                "select distinct owner_rep_id from ops.exception_observations where as_of_date = %s",
                (history,),
            )
        }
        alert_rows = conn.execute("select as_of_date, recipient, status from ops.alert_log").fetchall()
    for rule in score(expected, flagged):
        assert rule.expected > 0, rule.rule_id
        assert rule.false_negatives == [] and rule.false_positives == [], rule

    # one digest per owning rep per run, to the rep's address, in both languages
    assert sorted(m["to"][0] for m in first_run) == sorted(reps[r] for r in owners_history)
    assert sorted(m["to"][0] for m in second_run) == sorted(reps[r] for r in owners_new)
    for message in first_run + second_run:
        assert len(message["to"]) == 1
        assert "abnormal" in message["subject"] and "异常订单" in message["subject"]
        assert "异常" in message["body"] and "Customer" in message["body"]
    assert {status for _, _, status in alert_rows} == {"sent"}
    assert len(alert_rows) == len(first_run) + len(second_run)


def test_rerunning_a_night_sends_nothing_twice_and_changes_no_counts(stack) -> None:
    settings, airflow, inbox, log = stack
    night = Simulation(settings).config().end
    before, sent = counts(settings), len(inbox.messages)
    run_dag(night, airflow, log)
    assert len(inbox.messages) == sent
    assert counts(settings) == before
