"""Time travel, as a property: over random histories of source changes and run orders, staging as of
every night equals the source's state at that night's cutoff, re-runs reproduce what a night first
showed, and nightly increments equal a first load of the same data.

Hypothesis generates, for a few order items (VBAP, deletions through change documents) and customer FI
items (BSID/BSAD: posted, cleared, clearing reset; deletions found by key reconciliation):

- changes at random moments of each night, some exactly at the cutoff, some committed late (a long
  transaction that commits after the cutoff with an older change time, within the lookback);
- a run plan: nights run in order 30 s after their cutoff (no change falls in between: a version
  replaced between a night's cutoff and its extract is lost to any current-state extractor), except
  skipped nights that are first run late (after
  the source moved on by days), plus re-runs of older nights at random later moments.

The truth is computed here, in Python, from the generated events (never from the pipeline's SQL). The
pipeline runs for real: ``pipeline.extract_erp`` against a PostgreSQL source that holds, before each run,
exactly what was committed by that run's wall time; staging is the project's dbt SQL (compiled once,
evaluated per night).

Properties, checked after all runs:

1. every night that ran in order at its cutoff, and whose next night did too (that run sees its late
   commits): staging as of it equals the truth at its cutoff, row for row (both set differences empty);
2. every night, including those first run late: staging as of it now equals what it showed right after
   its first run, except rows whose change committed late after that run (those equal the truth);
3. a first load of the final source into an empty warehouse gives the same staging for the last night.

Limits, by construction (DECISIONLOG "Extraction and landing"): a late-committed change is the last
change of its row in its night and the next (a version overwritten before any run could see it cannot be
reconstructed by any extractor without change-document values); two changes of one row fall in different
seconds (SAP stamps changes to the second, so two in one second have no order any extractor can see).
"""

from __future__ import annotations

import dataclasses
import os
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from psycopg import sql

from o2c import pipeline
from o2c.business_calendar import BUSINESS_TZ, cutoff_for
from o2c.simulate.erp import ERP_SCHEMA, ensure_erp_schema
from o2c.simulate.timeline import key_widths
from o2c.transform.build import run_dbt
from o2c.warehouse.db import ensure_database, warehouse_url, with_database

pytestmark = pytest.mark.integration

FIRST_NIGHT = date(2026, 3, 2)
NIGHTS = 5
ORDER_ITEMS = ("10000001", "10000002", "10000003")
FI_ITEMS = ("1400000001", "1400000002", "1400000003")
LOOKBACK = 60
EXAMPLES = int(os.environ.get("O2C_TIME_TRAVEL_EXAMPLES", "15"))
PLACEHOLDER_DATE = date(2000, 1, 1)
STATS: dict[str, float] = {"examples": 0, "seconds": 0.0, "runs": 0}


def night_date(n: int) -> date:
    return FIRST_NIGHT + timedelta(days=n - 1)


# -- generated history --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Event:
    kind: str  # set_qty | delete_item | post | clear | reset
    key: str
    changed: datetime
    committed: datetime
    qty: int = 0


@dataclass
class Plan:
    events: list[Event]
    skipped: set[int]
    late_runs: list[tuple[int, int]]
    """(night to run, after the in-order run of this night)"""


@st.composite
def plans(draw: st.DrawFn) -> Plan:
    events: list[Event] = []
    order_state = dict.fromkeys(ORDER_ITEMS, False)
    fi_state: dict[str, str | None] = dict.fromkeys(FI_ITEMS)  # None | open | cleared
    frozen_until: dict[str, int] = {}  # a key whose change committed late stays still until this night
    last_change: dict[str, datetime] = {}
    for night in range(1, NIGHTS + 1):
        start = cutoff_for(night_date(night) - timedelta(days=1))
        # a third of the changes fall in the night's last hour, where late commits and the cutoff are
        offsets = sorted(
            draw(
                st.lists(
                    st.one_of(st.integers(1, 1440), st.integers(1381, 1440), st.just(1440)),
                    min_size=1,
                    max_size=6,
                )
            )
        )
        for offset in offsets:
            changed = start + timedelta(minutes=offset)
            item_kind = draw(st.sampled_from(["order", "fi"]))
            if item_kind == "order":
                key = draw(st.sampled_from(ORDER_ITEMS))
                kinds = ["set_qty", "delete_item"] if order_state[key] else ["set_qty"]
            else:
                key = draw(st.sampled_from(FI_ITEMS))
                kinds = {None: ["post"], "open": ["clear"], "cleared": ["reset"]}[fi_state[key]]
            if frozen_until.get(key, 0) >= night or last_change.get(key) == changed:
                continue  # (two changes of one row in the same second have no order an extractor can see)
            last_change[key] = changed
            kind = draw(st.sampled_from(kinds))
            lag = 0
            if offset > 1440 - 50 and draw(st.booleans()):
                lag = draw(st.integers(10, 50))  # commits after the cutoff, within the lookback
                frozen_until[key] = night + 1
            events.append(
                Event(kind, key, changed, changed + timedelta(minutes=lag), draw(st.integers(1, 999)))
            )
            if kind == "set_qty":
                order_state[key] = True
            elif kind == "delete_item":
                order_state[key] = False
            else:
                fi_state[key] = {"post": "open", "clear": "cleared", "reset": "open"}[kind]
    skipped = set(draw(st.sets(st.integers(2, NIGHTS - 1), max_size=2)))
    late_runs = []
    for night in sorted(skipped):
        late_runs.append((night, draw(st.integers(night + 1, NIGHTS))))
    for _ in range(draw(st.integers(0, 2))):  # re-runs of older nights, at later moments
        after = draw(st.integers(2, NIGHTS))
        late_runs.append((draw(st.integers(1, after - 1)), after))
    return Plan(events, skipped, late_runs)


# -- the truth ------------------------------------------------------------------------------------------
def truth(
    events: list[Event], cutoff: datetime
) -> tuple[set[tuple[str, Decimal]], set[tuple[str, date | None]]]:
    """(order items with quantity, FI items with clearing date) by change time up to ``cutoff``."""
    orders: dict[str, Decimal | None] = {}
    items: dict[str, date | str | None] = {}
    for event in sorted(events, key=lambda e: e.changed):
        if event.changed > cutoff:
            break
        if event.kind == "set_qty":
            orders[event.key] = Decimal(event.qty)
        elif event.kind == "delete_item":
            orders[event.key] = None
        elif event.kind in ("post", "reset"):
            items[event.key] = "open"
        elif event.kind == "clear":
            items[event.key] = clearing_date(event)
    return (
        {(f"{k}-000010", q) for k, q in orders.items() if q is not None},
        {(fi_item_id(k), None if v == "open" else v) for k, v in items.items()},  # type: ignore[misc]
    )


def clearing_date(event: Event) -> date:
    return (event.changed - timedelta(hours=2, seconds=1)).astimezone(BUSINESS_TZ).date()


def fi_item_id(belnr: str) -> str:
    return f"1000-2026-{belnr}-001"


# -- the source ---------------------------------------------------------------------------------------
def vbap_row(key: str, qty: int) -> dict[str, object]:
    return {
        "VBELN": key,
        "POSNR": "000010",
        "MATNR": "CHEM-0001",
        "KWMENG": Decimal(qty),
        "ZMENG": Decimal(0),
        "VRKME": "TO",
        "NETPR": Decimal("10.00"),
        "KPEIN": 1,
        "NETWR": Decimal(qty) * 10,
        "WAERK": "USD",
        "WERKS": "CN01",
        "UEBTO": Decimal(5),
        "UNTTO": Decimal(5),
        "VGBEL": "",
        "VGPOS": "000000",
        "ABGRU": "",
        "LFSTA": "A",
        "ERDAT": "20260301",
    }


def fi_row(belnr: str, cleared: date | None) -> dict[str, object]:
    row: dict[str, object] = {
        "BUKRS": "1000",
        "KUNNR": "0000100001",
        "GJAHR": "2026",
        "BELNR": belnr,
        "BUZEI": "001",
        "BUDAT": "20260301",
        "BLDAT": "20260301",
        "ZFBDT": "20260301",
        "ZBD1T": 30,
        "ZBD1P": Decimal(0),
        "ZBD2T": 0,
        "ZBD3T": 0,
        "REBZG": "",
        "ZTERM": "Z030",
        "SHKZG": "S",
        "WRBTR": Decimal("100.00"),
        "WAERS": "USD",
        "XBLNR": belnr,
        "VBELN": belnr,
    }
    if cleared is not None:
        row.update(AUGDT=cleared.strftime("%Y%m%d"), AUGBL="1500000001")
    return row


def source_rows(events: list[Event], wall: datetime) -> dict[str, list[dict[str, object]]]:
    """Every table's rows as committed by ``wall`` (each with its CHANGED_AT)."""
    vbap: dict[str, dict[str, object]] = {}
    bsid: dict[str, dict[str, object]] = {}
    bsad: dict[str, dict[str, object]] = {}
    cdhdr: list[dict[str, object]] = []
    cdpos: list[dict[str, object]] = []
    for number, event in enumerate(sorted(events, key=lambda e: e.changed)):
        if event.committed > wall:
            continue
        if event.kind == "set_qty":
            vbap[event.key] = {**vbap_row(event.key, event.qty), "CHANGED_AT": event.changed}
        elif event.kind == "delete_item":
            vbap.pop(event.key, None)
            local = event.changed.astimezone(BUSINESS_TZ)
            changenr = f"{number + 1:010d}"
            common = {"OBJECTCLAS": "VERKBELEG", "OBJECTID": event.key, "CHANGENR": changenr}
            cdhdr.append(
                {
                    **common,
                    "USERNAME": "TEST",
                    "UDATE": local.strftime("%Y%m%d"),
                    "UTIME": local.strftime("%H%M%S"),
                    "TCODE": "VA02",
                    "CHANGE_IND": "U",
                    "CHANGED_AT": event.changed,
                }
            )
            tabkey = "100" + "".join(
                v.ljust(w) for v, w in zip((event.key, "000010"), key_widths("VBAP"), strict=True)
            )
            cdpos.append(
                {
                    **common,
                    "TABNAME": "VBAP",
                    "TABKEY": tabkey,
                    "FNAME": "KEY",
                    "CHNGIND": "D",
                    "VALUE_NEW": "",
                    "VALUE_OLD": "",
                    "CHANGED_AT": event.changed,
                }
            )
        elif event.kind in ("post", "reset"):
            bsad.pop(event.key, None)
            bsid[event.key] = {**fi_row(event.key, None), "CHANGED_AT": event.changed}
        elif event.kind == "clear":
            bsid.pop(event.key, None)
            bsad[event.key] = {**fi_row(event.key, clearing_date(event)), "CHANGED_AT": event.changed}
    return {
        "VBAP": list(vbap.values()),
        "BSID": list(bsid.values()),
        "BSAD": list(bsad.values()),
        "CDHDR": cdhdr,
        "CDPOS": cdpos,
    }


def load_source(url: str, events: list[Event], wall: datetime) -> None:
    with psycopg.connect(url) as conn:
        for table, rows in source_rows(events, wall).items():
            target = sql.SQL("{}.{}").format(sql.Identifier(ERP_SCHEMA), sql.Identifier(table))
            conn.execute(sql.SQL("truncate {}").format(target))
            for row in rows:
                names = ["MANDT", *row]
                conn.execute(
                    sql.SQL("insert into {} ({}) values ({})").format(
                        target,
                        sql.SQL(", ").join(map(sql.Identifier, names)),
                        sql.SQL(", ").join(sql.Placeholder() * len(names)),
                    ),
                    ["100", *row.values()],
                )


# -- the warehouse ------------------------------------------------------------------------------------
class Staging:
    """The project's staging SQL for these models, compiled once and evaluated for any night."""

    def __init__(self, settings, url: str) -> None:
        models = [
            "stg_erp__sales_document_items",
            "stg_erp__open_customer_items",
            "stg_erp__cleared_customer_items",
        ]
        run_dbt(
            ["compile", "--select", " ".join([*models, "int_customer_items"])],
            PLACEHOLDER_DATE,
            url,
            settings,
        )
        compiled = Path(settings.home) / "dbt" / "target" / "compiled" / "o2c" / "models"
        self.sql = {
            name: (compiled / folder / f"{name}.sql").read_text()
            for folder, name in [
                ("staging/erp", "stg_erp__sales_document_items"),
                ("staging/erp", "stg_erp__open_customer_items"),
                ("staging/erp", "stg_erp__cleared_customer_items"),
                ("intermediate/finance", "int_customer_items"),
            ]
        }
        database = url.rsplit("/", 1)[1]
        items = self.sql["int_customer_items"]
        for name in ("stg_erp__open_customer_items", "stg_erp__cleared_customer_items"):
            items = items.replace(f'"{database}"."staging"."{name}"', f"({self.sql[name]}) as {name}")
        self.sql["int_customer_items"] = items
        self.database = database

    def evaluate(self, url: str, night: int) -> tuple[set[tuple[str, Decimal]], set[tuple[str, date | None]]]:
        as_of = night_date(night).isoformat()
        placeholder = f"'{PLACEHOLDER_DATE.isoformat()}'"
        target_db = url.rsplit("/", 1)[1]

        def query(name: str) -> str:
            return (
                self.sql[name]
                .replace(placeholder, f"'{as_of}'")
                .replace(f'"{self.database}".', f'"{target_db}".')
            )

        with psycopg.connect(url, autocommit=True) as conn:
            orders = conn.execute(
                f"select sales_item_id, order_qty from ({query('stg_erp__sales_document_items')}) as q"
            ).fetchall()
            items = conn.execute(
                f"select customer_item_id, clearing_date from ({query('int_customer_items')}) as q"
            ).fetchall()
        return {(k, Decimal(q)) for k, q in orders}, {(k, d) for k, d in items}


def reset_warehouse(url: str) -> None:
    from o2c.warehouse.bootstrap import ensure_schema

    with psycopg.connect(url, autocommit=True) as conn:
        for schema in ("raw_erp", "ops"):
            conn.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(schema)))
    with psycopg.connect(url) as conn:
        ensure_schema(conn)


@pytest.fixture(scope="module")
def world(o2c_home):
    server = warehouse_url(o2c_home)
    erp_url, wh_url, fresh_url = (with_database(server, name) for name in ("tt_erp", "tt_wh", "tt_fresh"))
    for url in (erp_url, wh_url, fresh_url):
        ensure_database(url)
    with psycopg.connect(erp_url) as conn:
        ensure_erp_schema(conn)
    reset_warehouse(wh_url)
    settings = dataclasses.replace(
        o2c_home, warehouse_url=wh_url, erp_url=erp_url, erp_lookback_minutes=LOOKBACK
    )
    pipeline.extract_erp(
        *pipeline.interval_for(FIRST_NIGHT), settings
    )  # creates the raw tables to compile against
    staging = Staging(settings, wh_url)
    yield settings, erp_url, wh_url, fresh_url, staging
    print(
        f"\ntime travel: {int(STATS['examples'])} examples, {int(STATS['runs'])} pipeline runs, "
        f"{STATS['seconds']:.1f} s"
    )


TABLES = ("VBAP", "BSID", "BSAD", "CDHDR", "CDPOS")


def extract(settings, night: int) -> None:
    from o2c.sources.erp.extract import extract_erp
    from o2c.sources.erp.tables import BY_NAME

    start, end = pipeline.interval_for(night_date(night))
    extract_erp(settings.warehouse_url, start, end, settings, tuple(BY_NAME[t] for t in TABLES))


@settings(
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=os.environ.get("CI") == "true",
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(plan=plans())
def test_staging_is_exact_for_every_night_under_any_run_order(world, plan: Plan) -> None:
    settings, erp_url, wh_url, fresh_url, staging = world
    started = time.monotonic()
    reset_warehouse(wh_url)
    runs: list[tuple[int, datetime]] = []
    for night in range(1, NIGHTS + 1):
        if night not in plan.skipped:
            runs.append((night, cutoff_for(night_date(night)) + timedelta(seconds=30)))
        for k, (older, after) in enumerate(plan.late_runs):
            if after == night:
                runs.append((older, cutoff_for(night_date(night)) + timedelta(seconds=40 + k)))
    first_seen: dict[int, tuple[datetime, tuple[set[tuple[str, Decimal]], set[tuple[str, date | None]]]]] = {}
    for night, wall in runs:
        load_source(erp_url, plan.events, wall)
        extract(settings, night)
        if night not in first_seen:
            first_seen[night] = (wall, staging.evaluate(wh_url, night))
    in_order = [n for n in range(1, NIGHTS + 1) if n not in plan.skipped]
    # a late commit of night N is first seen by N + 1's run: when that night is skipped, the row may change
    # again before any run sees the late version, and no current-state extractor can recover it
    exact = [n for n in in_order if n == NIGHTS or n + 1 in in_order]
    final_wall = max(wall for _, wall in runs)
    known = [e for e in plan.events if e.committed <= final_wall]  # later commits have not arrived yet
    for night in range(1, NIGHTS + 1):
        now = staging.evaluate(wh_url, night)
        expected = truth(known, cutoff_for(night_date(night)))
        if night in exact:
            # property 1: exact, row for row, both ways
            assert now[0] - expected[0] == set() and expected[0] - now[0] == set(), ("orders", night, plan)
            assert now[1] - expected[1] == set() and expected[1] - now[1] == set(), ("items", night, plan)
        # property 2: what the night first showed, except rows whose change committed late after that run
        wall, first = first_seen[night]
        late = {e.key for e in known if e.changed <= cutoff_for(night_date(night)) and e.committed > wall}
        for now_rows, first_rows, truth_rows in zip(now, first, expected, strict=True):
            stable_now = {r for r in now_rows if _key(r[0]) not in late}
            stable_first = {r for r in first_rows if _key(r[0]) not in late}
            assert stable_now == stable_first, ("a re-run changed what the night showed", night, plan)
            late_now = {r for r in now_rows if _key(r[0]) in late}
            late_truth = {r for r in truth_rows if _key(r[0]) in late}
            if night in exact:
                assert late_now == late_truth, ("a late commit is not reflected", night, plan)
    # property 3: nightly increments equal a first load of the same data
    reset_warehouse(fresh_url)
    fresh = dataclasses.replace(settings, warehouse_url=fresh_url)
    load_source(erp_url, plan.events, final_wall)
    extract(fresh, NIGHTS)
    assert staging.evaluate(fresh_url, NIGHTS) == staging.evaluate(wh_url, NIGHTS)
    STATS["examples"] += 1
    STATS["runs"] += len(runs) + 1
    STATS["seconds"] += time.monotonic() - started


def _key(row_key: str) -> str:
    """The generated key (VBELN or BELNR) inside a staging key."""
    parts = row_key.split("-")
    return parts[2] if row_key.startswith("1000-") else parts[0]


def test_the_truth_is_computed_independently() -> None:
    """A fixed history checked by hand: the truth model itself must be right."""
    n1 = cutoff_for(night_date(1))
    events = [
        Event("set_qty", "10000001", n1 - timedelta(hours=5), n1 - timedelta(hours=5), 5),
        Event("post", "1400000001", n1 - timedelta(hours=4), n1 - timedelta(hours=4)),
        Event("clear", "1400000001", n1 + timedelta(hours=3), n1 + timedelta(hours=3)),
        Event("delete_item", "10000001", n1 + timedelta(hours=4), n1 + timedelta(hours=4)),
    ]
    assert truth(events, n1) == ({("10000001-000010", Decimal(5))}, {("1000-2026-1400000001-001", None)})
    assert truth(events, n1 + timedelta(days=1)) == (set(), {("1000-2026-1400000001-001", night_date(2))})
    assert datetime(2026, 3, 3, 18, tzinfo=UTC) == cutoff_for(night_date(2))
