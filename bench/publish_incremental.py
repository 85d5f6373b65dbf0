"""Cost of publishing the marts (write-audit-publish) against the size of an incremental mart's history.

A stand-in for ``fct_receivables_daily`` (same columns, unique index on ``snapshot_date, customer_item_id``)
holds ``--items`` open items per day over enough days for each ``--rows`` size. Each night replaces its last
4 dates in the shadow copy (what dbt's incremental run does, through the tracking triggers), then
``o2c.transform.publish.publish`` applies them to the live table. Reported per size (median of ``--nights``):

- ``publish_s``: the publish transaction (locks, apply the touched keys, bookkeeping);
- ``readers_blocked_s``: the part of it that holds the live marts locked (readers of the marts wait);
- ``restore_s``: putting back a failed night's keys in the shadow (the next build's first step);
- ``night_tracked_s`` / ``night_untracked_s``: the night's delete + insert in the shadow with and without the
  tracking triggers (their overhead);
- ``table_swap_s``: publishing a table mart of the same size (catalog only);
- references: ``copy_table_s`` (copying the whole table with its index, what a per-night copy of the live table
  would cost) and ``one_time_first_publish_s`` + ``one_time_reseed_s`` (the one-time swap and clone of a new pair).

Uses its own database (``o2c_bench_publish``) on the warehouse (embedded unless O2C_WAREHOUSE_URL is set).
Writes bench/results/publish_incremental.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import psycopg

from o2c.config import PROJECT_ROOT, load_settings
from o2c.transform.publish import Mart, prepare_shadows, publish
from o2c.warehouse.bootstrap import ensure_schema
from o2c.warehouse.db import ensure_database, start_warehouse, with_database

MART = Mart(
    "fct_receivables_daily",
    "marts",
    "marts_next",
    incremental=True,
    unique_key=("snapshot_date", "customer_item_id"),
)
TABLE = Mart("fct_receivables_daily_table", "marts", "marts_next")
LOOKBACK_DAYS = 4
FIRST_DAY = date(2020, 1, 1)

ROWS_SQL = """
select
    day as snapshot_date,
    '1000-' || (2020 + item / 100000) || '-' || lpad((item %% 100000)::text, 10, '0') || '-001' as customer_item_id,
    '9' || lpad(item::text, 7, '0') as invoice_id,
    'C' || lpad((item %% 400)::text, 6, '0') as customer_id,
    'R' || (item %% 12) as owner_rep_id,
    (array['CNY', 'USD', 'EUR', 'SGD'])[1 + item %% 4] as currency_code,
    round((1000 + (item * 37) %% 90000)::numeric + {night} * 0.01, 2) as open_amount,
    round((150 + (item * 37) %% 13000)::numeric, 2) as open_amount_usd,
    round((1000 + (item * 37) %% 90000)::numeric, 2) as open_amount_cny,
    day - (item %% 120) as posting_date,
    day - (item %% 120) + 60 as net_due_date,
    greatest((item %% 120) - 60, 0) as days_past_due,
    (item %% 120) > 60 as is_overdue,
    'not_due' as aging_bucket
from generate_series(cast(%(first)s as date), cast(%(last)s as date), interval '1 day') as days (day_ts)
cross join lateral (select cast(day_ts as date) as day) as d
cross join lateral generate_series(
    (day - cast(%(epoch)s as date)) * %(churn)s, (day - cast(%(epoch)s as date)) * %(churn)s + %(items)s - 1
) as item
"""


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def rows_between(first: date, last: date, items: int, night: int) -> tuple[str, dict[str, object]]:
    params = {"first": first, "last": last, "epoch": FIRST_DAY, "items": items, "churn": items // 30}
    return ROWS_SQL.replace("{night}", str(night)), params


def night_in_shadow(conn: psycopg.Connection, as_of: date, items: int, night: int) -> None:
    """dbt's incremental run: replace the last LOOKBACK_DAYS dates of the shadow copy."""
    first = date.fromordinal(as_of.toordinal() - LOOKBACK_DAYS + 1)
    query, params = rows_between(first, as_of, items, night)
    with conn.transaction():
        conn.execute("create temp table fresh on commit drop as " + query, params)  # type: ignore[arg-type]
        conn.execute(
            "delete from marts_next.fct_receivables_daily where snapshot_date between %s and %s",
            (first, as_of),
        )
        conn.execute("insert into marts_next.fct_receivables_daily select * from fresh")


def measure(url: str, rows: int, items: int, nights: int) -> dict[str, object]:
    days = rows // items
    last = date.fromordinal(FIRST_DAY.toordinal() + days - 1)
    with psycopg.connect(url, autocommit=True) as conn:
        for schema in ("marts", "marts_next", "ops"):
            conn.execute(f"drop schema if exists {schema} cascade")
        ensure_schema(conn)
        conn.execute("create schema marts_next")
        query, params = rows_between(FIRST_DAY, last, items, 0)

        def full_build() -> None:
            conn.execute("create table marts_next.fct_receivables_daily as " + query, params)  # type: ignore[arg-type]
            conn.execute(
                "create unique index on marts_next.fct_receivables_daily (snapshot_date, customer_item_id)"
            )
            conn.execute("analyze marts_next.fct_receivables_daily")

        def copy_live() -> None:
            conn.execute("create table public.copy_of_live as select * from marts.fct_receivables_daily")
            conn.execute("create unique index on public.copy_of_live (snapshot_date, customer_item_id)")

        build_s = timed(full_build)
        started = time.perf_counter()
        first = publish(conn, [MART], last)  # moves the shadow in, then clones it back into the shadow
        reseed_s = time.perf_counter() - started - first.transaction_s
        size = conn.execute("select pg_total_relation_size('marts.fct_receivables_daily')").fetchone()[0]
        copy_s = timed(copy_live)
        conn.execute("drop table public.copy_of_live")
        publish_s, blocked_s, applied, total_s, restore_s, tracked_s = [], [], [], [], [], []
        plan: list[tuple[str]] = []
        as_of = last
        for night in range(1, nights + 1):
            as_of = date.fromordinal(as_of.toordinal() + 1)
            prepare_shadows(conn)
            # a failed night first: its keys are restored from the live table by the next build
            night_in_shadow(conn, as_of, items, -night)
            restore_s.append(timed(lambda: prepare_shadows(conn)))
            tracked_s.append(timed(lambda a=as_of, n=night: night_in_shadow(conn, a, items, n)))  # type: ignore[misc]
            if night == nights:  # the plan publish's delete gets (publish analyzes the keys first, as here)
                conn.execute("analyze marts_next.fct_receivables_daily__touched")
                plan = conn.execute(
                    "explain delete from marts.fct_receivables_daily where (snapshot_date, customer_item_id) in "
                    "(select snapshot_date, customer_item_id from marts_next.fct_receivables_daily__touched)"
                ).fetchall()
            started = time.perf_counter()
            result = publish(conn, [MART], as_of)
            total_s.append(time.perf_counter() - started)
            publish_s.append(result.transaction_s)
            blocked_s.append(result.readers_blocked_s)
            applied.append(result.applied[MART.live])
        live = conn.execute("select count(*) from marts.fct_receivables_daily").fetchone()[0]
        check = conn.execute(
            "select (select sum(hashtextextended(t::text, 0)) from marts.fct_receivables_daily as t) = "
            "(select sum(hashtextextended(t::text, 0)) from marts_next.fct_receivables_daily as t)"
        ).fetchone()[0]
        # the same night without tracking triggers, on a plain copy of the shadow table
        conn.execute(
            "create table marts_next.untracked (like marts_next.fct_receivables_daily including all)"
        )
        conn.execute("insert into marts_next.untracked select * from marts_next.fct_receivables_daily")
        conn.execute("analyze marts_next.untracked")
        untracked_s = []
        for night in range(1, nights + 1):
            first_day = date.fromordinal(as_of.toordinal() - LOOKBACK_DAYS + 1)
            q, p = rows_between(first_day, as_of, items, 100 + night)

            def plain(q: str = q, p: dict[str, object] = p, first_day: date = first_day) -> None:
                with conn.transaction():
                    conn.execute("create temp table fresh on commit drop as " + q, p)  # type: ignore[arg-type]
                    conn.execute(
                        "delete from marts_next.untracked where snapshot_date between %s and %s",
                        (first_day, as_of),
                    )
                    conn.execute("insert into marts_next.untracked select * from fresh")

            untracked_s.append(timed(plain))
        # a table mart of the same size: published by swapping it in (catalog only)
        conn.execute("alter table marts_next.untracked rename to fct_receivables_daily_table")
        table_first = publish(conn, [TABLE], as_of)
        conn.execute("drop view marts_next.fct_receivables_daily_table")  # the stub left for the next build
        conn.execute(
            "create table marts_next.fct_receivables_daily_table as select * from marts.fct_receivables_daily_table"
        )
        table_swap = publish(conn, [TABLE], as_of)
    return {
        "rows": live,
        "days": days,
        "items_per_day": items,
        "live_table_mb": round(size / 2**20),
        "touched_keys_per_night": statistics.median(applied),
        "publish_s_median": round(statistics.median(publish_s), 4),
        "publish_s": [round(x, 4) for x in publish_s],
        "readers_blocked_s_median": round(statistics.median(blocked_s), 4),
        "readers_blocked_s": [round(x, 4) for x in blocked_s],
        "publish_call_s_median": round(statistics.median(total_s), 4),
        "restore_failed_night_s_median": round(statistics.median(restore_s), 4),
        "night_tracked_s_median": round(statistics.median(tracked_s), 4),
        "night_untracked_s_median": round(statistics.median(untracked_s), 4),
        "tracking_overhead_ratio": round(statistics.median(tracked_s) / statistics.median(untracked_s), 2),
        "table_swap_s": round(table_swap.transaction_s, 4),
        "table_swap_readers_blocked_s": round(table_swap.readers_blocked_s, 4),
        "table_first_publish_s": round(table_first.transaction_s, 4),
        "reference_copy_table_s": round(copy_s, 2),
        "reference_build_full_history_s": round(build_s, 2),
        "one_time_first_publish_s": round(first.transaction_s, 4),
        "one_time_reseed_s": round(reseed_s, 2),
        "copy_over_publish_ratio": round(copy_s / statistics.median(publish_s), 1),
        "shadow_equals_live": bool(check),
        "delete_plan": [line for (line,) in plan],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 5_000_000])
    parser.add_argument("--items", type=int, default=4000, help="open items per snapshot date")
    parser.add_argument("--nights", type=int, default=3)
    parser.add_argument(
        "--out", type=Path, default=PROJECT_ROOT / "bench" / "results" / "publish_incremental.json"
    )
    args = parser.parse_args()
    settings = load_settings()
    url = with_database(start_warehouse(settings), "o2c_bench_publish")
    ensure_database(url)
    sizes = [measure(url, rows, args.items, args.nights) for rows in args.rows]
    result = {
        "cpu_count": os.cpu_count(),
        "lookback_days": LOOKBACK_DAYS,
        "nights": args.nights,
        "sizes": sizes,
        "publish_growth_ratio_largest_over_smallest": round(
            sizes[-1]["publish_s_median"] / sizes[0]["publish_s_median"],  # type: ignore[operator]
            2,
        ),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
