"""The ``o2c`` command.

o2c warehouse start|stop|status|url      the embedded PostgreSQL (or the external O2C_WAREHOUSE_URL)
o2c ingest bank FILE...                  land MT940/MT942, camt.052/053/054 files; JSON result per file
o2c bank quarantine list|retry FILE      bank files held in quarantine and why; try one again after a fix
o2c simulate init|advance|serve-logistics|start-api|stop-api
o2c run --date YYYY-MM-DD                every pipeline step for one business date, without Airflow
o2c demo                                 the whole story on the embedded warehouse
o2c airflow ARGS...                      Airflow with o2c's environment (metadata DB, DAG folder)
o2c source accept-schema SOURCE ENTITY   after a schema-drift stop: record the table's new layout
o2c bi grant|revoke|list [NAME]          read-only BI roles on the marts (URL printed once, RLS by region)
o2c docs [--serve] [--port N]            the dbt docs site of the marts, served on 127.0.0.1
o2c stop                                 stop the simulator's API and the embedded warehouse
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from datetime import date
from pathlib import Path

from o2c.config import load_settings


def _print(payload: object) -> None:
    print(json.dumps(payload, indent=2, ensure_ascii=False, default=str))


def cmd_warehouse(args: argparse.Namespace) -> int:
    from o2c.warehouse.db import redact
    from o2c.warehouse.embedded import EmbeddedWarehouse

    s = load_settings()
    if s.warehouse_url:
        print(
            f"using the external warehouse {redact(s.warehouse_url)} (O2C_WAREHOUSE_URL); nothing to {args.action}"
        )
        return 0
    server = EmbeddedWarehouse(s.home, s.warehouse_port)
    if args.action == "start":
        from o2c.warehouse.db import start_warehouse

        print(start_warehouse(s))
    elif args.action == "stop":
        print("stopped" if server.stop() else "not running")
    elif args.action == "status":
        running = server.is_running()
        print(
            f"{'running' if running else 'stopped'}: {redact(server.url()) if running else s.home / 'warehouse'}"
        )
        return 0 if running else 3
    elif args.action == "url":
        print(server.url() if server.is_running() else server.ensure_running())
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    from o2c.sources.bank.ingest import BankIngest
    from o2c.warehouse.db import start_warehouse

    settings = load_settings()
    results = BankIngest(start_warehouse(settings), settings).ingest([Path(p) for p in args.files])
    _print({"files": [r.as_json() for r in results]})
    return 1 if any(r.status == "quarantined" for r in results) else 0


def cmd_bank(args: argparse.Namespace) -> int:
    from o2c.sources.bank.ingest import BankIngest
    from o2c.warehouse.db import start_warehouse

    settings = load_settings()
    ingest = BankIngest(start_warehouse(settings), settings)
    if args.action == "list":
        held = ingest.quarantined()
        _print({"quarantined": held, "count": len(held)})
        return 0
    if not args.file:
        print("o2c bank quarantine retry: name the file (its name, path or SHA-256 prefix)", file=sys.stderr)
        return 2
    try:
        result = ingest.retry(args.file)
    except FileNotFoundError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    _print(result.as_json())
    return 1 if result.status == "quarantined" else 0


def cmd_simulate(args: argparse.Namespace) -> int:
    from o2c.simulate.driver import Simulation
    from o2c.warehouse.db import start_warehouse

    settings = load_settings()
    if args.action != "serve-logistics":
        start_warehouse(settings)
    sim = Simulation(settings)
    if args.action == "init":
        cfg = sim.init(
            seed=args.seed,
            start=date.fromisoformat(args.start) if args.start else None,
            days=args.days,
            customers=args.customers,
        )
        _print(
            {
                "seed": cfg.seed,
                "start": cfg.start,
                "end": cfg.end,
                "ground_truth": str(sim.dir / "ground_truth"),
            }
        )
    elif args.action == "advance":
        _print(sim.advance(date.fromisoformat(args.date)))
    elif args.action == "serve-logistics":
        sim.serve_api()
    elif args.action == "start-api":
        sim.start_api()
        print(load_settings().logistics_api_url)
    elif args.action == "stop-api":
        print("stopped" if sim.stop_api() else "not running")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from o2c.pipeline import run_all

    _print(run_all(date.fromisoformat(args.date)))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from o2c.demo import DEMO_LINES_PER_DAY, DEMO_NIGHTS, run_demo

    return run_demo(
        days=args.days,
        nightly=DEMO_NIGHTS if args.nightly is None else args.nightly,
        seed=args.seed,
        lines_per_day=args.lines_per_day or DEMO_LINES_PER_DAY,
    )


def cmd_airflow(args: argparse.Namespace) -> int:
    from o2c.orchestration import airflow_env
    from o2c.warehouse.db import start_warehouse

    settings = load_settings()
    start_warehouse(settings)
    env = airflow_env(settings)
    airflow = Path(sys.executable).with_name("airflow")
    os.execve(str(airflow), [str(airflow), *args.rest], env)  # noqa: S606
    return 0  # pragma: no cover


def cmd_lint_sql(args: argparse.Namespace) -> int:
    """sqlfluff with the dbt templater needs a live warehouse to compile against: give it ours."""
    from o2c.transform.build import dbt_env
    from o2c.warehouse.db import start_warehouse

    s = load_settings()
    env = {**dbt_env(start_warehouse(s), s), "O2C_DBT_LINT": "1"}
    sqlfluff = Path(sys.executable).with_name("sqlfluff")
    project = s.dbt_project_dir
    targets = args.paths or [str(project / "models"), str(project / "tests"), str(project / "macros")]
    os.chdir(project.parent)
    os.execve(str(sqlfluff), [str(sqlfluff), args.action, *targets], env)  # noqa: S606
    return 0  # pragma: no cover


def cmd_source(args: argparse.Namespace) -> int:
    """``o2c source accept-schema SOURCE ENTITY``: record a source table's new layout after a drift stop."""
    import psycopg

    from o2c.loading.land import accept_source_schema
    from o2c.warehouse.db import start_warehouse

    with psycopg.connect(start_warehouse(load_settings())) as conn:
        forgotten = accept_source_schema(conn, args.source, args.entity.upper())
    print(
        f"{args.source} {args.entity.upper()}: {forgotten} recorded columns forgotten; "
        "the next load records the current layout"
    )
    return 0


def cmd_bi(args: argparse.Namespace) -> int:
    """``o2c bi grant|revoke|list``: read-only BI roles on the marts (``o2c.bi.roles``)."""
    from o2c.bi import roles
    from o2c.warehouse.db import start_warehouse

    url = start_warehouse(load_settings())
    try:
        if args.action == "grant":
            if not args.name:
                raise roles.BiAccessError("o2c bi grant NAME: the role's name is missing")
            _print(roles.grant(url, args.name, args.region, rotate_password=args.rotate_password).as_json())
        elif args.action == "revoke":
            if not args.name:
                raise roles.BiAccessError("o2c bi revoke NAME: the role's name is missing")
            _print(roles.revoke(url, args.name))
        else:
            _print(
                {
                    "roles": [role.as_json() for role in roles.list_roles(url)],
                    "region_filtered_marts": roles.region_filtered_marts(url),
                }
            )
    except roles.BiAccessError as exc:
        print(f"o2c bi {args.action}: {exc}", file=sys.stderr)
        return 2
    return 0


def cmd_docs(args: argparse.Namespace) -> int:
    """``o2c docs [--serve]``: the dbt docs site of the marts, served on 127.0.0.1 (``o2c.bi.docs``)."""
    from o2c.bi import docs
    from o2c.warehouse.db import start_warehouse

    settings = load_settings()
    url = start_warehouse(settings)
    try:
        site = docs.generate(url, settings)
    except docs.DocsError as exc:
        print(f"o2c docs: {exc}", file=sys.stderr)
        return 1
    if not args.serve:
        print(site)
        return 0
    print(f"dbt docs of the marts: http://{docs.DOCS_HOST}:{args.port}  (Ctrl-C stops)", flush=True)
    docs.serve(url, settings, args.port)
    return 0  # pragma: no cover


def cmd_stop(args: argparse.Namespace) -> int:
    from o2c.simulate.driver import Simulation
    from o2c.warehouse.embedded import EmbeddedWarehouse

    s = load_settings()
    Simulation(s).stop_api()
    if not s.warehouse_url:
        print(
            "warehouse stopped"
            if EmbeddedWarehouse(s.home, s.warehouse_port).stop()
            else "warehouse not running"
        )
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="o2c", description="order-to-cash data platform")
    sub = p.add_subparsers(dest="command", required=True)

    w = sub.add_parser("warehouse", help="the embedded warehouse")
    w.add_argument("action", choices=["start", "stop", "status", "url"])
    w.set_defaults(func=cmd_warehouse)

    i = sub.add_parser("ingest", help="land source files")
    i.add_argument("kind", choices=["bank"])
    i.add_argument("files", nargs="+")
    i.set_defaults(func=cmd_ingest)

    bk = sub.add_parser(
        "bank",
        help="bank files: the quarantine",
        description="quarantine list: the bank files held and why (and which later file delivered their "
        "statements); quarantine retry FILE: load a quarantined file again after a fix (name, path or SHA-256 "
        "prefix). A file that loads leaves the quarantine.",
    )
    bk.add_argument("area", choices=["quarantine"])
    bk.add_argument("action", choices=["list", "retry"])
    bk.add_argument("file", nargs="?")
    bk.set_defaults(func=cmd_bank)

    s = sub.add_parser("simulate", help="the source simulator")
    s.add_argument("action", choices=["init", "advance", "serve-logistics", "start-api", "stop-api"])
    s.add_argument("--seed", type=int, default=42)
    s.add_argument("--start", help="first simulated business date (YYYY-MM-DD)")
    s.add_argument("--days", type=int, default=120)
    s.add_argument("--customers", type=int, default=120)
    s.add_argument("--date", help="business date to close (advance)")
    s.set_defaults(func=cmd_simulate)

    r = sub.add_parser("run", help="run every pipeline step for one business date, without Airflow")
    r.add_argument("--date", required=True)
    r.set_defaults(func=cmd_run)

    d = sub.add_parser("demo", help="simulate, load, transform, check and alert end to end")
    d.add_argument(
        "--days",
        type=int,
        default=None,
        help="days of business up to 2026-09-28 (default: from 2023-09-01, 36 months of history)",
    )
    d.add_argument(
        "--nightly", type=int, default=None, help="nights run one by one after the first load (default 1)"
    )
    d.add_argument("--seed", type=int, default=42)
    d.add_argument(
        "--lines-per-day", type=float, default=None, help="order lines a day (default 30; the simulator's 46)"
    )
    d.set_defaults(func=cmd_demo)

    a = sub.add_parser("airflow", help="run Airflow with o2c's environment")
    a.add_argument("rest", nargs=argparse.REMAINDER)
    a.set_defaults(func=cmd_airflow)

    ls = sub.add_parser("lint-sql", help="sqlfluff over the dbt project, compiled against the warehouse")
    ls.add_argument("action", nargs="?", default="lint", choices=["lint", "fix"])
    ls.add_argument("paths", nargs="*")
    ls.set_defaults(func=cmd_lint_sql)

    so = sub.add_parser("source", help="source bookkeeping (schema drift)")
    so.add_argument("action", choices=["accept-schema"])
    so.add_argument("source", help="e.g. erp")
    so.add_argument("entity", help="e.g. VBAP")
    so.set_defaults(func=cmd_source)

    b = sub.add_parser(
        "bi",
        help="read-only BI roles on the marts",
        description="grant: create a LOGIN role that reads schema marts only and print its connection URL "
        "(the password is shown once and stored nowhere). revoke: drop it. list: roles and regions.",
    )
    b.add_argument("action", choices=["grant", "revoke", "list"])
    b.add_argument("name", nargs="?", help="the role's name: lowercase letters, digits and _")
    b.add_argument(
        "--region",
        action="append",
        help="grant: the role sees only these regions' rows of every mart with a region column (repeatable; "
        "default: every row)",
    )
    b.add_argument(
        "--rotate-password",
        action="store_true",
        help="grant: give an existing BI role a new password (keeps its regions unless --region is given)",
    )
    b.set_defaults(func=cmd_bi)

    dc = sub.add_parser("docs", help="generate the dbt docs site of the marts (--serve: on 127.0.0.1)")
    dc.add_argument("--serve", action="store_true", help="then serve it on 127.0.0.1 until Ctrl-C")
    dc.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("O2C_DOCS_PORT") or 8081),
        help="the port to serve on (default: O2C_DOCS_PORT, else 8081)",
    )
    dc.set_defaults(func=cmd_docs)

    st = sub.add_parser("stop", help="stop the simulator API and the embedded warehouse")
    st.set_defaults(func=cmd_stop)
    return p


def main(argv: list[str] | None = None) -> int:
    warnings.filterwarnings("ignore", category=UserWarning, module="platformdirs")
    args = parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
