"""The publish step of write-audit-publish on a real PostgreSQL, with hand-made shadow builds (what dbt does
in ``marts_next``: tables rebuilt whole, an incremental model's last 3 days deleted and re-inserted).

It checks what BI users rely on: the live marts change only by a publish, all at once, readers holding a
transaction never see a mix, an incremental mart keeps its history and identity and gets only the keys a
build touched, and grants, comments and the views BI tools built on the marts survive."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import date

import psycopg
import pytest

from o2c.config import Settings
from o2c.transform.publish import (
    Mart,
    PublishError,
    exclusive_build,
    prepare_shadows,
    publish,
)
from o2c.warehouse.bootstrap import ensure_schema
from o2c.warehouse.db import ensure_database, warehouse_url, with_database

pytestmark = pytest.mark.integration

TABLE = Mart("dim_things", "marts", "marts_next")
INCREMENTAL = Mart(
    "fct_things_daily", "marts", "marts_next", incremental=True, unique_key=("day", "thing_id")
)
MARTS = [TABLE, INCREMENTAL]
THINGS = 20
AS_OF = date(2026, 5, 20)
BI_ROLE = "o2c_test_bi_reader"


@pytest.fixture
def url(o2c_home: Settings, request: pytest.FixtureRequest) -> str:
    """A fresh database per test on the session's server, with the ops schema."""
    db_url = with_database(warehouse_url(o2c_home), "pub_" + request.node.name.removeprefix("test_")[:40])
    ensure_database(db_url)
    with psycopg.connect(db_url, autocommit=True) as conn:
        for schema in ("marts", "marts_next", "bi", "ops"):
            conn.execute(f"drop schema if exists {schema} cascade")
        ensure_schema(conn)
        conn.execute(
            f"do $$ begin create role {BI_ROLE} nologin; exception when duplicate_object then null; end $$"
        )
    return db_url


@pytest.fixture
def conn(url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(url, autocommit=True) as connection:
        yield connection


def shadow_build(conn: psycopg.Connection, night: int, *, value: int | None = None) -> None:
    """What ``dbt build`` does in the shadow for night ``night`` (day numbers 1..night)."""
    value = night if value is None else value
    conn.execute("create schema if not exists marts_next")
    for kind in ("view", "table"):
        row = conn.execute(
            "select relkind from pg_class where oid = to_regclass('marts_next.dim_things')"
        ).fetchone()
        if row and {"v": "view", "r": "table"}[row[0]] == kind:
            conn.execute(f"drop {kind} marts_next.dim_things")
    conn.execute(
        f"create table marts_next.dim_things as select thing, 'thing ' || thing as label, {value} as night "
        f"from generate_series(1, {THINGS}) as thing"
    )
    conn.execute(f"comment on table marts_next.dim_things is 'Things, built night {night}'")
    conn.execute("comment on column marts_next.dim_things.label is 'What the thing is called'")
    if conn.execute("select to_regclass('marts_next.fct_things_daily')").fetchone()[0] is None:
        conn.execute(
            f"create table marts_next.fct_things_daily as select day, thing as thing_id, {value} as computed_night "
            f"from generate_series(1, {night}) as day, generate_series(1, {THINGS}) as thing"
        )
        conn.execute("create unique index on marts_next.fct_things_daily (day, thing_id)")
    else:  # dbt's delete+insert of the last 3 days
        first = max(1, night - 2)
        conn.execute(
            f"create temp table fresh as select day, thing as thing_id, {value} as computed_night "
            f"from generate_series({first}, {night}) as day, generate_series(1, {THINGS}) as thing"
        )
        conn.execute(
            "delete from marts_next.fct_things_daily where (day, thing_id) in (select day, thing_id from fresh)"
        )
        conn.execute("insert into marts_next.fct_things_daily select * from fresh")
        conn.execute("drop table fresh")
    conn.execute(
        "comment on column marts_next.fct_things_daily.computed_night is 'The night that computed the row'"
    )


def night(conn: psycopg.Connection, n: int, **kwargs: object):
    prepare_shadows(conn)
    shadow_build(conn, n)
    return publish(conn, MARTS, AS_OF, **kwargs)  # type: ignore[arg-type]


def snapshot(conn: psycopg.Connection, schema: str = "marts") -> dict[str, object]:
    return {
        table: conn.execute(
            f"select count(*), md5(string_agg(t::text, '|' order by t::text)) from {schema}.{table} as t"
        ).fetchone()
        for table in ("dim_things", "fct_things_daily")
    }


def oid(conn: psycopg.Connection, relation: str) -> int | None:
    return conn.execute("select to_regclass(%s)::oid", (relation,)).fetchone()[0]


def test_first_publish_moves_the_shadow_in_and_prepares_the_next_build(conn) -> None:
    result = night(conn, 5)
    assert result.published == ["marts.dim_things", "marts.fct_things_daily"]
    assert set(result.swapped) == {"marts.dim_things", "marts.fct_things_daily"}
    assert result.reseeded == ["marts.fct_things_daily"]
    assert conn.execute("select count(*) from marts.fct_things_daily").fetchone()[0] == 5 * THINGS
    assert snapshot(conn, "marts_next") == snapshot(conn)  # stub view and tracked clone
    kinds = dict(
        conn.execute(
            "select relname, relkind from pg_class where relnamespace = 'marts_next'::regnamespace "
            "and relname in ('dim_things', 'fct_things_daily', 'fct_things_daily__touched')"
        ).fetchall()
    )
    assert kinds == {"dim_things": "v", "fct_things_daily": "r", "fct_things_daily__touched": "r"}
    state = conn.execute(
        "select relation, kind, tracked, shadow_oid = to_regclass(shadow_relation)::oid, as_of_date "
        "from ops.published_marts order by 1"
    ).fetchall()
    assert state == [
        ("marts.dim_things", "table", False, None, AS_OF),
        ("marts.fct_things_daily", "incremental", True, True, AS_OF),
    ]
    assert conn.execute("select obj_description('marts.dim_things'::regclass)").fetchone()[0] == (
        "Things, built night 5"
    )


def test_an_incremental_mart_gets_only_the_touched_keys_and_keeps_its_history_and_identity(conn) -> None:
    night(conn, 5)
    live_oid = oid(conn, "marts.fct_things_daily")
    before = dict(
        conn.execute(
            "select (day, thing_id)::text, xmin::text from marts.fct_things_daily where day <= 3"
        ).fetchall()
    )
    result = night(conn, 6)
    assert result.swapped == ["marts.dim_things"]
    assert result.applied == {"marts.fct_things_daily": 3 * THINGS}  # days 4, 5 and 6
    assert oid(conn, "marts.fct_things_daily") == live_oid
    after = dict(
        conn.execute(
            "select (day, thing_id)::text, xmin::text from marts.fct_things_daily where day <= 3"
        ).fetchall()
    )
    assert after == before, "rows the build did not recompute are not rewritten"
    nights = conn.execute(
        "select day, min(computed_night), max(computed_night), count(*) from marts.fct_things_daily "
        "group by day order by day"
    ).fetchall()
    assert nights == [(d, 5, 5, THINGS) for d in range(1, 4)] + [(d, 6, 6, THINGS) for d in range(4, 7)]
    assert snapshot(conn, "marts_next") == snapshot(conn)
    assert conn.execute("select count(*) from marts_next.fct_things_daily__touched").fetchone()[0] == 0
    replaced = "select count(*) from pg_class where relnamespace = 'marts_replaced'::regnamespace"
    assert conn.execute(replaced).fetchone()[0] == 0, "the replaced dim_things was dropped after the commit"


def test_a_failed_build_changes_nothing_live_and_the_next_build_starts_from_the_live_marts(conn) -> None:
    night(conn, 5)
    night(conn, 6)
    published = snapshot(conn)
    prepare_shadows(conn)
    shadow_build(conn, 7, value=-1)  # a bad build: its tests fail, so it is never published
    assert snapshot(conn) == published
    assert conn.execute("select count(*) from marts_next.fct_things_daily__touched").fetchone()[0] > 0
    done = prepare_shadows(conn)
    assert done["marts.fct_things_daily"] == f"restored {3 * THINGS} keys"
    assert snapshot(conn, "marts_next") == published
    result = night(conn, 7)
    assert result.applied == {"marts.fct_things_daily": 3 * THINGS}
    assert (
        conn.execute("select count(*) from marts.fct_things_daily where computed_night = -1").fetchone()[0]
        == 0
    )
    assert conn.execute("select max(day) from marts.fct_things_daily").fetchone()[0] == 7


def test_a_copy_that_keys_cannot_describe_is_published_whole_and_cloned_again(conn) -> None:
    night(conn, 5)
    conn.execute("truncate marts_next.fct_things_daily")  # e.g. a manual fix; marks the copy untracked
    shadow_build(conn, 6)  # the incremental build on top of it (days 4-6 only)
    assert (
        conn.execute("select tracked from ops.published_marts where kind = 'incremental'").fetchone()[0]
        is False
    )
    result = publish(conn, MARTS, AS_OF)
    assert set(result.swapped) == set(result.published) and result.reseeded == ["marts.fct_things_daily"]
    assert conn.execute("select count(*) from marts.fct_things_daily").fetchone()[0] == 3 * THINGS
    assert snapshot(conn, "marts_next") == snapshot(conn)
    assert prepare_shadows(conn)["marts.fct_things_daily"] == "in step"


def test_grants_comments_and_dependent_views_survive_the_publish(conn) -> None:
    night(conn, 5)
    conn.execute(f"grant usage on schema marts to {BI_ROLE}")
    conn.execute(f"grant select on marts.dim_things to {BI_ROLE}")
    conn.execute(f"grant select (day, thing_id) on marts.fct_things_daily to {BI_ROLE}")
    conn.execute("create schema bi")
    conn.execute(
        "create view bi.thing_days with (security_barrier = true) as "
        "select things.label, count(*) as days, max(daily.computed_night) as last_night "
        "from marts.dim_things as things inner join marts.fct_things_daily as daily "
        "on things.thing = daily.thing_id group by things.label"
    )
    conn.execute("create view bi.busiest as select * from bi.thing_days where days > 1")
    conn.execute("create materialized view bi.labels as select thing, label, night from marts.dim_things")
    conn.execute("create unique index labels_thing on bi.labels (thing)")
    conn.execute("comment on view bi.thing_days is 'Days per thing (BI)'")
    conn.execute("comment on column bi.thing_days.days is 'How many days'")
    conn.execute(f"grant usage on schema bi to {BI_ROLE}")
    conn.execute(f"grant select on bi.thing_days, bi.busiest, bi.labels to {BI_ROLE}")
    conn.execute(f"alter default privileges in schema marts grant select on tables to {BI_ROLE}")

    result = night(conn, 6)

    assert sorted(result.recreated_views) == ["bi.busiest", "bi.labels", "bi.thing_days"]
    assert conn.execute("select max(last_night) from bi.busiest").fetchone()[0] == 6
    assert conn.execute("select min(night) from bi.labels").fetchone()[0] == 6
    privileges = conn.execute(
        "select has_table_privilege(%(r)s, 'marts.dim_things', 'select'), "
        "has_column_privilege(%(r)s, 'marts.fct_things_daily', 'thing_id', 'select'), "
        "has_column_privilege(%(r)s, 'marts.fct_things_daily', 'computed_night', 'select'), "
        "has_table_privilege(%(r)s, 'bi.thing_days', 'select'), "
        "has_table_privilege(%(r)s, 'bi.busiest', 'select'), "
        "has_table_privilege(%(r)s, 'bi.labels', 'select')",
        {"r": BI_ROLE},
    ).fetchone()
    assert privileges == (True, True, False, True, True, True)
    comments = conn.execute(
        "select obj_description('bi.thing_days'::regclass), col_description('bi.thing_days'::regclass, 2), "
        "col_description('marts.dim_things'::regclass, 2), "
        "col_description('marts.fct_things_daily'::regclass, 3)"
    ).fetchone()
    assert comments == (
        "Days per thing (BI)",
        "How many days",
        "What the thing is called",
        "The night that computed the row",
    )
    assert conn.execute("select reloptions from pg_class where oid = 'bi.thing_days'::regclass").fetchone()[
        0
    ] == ["security_barrier=true"]
    assert (
        conn.execute(
            "select indexrelid::regclass::text from pg_index where indrelid = 'bi.labels'::regclass"
        ).fetchone()[0]
        == "bi.labels_thing"
    )

    # a mart that is new to the schema gets the schema's default privileges
    conn.execute("create table marts_next.dim_new as select 1 as id")
    publish(conn, [Mart("dim_new", "marts", "marts_next")], AS_OF)
    assert conn.execute("select has_table_privilege(%s, 'marts.dim_new', 'select')", (BI_ROLE,)).fetchone()[0]


def test_a_view_that_no_longer_works_on_the_new_marts_blocks_the_publish(conn) -> None:
    night(conn, 5)
    conn.execute("create schema bi")
    conn.execute("create view bi.labels as select label from marts.dim_things")
    published = snapshot(conn)
    prepare_shadows(conn)
    shadow_build(conn, 6)
    conn.execute("alter table marts_next.dim_things rename column label to name")
    with pytest.raises(PublishError, match=r"bi\.labels"):
        publish(conn, MARTS, AS_OF)
    assert snapshot(conn) == published
    assert conn.execute("select count(*) from bi.labels").fetchone()[0] == THINGS


def test_a_reader_holding_a_transaction_sees_the_old_marts_or_the_new_never_a_mix(conn, url) -> None:
    night(conn, 5)
    prepare_shadows(conn)
    shadow_build(conn, 6)
    outcome: dict[str, object] = {}
    with psycopg.connect(url) as reader:
        reader.execute("set transaction isolation level repeatable read")
        first = reader.execute("select max(night) from marts.dim_things").fetchone()[0]

        def run() -> None:
            with psycopg.connect(url, autocommit=True) as publisher:
                outcome["result"] = publish(publisher, MARTS, AS_OF, lock_timeout_ms=200, attempts=50)

        thread = threading.Thread(target=run)
        thread.start()
        time.sleep(1.0)  # the publish now waits for the reader's lock
        assert thread.is_alive()
        second = reader.execute("select max(computed_night) from marts.fct_things_daily").fetchone()[0]
        third = reader.execute("select max(night) from marts.dim_things").fetchone()[0]
        reader.commit()
        thread.join(timeout=60)
    assert (first, second, third) == (5, 5, 5)
    result = outcome["result"]
    assert result.attempts > 1  # type: ignore[attr-defined]
    assert conn.execute(
        "select (select max(night) from marts.dim_things), (select max(computed_night) from marts.fct_things_daily)"
    ).fetchone() == (6, 6)


def test_statements_running_during_publishes_see_one_state(conn, url) -> None:
    """A reader in autocommit hammers both marts while nights are published: every answer is one night's."""
    night(conn, 5)
    seen: set[tuple[int, int]] = set()
    stop = threading.Event()

    def read() -> None:
        with psycopg.connect(url, autocommit=True) as reader:
            while not stop.is_set():
                seen.add(
                    reader.execute(
                        "select things.night, daily.last from (select max(night) as night from marts.dim_things) "
                        "as things, (select max(computed_night) as last from marts.fct_things_daily) as daily"
                    ).fetchone()
                )

    thread = threading.Thread(target=read)
    thread.start()
    try:
        for n in range(6, 12):
            night(conn, n)
    finally:
        stop.set()
        thread.join(timeout=60)
    assert seen <= {(n, n) for n in range(5, 12)}, seen
    assert len(seen) > 1


def test_two_builds_never_run_at_once(url) -> None:
    order: list[str] = []
    with exclusive_build(url):
        order.append("first holds")

        def second() -> None:
            with exclusive_build(url):
                order.append("second holds")

        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(1.0)
        order.append("first releases")
    thread.join(timeout=30)
    assert order == ["first holds", "first releases", "second holds"]
