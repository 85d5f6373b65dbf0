"""``make demo``: the whole product on the embedded warehouse, end to end, through Airflow.

1. start the warehouse and the simulated sources (ERP database, logistics API, bank inbox);
2. close the history (all days but the last ``nightly``), run ``o2c_bank_intake`` (the statement files
   that arrived) and ``o2c_nightly`` for it through Airflow;
3. then close the last days one night at a time, running both DAGs each night;
4. print rows per mart, exceptions per rule, alerts sent, and detection precision/recall against the
   simulator's ground truth.

Running it again changes no counts: every step replaces what it loaded for its interval.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from o2c.config import Settings, load_settings
from o2c.pipeline import interval_for

MARTS = (
    "dim_customers",
    "dim_products",
    "dim_sales_reps",
    "dim_plants",
    "fct_orders",
    "fct_shipments",
    "fct_invoices",
    "fct_payments",
    "fct_receivables_daily",
    "fct_order_exceptions",
)


def _say(message: str) -> None:
    print(f"[o2c demo] {message}", flush=True)


def _airflow(args: list[str], env: dict[str, str], log: Path) -> None:
    airflow = str(Path(sys.executable).with_name("airflow"))
    with log.open("a") as handle:
        handle.write(f"\n$ airflow {' '.join(args)}\n")
        handle.flush()
        proc = subprocess.run([airflow, *args], env=env, stdout=handle, stderr=subprocess.STDOUT)  # noqa: S603
    if proc.returncode != 0:
        raise SystemExit(f"airflow {' '.join(args)} failed (exit {proc.returncode}); see {log}")


def run_dag(as_of: date, env: dict[str, str], log: Path, intake: bool = True) -> None:
    """One night as production runs it: a real ``o2c_bank_intake`` run landing the statement files that
    arrived (unless ``intake`` is false), then a real ``o2c_nightly`` run (``airflow dags test``) for the
    interval that closes ``as_of``. A simulated night older than a day by the wall clock is a backfill
    to the nightly's own intake task, which then lands nothing: the intake DAG has."""
    if intake:
        run_intake(env, log)
    _, interval_end = interval_for(as_of)
    _airflow(["dags", "test", "o2c_nightly", interval_end.isoformat()], env, log)
    _check_run_succeeded("o2c_nightly", f"for {as_of}", env, log, interval_end)


def run_intake(env: dict[str, str], log: Path) -> None:
    """One real ``o2c_bank_intake`` run (``airflow dags test``, now): lands whatever is in the bank inbox."""
    _airflow(["dags", "test", "o2c_bank_intake"], env, log)
    _check_run_succeeded("o2c_bank_intake", "(latest run)", env, log)


def _check_run_succeeded(
    dag_id: str, what: str, env: dict[str, str], log: Path, interval_end: datetime | None = None
) -> None:
    """The latest run of ``dag_id`` (of the interval ending at ``interval_end``, if given) succeeded, as
    recorded in Airflow's database."""
    import psycopg

    url = env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].replace("postgresql+psycopg2://", "postgresql://")
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "select state from dag_run where dag_id = %s"
            " and (%s::timestamptz is null or data_interval_end = %s) order by id desc limit 1",
            (dag_id, interval_end, interval_end),
        ).fetchone()
    if not row or row[0] != "success":
        raise SystemExit(f"{dag_id} {what} ended {row[0] if row else 'without a run'}; see {log}")


def start_mail_sink(settings: Settings) -> tuple[Any, dict[str, str]]:
    """A local SMTP server (127.0.0.1) that keeps what it receives in ``<home>/mailbox``, unless
    ``O2C_SMTP_HOST`` points at a real one."""
    if settings.smtp_host:
        return None, {}
    from o2c.mailsink import MailSink

    sink = MailSink(settings.home / "mailbox")
    sink.start()
    return sink, {"O2C_SMTP_HOST": "127.0.0.1", "O2C_SMTP_PORT": str(sink.port)}


def summary(settings: Settings, as_of: date) -> dict[str, Any]:
    import psycopg
    from psycopg import sql

    from o2c.checks.rules import load_rules
    from o2c.simulate.scorecard import expected_cases, flagged_exceptions, score
    from o2c.warehouse.db import warehouse_url

    with psycopg.connect(warehouse_url(settings)) as conn:
        rows = {
            m: conn.execute(sql.SQL("select count(*) from marts.{}").format(sql.Identifier(m))).fetchone()[0]  # type: ignore[index]
            for m in MARTS
        }
        per_rule: dict[str, int] = dict(
            conn.execute(
                "select rule_id, count(*) from marts.fct_order_exceptions where status = 'open' group by rule_id "
                "order by rule_id"
            ).fetchall()
        )
        alerts = conn.execute(
            "select count(*) filter (where status = 'sent'), count(*) filter (where status = 'outbox_only'), "
            "count(*) filter (where status = 'failed'), count(distinct recipient) from ops.alert_log"
        ).fetchone()
        bank: dict[str, int] = dict(
            conn.execute("select status, count(*) from ops.bank_files group by status").fetchall()
        )
        rejects = 0
        if conn.execute("select to_regclass('ops.type_contract_rejects')").fetchone()[0]:  # type: ignore[index]
            rejects = conn.execute("select count(*) from ops.type_contract_rejects").fetchone()[0]  # type: ignore[index]
        flagged = flagged_exceptions(conn, as_of)
    rules = load_rules(settings.expectations_dir)
    scores = score(expected_cases(settings.sim_dir / "ground_truth", as_of, rules), flagged)
    from o2c.reconcile import staging_vs_source
    from o2c.simulate.driver import erp_url

    diffs = staging_vs_source(warehouse_url(settings), erp_url(settings), as_of)
    return {
        "rows": rows,
        "per_rule": per_rule,
        "alerts": alerts,
        "bank": bank,
        "type_contract_rejects": rejects,
        "scores": scores,
        "staging_vs_erp": diffs,
    }


def print_summary(settings: Settings, as_of: date, elapsed: float, mailbox: Path | None) -> None:
    from o2c.warehouse.db import redact, warehouse_url

    s = summary(settings, as_of)
    print()
    print(f"o2c demo — as of {as_of} (Asia/Shanghai), {elapsed:.0f} s")
    print("\nrows per mart")
    for mart, count in s["rows"].items():
        print(f"  marts.{mart:<24} {count:>8,}")
    print("\nopen exceptions per rule")
    for rule_id, count in s["per_rule"].items():
        print(f"  {rule_id:<16} {count:>6}")
    sent, outbox_only, failed, recipients = s["alerts"]
    print(
        f"\nalerts: {sent} digests sent by SMTP, {outbox_only} to the outbox only, {failed} failed, "
        f"{recipients} recipients"
    )
    print(f"bank files: {s['bank'].get('loaded', 0)} loaded, {s['bank'].get('quarantined', 0)} quarantined")
    print(
        f"ERP row versions rejected by staging type contracts: {s['type_contract_rejects']}"
        " (ops.type_contract_rejects)"
    )
    diffs = s["staging_vs_erp"]
    bad = [d for d in diffs if not d.ok]
    print(
        f"\nstaging vs the ERP at {as_of}'s cutoff: {len(diffs)} checks (keys of every staging model, every "
        f"column of every SAP table), {len(bad)} with differences"
    )
    for d in bad:
        print(f"  {d.table}: missing {d.missing} extra {d.extra}")
    print("\ndetection vs the simulator's ground truth")
    print(f"  {'rule':<16} {'expected':>8} {'flagged':>8} {'precision':>10} {'recall':>8}")
    for r in s["scores"]:
        print(f"  {r.rule_id:<16} {r.expected:>8} {r.flagged:>8} {r.precision:>10.3f} {r.recall:>8.3f}")
    tp = sum(r.true_positives for r in s["scores"])
    flagged = sum(r.flagged for r in s["scores"])
    expected = sum(r.expected for r in s["scores"])
    print(
        f"  {'all':<16} {expected:>8} {flagged:>8} {tp / max(flagged, 1):>10.3f} {tp / max(expected, 1):>8.3f}"
    )
    url = warehouse_url(settings)
    print("\nwhere to look next")
    print(
        f"  warehouse:   {redact(url)}   (full URL with password: `o2c warehouse url`; BI tools query the marts schema)"
    )
    print("  airflow:     make airflow   → http://127.0.0.1:8080 (admin password printed at start)")
    print(f"  alert outbox: {settings.outbox_dir}")
    if mailbox:
        print(f"  SMTP mailbox: {mailbox}   (the demo's local SMTP server)")
    print(f"  quarantine:  {settings.quarantine_dir}")
    print("  stop:        make stop")


def run_demo(days: int = 120, nightly: int = 3, seed: int = 42) -> int:
    from o2c.orchestration import airflow_env
    from o2c.pipeline import prepare
    from o2c.simulate.driver import Simulation

    started = time.monotonic()
    settings = load_settings()
    _say(f"warehouse: {prepare(settings)}")
    sim = Simulation(settings)
    cfg = sim.init(seed=seed, days=days)
    _say(
        f"simulated business: {cfg.start} .. {cfg.end} (seed {seed}); ground truth in {sim.dir / 'ground_truth'}"
    )
    sink, smtp_env = start_mail_sink(settings)
    os.environ.update(smtp_env)
    settings = load_settings()
    env = airflow_env(settings, {**os.environ, "O2C_TASK_RETRIES": os.environ.get("O2C_TASK_RETRIES", "0")})
    log = settings.home / "demo-airflow.log"
    _say("preparing Airflow's metadata database")
    _airflow(["db", "migrate"], env, log)
    history_end = cfg.end - timedelta(days=nightly)
    try:
        sim.advance(history_end)
        sim.start_api()
        _say(
            f"o2c_bank_intake + o2c_nightly for the history up to {history_end}"
            " (first load from an empty watermark)"
        )
        run_dag(history_end, env, log)
        for offset in range(1, nightly + 1):
            day = history_end + timedelta(days=offset)
            sim.advance(day)
            _say(f"o2c_bank_intake + o2c_nightly for {day}")
            run_dag(day, env, log)
    finally:
        if sink is not None:
            sink.stop()
    print_summary(settings, cfg.end, time.monotonic() - started, sink.folder if sink else None)
    return 0
