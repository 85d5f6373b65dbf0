"""``make demo``: the whole product on the embedded warehouse, end to end, through Airflow.

1. start the warehouse and the simulated sources (ERP database, logistics API, bank inbox); the business
   runs from :data:`DEMO_START` to :data:`DEMO_END`, more than 36 months;
2. close the history (all days but the last ``nightly``), run ``o2c_bank_intake`` (the statement files
   that arrived) and ``o2c_nightly`` for it through Airflow: the first load, from an empty watermark;
3. then close the last day(s) one night at a time (:data:`DEMO_NIGHTS`), running both DAGs each night;
4. print rows per mart, exceptions per rule, alerts sent, detection precision/recall against the
   simulator's ground truth, the finance and fulfilment headlines of the as-of date, and where the time went.

Running it again changes no counts: every step replaces what it loaded for its interval.

Airflow's metadata database is migrated while the simulator builds its world, and the logistics API is
served from that same world in a thread of this process (unless ``o2c simulate start-api`` serves it
already): a second process would spend a minute or more building it again. It stops with the demo;
``make airflow`` starts its own.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from o2c.config import Settings, load_settings
from o2c.pipeline import as_of_for, interval_for

DEMO_END = date(2026, 9, 28)
"""The demo's last business day (its as-of date): the business is simulated up to it."""
DEMO_START = date(2023, 9, 1)
"""The demo's first business day: the history before the nightly window (up to ``DEMO_END`` minus the
nightly days) spans 36 whole months, September 2023 to August 2026, and most of September 2026."""
DEMO_DAYS = (DEMO_END - DEMO_START).days + 1
DEMO_LINES_PER_DAY = 30.0
"""Order lines a day in the demo (the simulator's default, which the tests use, is 46): about 33,000 lines
over the three years, so that ``make demo`` stays within 10 minutes on 2 cores (DECISIONLOG, "The demo's
three years"). ``o2c demo --lines-per-day`` sets another volume."""
DEMO_NIGHTS = 1
"""Nights run one by one after the first load of the history (``o2c demo --nightly``)."""

MARTS = (
    "dim_customers",
    "dim_products",
    "dim_sales_reps",
    "dim_plants",
    "dim_dates",
    "fct_orders",
    "fct_shipments",
    "fct_invoices",
    "fct_payments",
    "fct_receivables_daily",
    "fct_receivables_month_end",
    "fct_ar_aging",
    "fct_dso_monthly",
    "fct_credit_exposure",
    "fct_order_exceptions",
    "fct_cash_applications",
    "fct_unapplied_cash",
    "fct_bank_statement_breaks",
)
OPTIONAL_MARTS = ("fct_contracts", "fct_order_fulfillment")
"""Marts the summary reads when they are built, and reports as not built otherwise."""
AGING_COLUMNS = (
    "not_due_usd",
    "d1_30_usd",
    "d31_60_usd",
    "d61_90_usd",
    "d91_180_usd",
    "over_180_usd",
    "credit_memo_usd",
    "unapplied_cash_usd",
    "total_usd",
)


def _say(message: str) -> None:
    print(f"[o2c demo] {message}", flush=True)


class Steps:
    """Wall-clock time per demo step, for the summary's "time per step"."""

    def __init__(self) -> None:
        self.durations: list[tuple[str, float]] = []

    @contextmanager
    def step(self, label: str) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        finally:
            elapsed = time.monotonic() - started
            self.durations.append((label, elapsed))
            _say(f"{label}: {elapsed:.0f} s")


def _airflow_command(args: list[str]) -> list[str]:
    return [str(Path(sys.executable).with_name("airflow")), *args]


def _airflow(args: list[str], env: dict[str, str], log: Path) -> None:
    with log.open("a") as handle:
        handle.write(f"\n$ airflow {' '.join(args)}\n")
        handle.flush()
        proc = subprocess.run(_airflow_command(args), env=env, stdout=handle, stderr=subprocess.STDOUT)  # noqa: S603
    if proc.returncode != 0:
        raise SystemExit(f"airflow {' '.join(args)} failed (exit {proc.returncode}); see {log}")


def _start_airflow(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start an Airflow command in the background (its output appended to ``log``)."""
    with log.open("a") as handle:
        handle.write(f"\n$ airflow {' '.join(args)}  (in the background)\n")
        handle.flush()
        return subprocess.Popen(_airflow_command(args), env=env, stdout=handle, stderr=subprocess.STDOUT)  # noqa: S603


def _finish(process: subprocess.Popen[bytes], args: list[str], log: Path) -> None:
    if process.wait() != 0:
        raise SystemExit(f"airflow {' '.join(args)} failed (exit {process.returncode}); see {log}")


def run_dag(as_of: date, env: dict[str, str], log: Path, intake: bool = True) -> None:
    """One night as production runs it: a real ``o2c_bank_intake`` run landing the statement files that
    arrived (unless ``intake`` is false), then a real ``o2c_nightly`` run (``airflow dags test``) for the
    interval that closes ``as_of``. A simulated night older than a day by the wall clock is a backfill
    to the nightly's own intake task, which then lands nothing: the intake DAG has."""
    if intake:
        run_intake(env, log)
    run_nightly(as_of, env, log)


def run_nightly(as_of: date, env: dict[str, str], log: Path) -> None:
    """One real ``o2c_nightly`` run (``airflow dags test``) for the interval that closes ``as_of``."""
    _, interval_end = interval_for(as_of)
    _airflow(["dags", "test", "o2c_nightly", interval_end.isoformat()], env, log)
    _check_run_succeeded("o2c_nightly", f"for {as_of}", env, log, interval_end)


def run_intake(env: dict[str, str], log: Path) -> None:
    """One real ``o2c_bank_intake`` run (``airflow dags test``, now): lands whatever is in the bank inbox."""
    _airflow(["dags", "test", "o2c_bank_intake"], env, log)
    _check_run_succeeded("o2c_bank_intake", "(latest run)", env, log)


def _metadata_url(env: dict[str, str]) -> str:
    return env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].replace("postgresql+psycopg2://", "postgresql://")


def _check_run_succeeded(
    dag_id: str, what: str, env: dict[str, str], log: Path, interval_end: datetime | None = None
) -> None:
    """The latest run of ``dag_id`` (of the interval ending at ``interval_end``, if given) succeeded, as
    recorded in Airflow's database."""
    import psycopg

    with psycopg.connect(_metadata_url(env)) as conn:
        row = conn.execute(
            "select state from dag_run where dag_id = %s"
            " and (%s::timestamptz is null or data_interval_end = %s) order by id desc limit 1",
            (dag_id, interval_end, interval_end),
        ).fetchone()
    if not row or row[0] != "success":
        raise SystemExit(f"{dag_id} {what} ended {row[0] if row else 'without a run'}; see {log}")


def task_durations(env: dict[str, str], since: datetime) -> list[tuple[str, str, str, float]]:
    """(DAG, run's as-of label, task, seconds) of every task instance that started since ``since``, in order."""
    import psycopg

    with psycopg.connect(_metadata_url(env)) as conn:
        rows = conn.execute(
            "select ti.dag_id, dr.data_interval_end, ti.task_id,"
            " extract(epoch from ti.end_date - ti.start_date)::float8"
            " from task_instance as ti join dag_run as dr on dr.dag_id = ti.dag_id and dr.run_id = ti.run_id"
            " where ti.start_date >= %s and ti.end_date is not null order by ti.start_date",
            (since,),
        ).fetchall()
    out = []
    for dag_id, interval_end, task_id, seconds in rows:
        night = as_of_for(interval_end).isoformat() if dag_id == "o2c_nightly" else "now"
        out.append((str(dag_id), night, str(task_id), float(seconds)))
    return out


def start_mail_sink(settings: Settings) -> tuple[Any, dict[str, str]]:
    """A local SMTP server (127.0.0.1) that keeps what it receives in ``<home>/mailbox``, unless
    ``O2C_SMTP_HOST`` points at a real one."""
    if settings.smtp_host:
        return None, {}
    from o2c.mailsink import MailSink

    sink = MailSink(settings.home / "mailbox")
    sink.start()
    return sink, {"O2C_SMTP_HOST": "127.0.0.1", "O2C_SMTP_PORT": str(sink.port)}


def _inbox_has_files(settings: Settings) -> bool:
    """Whether the banks' files wait in the inbox. The demo runs ``o2c_bank_intake`` only then: a run with
    an empty inbox (after a weekend day, or a second demo run) lands nothing and is skipped, at Airflow's
    fixed cost of half a minute per ``dags test``."""
    inbox = settings.bank_inbox
    return inbox.is_dir() and any(p.is_file() and not p.name.startswith(".") for p in inbox.iterdir())


def last_closed_month(as_of: date) -> date:
    """The first day of the last calendar month that ended on or before ``as_of``."""
    this_month = as_of.replace(day=1)
    if (as_of + timedelta(days=1)).day == 1:
        return this_month
    return (this_month - timedelta(days=1)).replace(day=1)


def _exists(conn: Any, relation: str) -> bool:
    return conn.execute("select to_regclass(%s) is not null", (relation,)).fetchone()[0]  # type: ignore[no-any-return]


def finance_headlines(conn: Any, as_of: date) -> dict[str, Any]:
    """What sales operations and finance look at first, from the published marts, for ``as_of``."""
    month = last_closed_month(as_of)
    out: dict[str, Any] = {"month": month}
    if _exists(conn, "marts.fct_contracts"):
        out["under_lifting"] = conn.execute(
            "select count(*) from marts.fct_contracts where status = 'under_lifting'"
        ).fetchone()[0]
        out["under_lifting_top"] = conn.execute(
            "select c.contract_id, coalesce(cu.customer_name, c.customer_id), c.material_id, c.lifting_gap_qty,"
            " c.open_qty, c.sales_uom"
            " from marts.fct_contracts as c"
            " left join marts.dim_customers as cu on cu.customer_id = c.customer_id and cu.is_current"
            " where c.status = 'under_lifting' order by c.lifting_gap_qty desc, c.contract_id limit 5"
        ).fetchall()
    if _exists(conn, "marts.fct_order_fulfillment"):
        out["otif"] = conn.execute(
            "select count(*), count(*) filter (where is_otif) from marts.fct_order_fulfillment"
            " where promised_date >= %s and promised_date < %s and is_otif is not null",
            (month, (month + timedelta(days=31)).replace(day=1)),
        ).fetchone()
    dso_columns = "d.dso_standard, d.dso_countback, d.best_possible_dso, d.add_days, d.cei_pct, d.ar_usd"
    out["dso_company"] = conn.execute(
        f"select 'company', {dso_columns} from marts.fct_dso_monthly as d"  # noqa: S608 - fixed columns
        " where d.month_start = %s and d.grain = 'company'",
        (month,),
    ).fetchone()
    out["dso_reps"] = conn.execute(
        f"select coalesce(r.rep_name, d.grain_id), {dso_columns} from marts.fct_dso_monthly as d"  # noqa: S608
        " left join marts.dim_sales_reps as r on r.sales_rep_id = d.grain_id"
        " where d.month_start = %s and d.grain = 'sales_rep' order by d.ar_usd desc, d.grain_id limit 3",
        (month,),
    ).fetchall()
    over = (
        " from marts.fct_credit_exposure as e"
        " left join marts.dim_customers as cu on cu.customer_id = e.customer_id and cu.is_current"
        " where e.snapshot_date = %s and e.utilization_pct > 80"
    )
    out["over_limit"] = conn.execute("select count(*)" + over, (as_of,)).fetchone()[0]
    out["over_limit_top"] = conn.execute(
        "select coalesce(cu.customer_name, e.customer_id), e.utilization_pct, e.exposure_usd, e.credit_limit_usd"
        + over
        + " order by e.utilization_pct desc, e.customer_id limit 5",
        (as_of,),
    ).fetchall()
    sums = ", ".join(f"coalesce(sum({c}), 0)" for c in AGING_COLUMNS)
    aging = conn.execute(
        f"select {sums} from marts.fct_ar_aging where snapshot_date = %s",  # noqa: S608 - fixed columns
        (as_of,),
    ).fetchone()
    out["aging"] = dict(zip(AGING_COLUMNS, aging, strict=True))
    return out


def summary(settings: Settings, as_of: date) -> dict[str, Any]:
    import psycopg
    from psycopg import sql

    from o2c.checks.rules import load_rules
    from o2c.simulate.cash_scorecard import cash_application_window, score_cash_application
    from o2c.simulate.scorecard import expected_cases, flagged_exceptions, score
    from o2c.warehouse.db import warehouse_url

    with psycopg.connect(warehouse_url(settings)) as conn:
        marts = [*MARTS, *(m for m in OPTIONAL_MARTS if _exists(conn, f"marts.{m}"))]
        rows = {
            m: conn.execute(sql.SQL("select count(*) from marts.{}").format(sql.Identifier(m))).fetchone()[0]  # type: ignore[index]
            for m in marts
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
        if _exists(conn, "ops.type_contract_rejects"):
            rejects = conn.execute("select count(*) from ops.type_contract_rejects").fetchone()[0]  # type: ignore[index]
        flagged = flagged_exceptions(conn, as_of)
        headlines = finance_headlines(conn, as_of)
        cash = score_cash_application(
            conn, settings.sim_dir / "ground_truth", as_of, cash_application_window(settings.dbt_project_dir)
        )
        cash_rules = conn.execute(
            "select match_rule, count(*) from marts.fct_cash_applications group by match_rule order by 2 desc"
        ).fetchall()
        unapplied = conn.execute(
            "select count(*), coalesce(sum(unapplied_amount_usd), 0) from marts.fct_unapplied_cash"
        ).fetchone()
    rules = load_rules(settings.expectations_dir)
    # every rule of the catalog, those with no open exception too; then any other rule still in the mart
    per_rule = {rule_id: per_rule.get(rule_id, 0) for rule_id in rules} | per_rule
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
        "headlines": headlines,
        "cash": cash,
        "cash_rules": cash_rules,
        "unapplied": unapplied,
    }


def print_cash(s: dict[str, Any], as_of: date) -> None:
    """The cash application's figures against the simulator's ground truth."""
    c = s["cash"]
    print(f"\ncash application vs the simulator's ground truth (receipts booked in the window up to {as_of})")
    print(
        f"  paid invoices applied automatically: {c.invoices_applied} of {c.paid_invoices}"
        f" = {c.hit_rate * 100:.1f} %"
    )
    print(f"  wrong applications: {c.wrong_applications} of {c.applications} = {c.wrong_rate * 100:.2f} %")
    print(f"  cash amount applied: {c.amount_share * 100:.1f} % of {_num(c.amount_usd, 0)} USD received")
    print("  applications by rule: " + ", ".join(f"{rule} {count}" for rule, count in s["cash_rules"]))
    count, amount = s["unapplied"]
    print(f"  unapplied cash: {count} receipts, {_num(amount, 0)} USD (marts.fct_unapplied_cash)")


def _num(value: Any, places: int = 1) -> str:
    """A number for the summary ("n/a" for NULL: a ratio with a zero denominator, history exhausted)."""
    if value is None:
        return "n/a"
    return f"{Decimal(value):,.{places}f}"


def print_headlines(h: dict[str, Any], as_of: date) -> None:
    month = h["month"].strftime("%Y-%m")
    print(f"\ncontracts at risk of under-lifting (marts.fct_contracts, as of {as_of})")
    if "under_lifting" not in h:
        print("  not built: marts.fct_contracts does not exist")
    else:
        print(f"  {h['under_lifting']} under-lifting; the largest gaps:")
        for contract_id, customer, material, gap, open_qty, uom in h["under_lifting_top"]:
            print(
                f"  {contract_id:<12} {str(customer)[:32]:<32} {material:<10} gap {_num(gap):>12} "
                f"open {_num(open_qty):>12} {uom or ''}"
            )
    if "otif" not in h:
        print(f"\nOTIF {month}: not built (marts.fct_order_fulfillment does not exist)")
    else:
        lines, otif = h["otif"]
        share = f"{otif / lines * 100:.1f} %" if lines else "n/a (no line promised that month)"
        print(
            f"\nOTIF {month} (lines promised that month, marts.fct_order_fulfillment): {share} of {lines} lines"
        )
    print(f"\nDSO {month} (marts.fct_dso_monthly)")
    print(f"  {'':<24} {'standard':>9} {'countback':>10} {'best':>7} {'ADD':>7} {'CEI %':>7} {'AR USD':>15}")
    if h["dso_company"] is None:
        print(f"  no closed month {month} in the marts yet")
    for name, standard, countback, best, add, cei, ar in [r for r in [h["dso_company"], *h["dso_reps"]] if r]:
        print(
            f"  {str(name)[:24]:<24} {_num(standard):>9} {_num(countback):>10} {_num(best):>7} {_num(add):>7} "
            f"{_num(cei):>7} {_num(ar, 0):>15}"
        )
    print(
        f"\ncustomers over 80 % of their credit limit on {as_of} (marts.fct_credit_exposure): {h['over_limit']}"
    )
    for name, utilization, exposure, limit in h["over_limit_top"]:
        print(
            f"  {str(name)[:32]:<32} {_num(utilization):>7} %   exposure {_num(exposure, 0):>13}"
            f"   limit {_num(limit, 0):>13} USD"
        )
    print(f"\nreceivables aging on {as_of}, all customers (marts.fct_ar_aging, USD)")
    for column, amount in h["aging"].items():
        print(f"  {column:<20} {_num(amount, 2):>18}")


def print_summary(
    settings: Settings,
    as_of: date,
    elapsed: float,
    mailbox: Path | None,
    steps: Steps | None = None,
    tasks: list[tuple[str, str, str, float]] | None = None,
) -> None:
    from o2c.warehouse.db import redact, warehouse_url

    summarized = time.monotonic()
    s = summary(settings, as_of)
    if steps is not None:
        steps.durations.append(("summary (marts, scorecard, staging vs ERP)", time.monotonic() - summarized))
    print()
    print(f"o2c demo — as of {as_of} (Asia/Shanghai), {elapsed:.0f} s")
    print("\nrows per mart")
    for mart, count in s["rows"].items():
        print(f"  marts.{mart:<26} {count:>10,}")
    missing = [m for m in OPTIONAL_MARTS if m not in s["rows"]]
    for mart in missing:
        print(f"  marts.{mart:<26} not built")
    print("\nopen exceptions per rule")
    for rule_id, count in s["per_rule"].items():
        print(f"  {rule_id:<20} {count:>6}")
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
    print(f"  {'rule':<20} {'expected':>8} {'flagged':>8} {'precision':>10} {'recall':>8}")
    for r in s["scores"]:
        print(f"  {r.rule_id:<20} {r.expected:>8} {r.flagged:>8} {r.precision:>10.3f} {r.recall:>8.3f}")
    tp = sum(r.true_positives for r in s["scores"])
    flagged = sum(r.flagged for r in s["scores"])
    expected = sum(r.expected for r in s["scores"])
    print(
        f"  {'all':<20} {expected:>8} {flagged:>8} {tp / max(flagged, 1):>10.3f} {tp / max(expected, 1):>8.3f}"
    )
    print_cash(s, as_of)
    print_headlines(s["headlines"], as_of)
    if steps is not None:
        print_times(steps, tasks or [])
    url = warehouse_url(settings)
    print("\nwhere to look next")
    print(
        f"  warehouse:   {redact(url)}   (full URL with password: `o2c warehouse url`; BI tools query the marts schema)"
    )
    port = os.environ.get("O2C_AIRFLOW_PORT", "8080")
    print(f"  airflow:     make airflow   → http://127.0.0.1:{port} (admin password printed at start)")
    print(f"  alert outbox: {settings.outbox_dir}")
    if mailbox:
        print(f"  SMTP mailbox: {mailbox}   (the demo's local SMTP server)")
    print(f"  quarantine:  {settings.quarantine_dir}")
    print("  stop:        make stop")


def print_times(steps: Steps, tasks: list[tuple[str, str, str, float]]) -> None:
    print("\ntime per step (wall clock)")
    for label, seconds in steps.durations:
        print(f"  {label:<58} {seconds:>6.0f} s")
    if tasks:
        print("Airflow tasks of this run")
        for dag_id, night, task_id, seconds in tasks:
            print(f"  {dag_id + '.' + task_id:<40} {night:<12} {seconds:>6.0f} s")


def run_demo(
    days: int | None = None,
    nightly: int = DEMO_NIGHTS,
    seed: int = 42,
    lines_per_day: float = DEMO_LINES_PER_DAY,
) -> int:
    """Simulate ``days`` days of business up to :data:`DEMO_END` (default: from :data:`DEMO_START`), load
    the history in one night, then ``nightly`` more nights one by one, and print the summary."""
    from o2c.orchestration import airflow_env
    from o2c.pipeline import prepare
    from o2c.simulate.driver import Simulation

    days = days or DEMO_DAYS
    if days <= nightly:
        raise SystemExit(f"--days ({days}) must be more than --nightly ({nightly})")
    start = DEMO_END - timedelta(days=days - 1)
    started = time.monotonic()
    started_at = datetime.now(UTC)
    steps = Steps()
    settings = load_settings()
    with steps.step("start the warehouse"):
        _say(f"warehouse: {prepare(settings)}")
    sink, smtp_env = start_mail_sink(settings)
    os.environ.update(smtp_env)
    settings = load_settings()
    env = airflow_env(settings, {**os.environ, "O2C_TASK_RETRIES": os.environ.get("O2C_TASK_RETRIES", "0")})
    log = settings.home / "demo-airflow.log"
    migrate = ["db", "migrate"]
    migrating = _start_airflow(migrate, env, log)  # Airflow's metadata database, while the world is built
    sim = Simulation(settings)
    history_end = DEMO_END - timedelta(days=nightly)
    stop_api: Callable[[], None] | None = None
    try:
        with steps.step(f"simulate {days} days of business (world, ground truth)"):
            cfg = sim.init(seed=seed, start=start, days=days, lines_per_day=lines_per_day)
            _say(
                f"simulated business: {cfg.start} .. {cfg.end} (seed {seed}); ground truth in "
                f"{sim.dir / 'ground_truth'}"
            )
        with steps.step("prepare Airflow's metadata database (overlapped)"):
            _finish(migrating, migrate, log)
        with steps.step(f"close the history up to {history_end} (ERP, bank inbox)"):
            sim.advance(history_end)
        stop_api = sim.serve_api_in_thread()
        if _inbox_has_files(settings):
            _say(f"o2c_bank_intake for the statement files of {cfg.start} .. {history_end}")
            with steps.step("o2c_bank_intake: the history's statement files"):
                run_intake(env, log)
        _say(f"o2c_nightly for the history up to {history_end} (first load from an empty watermark)")
        with steps.step(f"o2c_nightly {history_end}: first load of the history"):
            run_nightly(history_end, env, log)
        for offset in range(1, nightly + 1):
            day = history_end + timedelta(days=offset)
            with steps.step(f"night {day}: close the day, run the DAGs"):
                sim.advance(day)
                run_dag(day, env, log, intake=_inbox_has_files(settings))
    finally:
        if stop_api is not None:
            stop_api()
        if migrating.poll() is None:
            migrating.terminate()
        if sink is not None:
            sink.stop()
    tasks = task_durations(env, started_at)
    print_summary(settings, cfg.end, time.monotonic() - started, sink.folder if sink else None, steps, tasks)
    return 0
