"""End to end: real ``o2c_bank_intake`` and ``o2c_nightly`` runs through Airflow over a small simulated
business, with a real SMTP server on 127.0.0.1. Every injected abnormal case must be flagged, no clean one,
each owning rep gets one digest per run, re-running a night sends nothing twice and changes no counts, and
a backfill of an older night shows no bank entry booked after it and leaves new files to the intake."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import psycopg
import pytest

from o2c.checks.rules import load_rules
from o2c.config import Settings
from o2c.demo import run_dag, run_intake
from o2c.simulate.driver import Simulation
from o2c.simulate.scorecard import expected_cases, flagged_exceptions, score
from o2c.warehouse.db import warehouse_url
from tests.conftest import SMALL_SCENARIO
from tests.e2e.conftest import Stack, e2e_stack

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with e2e_stack(tmp_path_factory.mktemp("e2e-home")) as built:
        yield built


def counts(settings: Settings) -> dict[str, int]:
    """Rows per landing, mart and ops table; logs of runs (check_runs, load_log) grow with every run."""
    with psycopg.connect(warehouse_url(settings), autocommit=True) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "select table_schema || '.' || table_name from information_schema.tables "
                "where table_schema in ('raw_erp', 'raw_logistics', 'raw_bank', 'marts', 'ops') "
                "and table_type = 'BASE TABLE' and table_name not in ('check_runs', 'load_log') order by 1"
            )
        ]
        return {t: conn.execute(f"select count(*) from {t}").fetchone()[0] for t in tables}


def raw_bank_events(airflow: dict[str, str]) -> list[dict[str, Any]]:
    """The extras of the asset events ``o2c://warehouse/raw_bank`` recorded in Airflow's database."""
    url = airflow["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].replace("postgresql+psycopg2://", "postgresql://")
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "select e.extra, e.source_dag_id from asset_event e join asset a on a.id = e.asset_id"
            " where a.uri = 'o2c://warehouse/raw_bank' order by e.id"
        ).fetchall()
    return [{**extra, "dag": dag_id} for extra, dag_id in rows]


def test_history_then_a_night_flags_every_case_and_alerts_each_owner(stack) -> None:
    settings, airflow, inbox, log = stack.settings, stack.airflow, stack.inbox, stack.log
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
        # the reps' rules only: a finance rule's exceptions (no rep) go to the finance team's digest
        owners_new = {
            r[0]
            for r in conn.execute(
                "select owner_rep_id from marts.fct_order_exceptions where first_seen_date = %s and status = 'open' "
                "and rule_owner = 'sales_rep'",
                (night,),
            )
        }
        # a rep's exception seen on both days, more severe on the night, is re-alerted (escalated)
        owners_escalated = {
            r[0]
            for r in conn.execute(
                "select night.owner_rep_id from ops.exception_observations as night "
                "inner join ops.exception_observations as before using (rule_id, entity_key) "
                "inner join ops.rule_catalog as catalog using (rule_id) "
                "where night.as_of_date = %s and before.as_of_date = %s and catalog.owner = 'sales_rep' "
                "and array_position(array['high', 'medium', 'low'], night.severity) "
                "< array_position(array['high', 'medium', 'low'], before.severity)",
                (night, history),
            )
        }
        owners_history = {
            r[0]
            for r in conn.execute(
                "select distinct observation.owner_rep_id from ops.exception_observations as observation "
                "inner join ops.rule_catalog as catalog using (rule_id) "
                "where observation.as_of_date = %s and catalog.owner = 'sales_rep'",
                (history,),
            )
        }
        alert_rows = conn.execute(
            "select as_of_date, recipient, status from ops.alert_log where alert_key not like '%:team:finance'"
        ).fetchall()
        finance_rows = conn.execute(
            "select status, recipient from ops.alert_log where alert_key like '%:team:finance'"
        ).fetchall()
    for rule in score(expected, flagged):
        assert rule.expected > 0, rule.rule_id
        assert rule.false_negatives == [] and rule.false_positives == [], rule

    # one digest per owning rep per run, to the rep's address, in both languages
    assert sorted(m.to[0] for m in first_run) == sorted(reps[r] for r in owners_history)
    assert sorted(m.to[0] for m in second_run) == sorted(reps[r] for r in owners_new | owners_escalated)
    for message in first_run + second_run:
        assert len(message.to) == 1
        assert "abnormal" in message.subject and "异常订单" in message.subject
        assert "异常" in message.body and "Customer" in message.body
    assert {status for _, _, status in alert_rows} == {"sent"}
    assert len(alert_rows) == len(first_run) + len(second_run)
    # O2C_FINANCE_EMAIL is not set here: the finance digests are in the outbox only, sent to nobody
    assert {status for status, _ in finance_rows} <= {"outbox_only"}
    assert all("O2C_FINANCE_EMAIL" in recipient for _, recipient in finance_rows)


def test_rerunning_a_night_sends_nothing_twice_and_changes_no_counts(stack) -> None:
    settings, airflow, inbox, log = stack.settings, stack.airflow, stack.inbox, stack.log
    night = Simulation(settings).config().end
    before, sent, events = counts(settings), len(inbox.messages), raw_bank_events(airflow)
    run_dag(night, airflow, log)
    assert len(inbox.messages) == sent
    assert counts(settings) == before
    assert raw_bank_events(airflow) == events, "an intake that lands nothing emits no asset event"


_LATE_STATEMENT = """:20:LATE
:25:E2E-LATE-USD
:28C:1/1
:60F:C{day}USD1000,00
:61:{day}{mmdd}C250,00NTRFNONREF
:86:/REMI/arrived after the night was first built
:62F:C{day}USD1250,00
-
"""


def test_a_backfill_shows_no_later_bank_entries_and_leaves_new_files_to_the_intake(stack) -> None:
    settings, airflow, log = stack.settings, stack.airflow, stack.log
    cfg = Simulation(settings).config()
    history, night = cfg.end - timedelta(days=1), cfg.end
    events = raw_bank_events(airflow)
    assert [e["dag"] for e in events] == ["o2c_bank_intake", "o2c_bank_intake"]  # history, then the night
    assert all(e["files"] for e in events)
    late = settings.bank_inbox / "LATE_USD_MT940.sta"
    late.write_text(_LATE_STATEMENT.format(day=night.strftime("%y%m%d"), mmdd=night.strftime("%m%d")))

    run_dag(history, airflow, log, intake=False)  # the nightly alone, for a night long past

    assert late.exists(), "a backfill does not consume a file that arrived after its night"
    with psycopg.connect(warehouse_url(settings), autocommit=True) as conn:
        latest_booked = conn.execute("select max(booking_date) from raw_bank.entries").fetchone()[0]
        # each payment once: the final statements' (an entry by its bank reference), and an intraday report's
        # or notification's only on days no final statement of its account covers yet
        booked_by_history = conn.execute(
            "select count(*) from (select distinct e.account_id,"
            " coalesce(e.bank_reference, e.statement_key || ':' || e.entry_seq), e.tx_seq"
            " from raw_bank.entries as e where e.booking_date <= %s and (e.report_kind = 'statement'"
            " or e.booking_date > coalesce((select max(s.closing_date) from raw_bank.statements as s"
            " where s.account_id = e.account_id and s.report_kind = 'statement' and s.closing_date <= %s),"
            " date '0001-01-01'))) as payments",
            (history, history),
        ).fetchone()[0]
        shown = conn.execute("select max(booking_date), count(*) from marts.fct_payments").fetchone()
    assert latest_booked > history, "entries booked after the backfilled night are landed..."
    assert shown[0] <= history and shown[1] == booked_by_history, (
        "...but the backfill shows only those booked by its date"
    )
    assert raw_bank_events(airflow) == events

    run_intake(airflow, log)

    assert not late.exists()
    assert raw_bank_events(airflow)[len(events) :] == [{"files": [late.name], "dag": "o2c_bank_intake"}]
    with psycopg.connect(warehouse_url(settings), autocommit=True) as conn:
        record = conn.execute(
            "select status, first_seen_at from ops.bank_files where file_name = %s", (late.name,)
        ).fetchone()
    assert record is not None and record[0] == "loaded", "which file landed when is recorded"
