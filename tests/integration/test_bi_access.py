"""BI access on a real PostgreSQL: ``o2c bi grant|revoke|list`` and the region policies of the marts.

The marts here are hand-made shadow builds published by the real publish (``o2c.transform.publish``), as
in ``test_publish.py``: a table mart with a ``region`` column (swapped in at every publish), an incremental
one (applied by key, or swapped whole), a mart without ``region``, and a region mart that first appears
after the roles were granted. Roles are created with the ``o2c bi`` command and connect with the URL it
printed. Tests run in file order and share the database and its roles."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import urlsplit

import psycopg
import pytest
from psycopg import errors

from o2c import cli
from o2c.bi.policies import POLICY
from o2c.bi.roles import BiAccessError, validate_role_name
from o2c.config import Settings
from o2c.transform.publish import Mart, prepare_shadows, publish
from o2c.warehouse.bootstrap import ensure_schema
from o2c.warehouse.db import ensure_database, warehouse_url, with_database
from o2c.warehouse.embedded import EmbeddedWarehouse
from tests.conftest import free_port

pytestmark = pytest.mark.integration

SALES = Mart("fct_region_sales", "marts", "marts_next")
DAILY = Mart("fct_region_daily", "marts", "marts_next", incremental=True, unique_key=("day", "sale_id"))
PLAIN = Mart("dim_plain_things", "marts", "marts_next")
TARGETS = Mart("dim_region_targets", "marts", "marts_next")
REGIONS = ("East", "West", "North")
SALE_COUNT = 30  # sale i is in REGIONS[i % 3]: 10 rows per region
AS_OF = date(2026, 5, 20)
EAST = "o2c_bi_test_east"
WEST_NORTH = "o2c_bi_test_west_north"
EVERYTHING = "o2c_bi_test_all"


@dataclass
class Warehouse:
    url: str
    settings: Settings
    urls: dict[str, str] = field(default_factory=dict)
    """The URL ``o2c bi grant`` printed, per role."""


@pytest.fixture(scope="module")
def warehouse(o2c_home: Settings) -> Iterator[Warehouse]:
    """A database of its own on the session's server; ``o2c`` commands use it (O2C_WAREHOUSE_URL)."""
    url = with_database(warehouse_url(o2c_home), "o2c_bi_access")
    ensure_database(url)
    with psycopg.connect(url, autocommit=True) as conn:
        ensure_schema(conn)
        for schema in ("staging", "intermediate", "snapshots", "marts_next"):
            conn.execute(f"create schema if not exists {schema}")
        conn.execute("create table if not exists raw_erp.vbak (vbeln text, netwr numeric)")
        conn.execute("insert into raw_erp.vbak values ('0000000001', 100)")
        conn.execute("create or replace view staging.stg_orders as select * from raw_erp.vbak")
        conn.execute("create or replace view intermediate.int_orders as select * from staging.stg_orders")
        conn.execute("create table if not exists snapshots.orders_snapshot as select * from raw_erp.vbak")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("O2C_WAREHOUSE_URL", url)
        yield Warehouse(url, o2c_home)
        for role in (EAST, WEST_NORTH, EVERYTHING):
            cli.main(["bi", "revoke", role])


@pytest.fixture
def conn(warehouse: Warehouse) -> Iterator[psycopg.Connection]:
    with psycopg.connect(warehouse.url, autocommit=True) as connection:
        yield connection


def o2c(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run the ``o2c`` command in this process; its exit code, stdout and stderr."""
    capsys.readouterr()
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def shadow_build(conn: psycopg.Connection, night: int, *, new_mart: bool = False) -> list[Mart]:
    """What a dbt build writes in the shadow for ``night``: the marts to publish."""
    for mart in (SALES, PLAIN, TARGETS):
        kind = conn.execute(
            "select relkind from pg_class where oid = to_regclass(%s)", (mart.shadow,)
        ).fetchone()
        if kind:
            conn.execute(f"drop {'view' if kind[0] == 'v' else 'table'} {mart.shadow}")
    conn.execute(
        f"create table {SALES.shadow} as select sale, (array{list(REGIONS)})[sale % 3 + 1] as region, "
        f"sale * 10 as amount, {night} as night from generate_series(1, {SALE_COUNT}) as sale"
    )
    conn.execute(
        f"create table {PLAIN.shadow} as select thing, {night} as night from generate_series(1, 5) as thing"
    )
    marts = [SALES, PLAIN, DAILY]
    if new_mart:
        conn.execute(
            f"create table {TARGETS.shadow} as select region, 1000 * length(region) as target "
            f"from unnest(array{list(REGIONS)}) as region"
        )
        marts.append(TARGETS)
    fresh = (
        f"select day, sale as sale_id, (array{list(REGIONS)})[sale % 3 + 1]::varchar(10) as region, "
        f"{night} as night from generate_series(greatest(1, {night} - 1), {night}) as day, "
        f"generate_series(1, {SALE_COUNT}) as sale"
    )
    if conn.execute("select to_regclass(%s)", (DAILY.shadow,)).fetchone()[0] is None:
        conn.execute(f"create table {DAILY.shadow} as {fresh}")
        conn.execute(f"create unique index on {DAILY.shadow} (day, sale_id)")
    else:  # an incremental build: its last 2 days deleted and inserted again
        conn.execute(f"delete from {DAILY.shadow} where day >= greatest(1, {night} - 1)")
        conn.execute(f"insert into {DAILY.shadow} {fresh}")
    return marts


def night(conn: psycopg.Connection, n: int, **kwargs: bool):
    prepare_shadows(conn)
    return publish(conn, shadow_build(conn, n, **kwargs), AS_OF)


def visible(url: str) -> dict[str, object]:
    """What a role connected with ``url`` sees of each mart: regions, row count, last night."""
    with psycopg.connect(url, autocommit=True) as reader:
        return {
            "sales": reader.execute(
                "select array_agg(distinct region order by region), count(*), max(night) from fct_region_sales"
            ).fetchone(),
            "daily": reader.execute(
                "select array_agg(distinct region::text order by region::text), count(*), max(night) "
                "from marts.fct_region_daily"
            ).fetchone(),
            "plain": reader.execute("select count(*) from marts.dim_plain_things").fetchone()[0],
        }


def test_role_names_are_validated(warehouse: Warehouse, capsys) -> None:
    for name, reason in (
        ("Analyst", "lowercase letters, digits and _"),
        ("bi-team", "lowercase letters, digits and _"),
        ("1st_team", "starting with a letter"),
        ('x"; drop table ops.load_log; --', "lowercase letters, digits and _"),
        ("pg_reader", "prefix pg_ is reserved"),
        ("public", "reserved by PostgreSQL"),
        ("a" * 64, "longer than 63 bytes"),
        ("", "empty"),
    ):
        with pytest.raises(BiAccessError) as failure:
            validate_role_name(name)
        assert repr(name) in str(failure.value) and reason in str(failure.value), failure.value
    code, out, err = o2c(capsys, "bi", "grant", "Analyst")
    assert code == 2 and out == "" and "'Analyst'" in err and "lowercase" in err
    # the server's own roles are not BI roles: never altered, never dropped
    superuser = urlsplit(warehouse.url).username
    code, _, err = o2c(capsys, "bi", "grant", str(superuser))
    assert code == 2 and "already exists on the server and was not created by `o2c bi grant`" in err
    code, _, err = o2c(capsys, "bi", "revoke", str(superuser))
    assert code == 2 and "not a BI role" in err
    code, _, err = o2c(capsys, "bi", "grant", "o2c_bi_test_nobody", "--rotate-password")
    assert code == 2 and "is not a BI role" in err
    code, _, err = o2c(capsys, "bi", "grant", "o2c_bi_test_blank", "--region", " ")
    assert code == 2 and "--region ' ': empty" in err


def test_roles_with_regions_see_their_rows_of_the_region_marts(warehouse: Warehouse, conn, capsys) -> None:
    night(conn, 1)
    for role, regions in ((EAST, ["East"]), (WEST_NORTH, ["West", "North"]), (EVERYTHING, [])):
        code, out, err = o2c(capsys, "bi", "grant", role, *[a for r in regions for a in ("--region", r)])
        assert code == 0, err
        granted = json.loads(out)
        assert granted["role"] == role and granted["regions"] == (sorted(regions) or None)
        assert urlsplit(granted["url"]).username == role and urlsplit(granted["url"]).password
        warehouse.urls[role] = granted["url"]
    assert granted["region_filtered_marts"] == []  # no regions: nothing filtered for it
    assert json.loads(o2c(capsys, "bi", "grant", EAST + "_x", "--region", "East")[1])[
        "region_filtered_marts"
    ] == ["marts.fct_region_daily", "marts.fct_region_sales"]
    assert o2c(capsys, "bi", "revoke", EAST + "_x")[0] == 0

    assert visible(warehouse.urls[EAST]) == {
        "sales": (["East"], 10, 1),
        "daily": (["East"], 10, 1),
        "plain": 5,  # no region column: every row
    }
    assert visible(warehouse.urls[WEST_NORTH]) == {
        "sales": (["North", "West"], 20, 1),
        "daily": (["North", "West"], 20, 1),
        "plain": 5,
    }
    assert visible(warehouse.urls[EVERYTHING]) == {
        "sales": (list(sorted(REGIONS)), 30, 1),
        "daily": (list(sorted(REGIONS)), 30, 1),
        "plain": 5,
    }
    with psycopg.connect(warehouse.urls[EAST], autocommit=True) as reader:
        plan = "\n".join(row[0] for row in reader.execute("explain select * from marts.fct_region_sales"))
    assert "InitPlan" in plan and "allowed_regions" not in plan.split("InitPlan")[0], (
        "the role's regions are looked up once per query, not per row"
    )
    # the owner (dbt, the publish) is not filtered: RLS is enabled, not forced
    assert conn.execute("select count(*) from marts.fct_region_sales").fetchone()[0] == SALE_COUNT

    listed = json.loads(o2c(capsys, "bi", "list")[1])
    assert [(r["role"], r["regions"], r["login"]) for r in listed["roles"]] == [
        (EVERYTHING, None, True),
        (EAST, ["East"], True),
        (WEST_NORTH, ["North", "West"], True),
    ]
    assert listed["region_filtered_marts"] == ["marts.fct_region_daily", "marts.fct_region_sales"]


def test_the_region_policies_survive_every_publish(warehouse: Warehouse, conn) -> None:
    oids = {m: conn.execute("select %s::regclass::oid", (m.live,)).fetchone()[0] for m in (SALES, DAILY)}
    result = night(conn, 2)
    assert result.swapped == [SALES.live, PLAIN.live] and result.applied == {DAILY.live: 2 * SALE_COUNT}
    assert sorted(result.region_protected) == [DAILY.live, SALES.live]
    assert conn.execute("select %s::regclass::oid", (SALES.live,)).fetchone()[0] != oids[SALES]  # a new table
    assert conn.execute("select %s::regclass::oid", (DAILY.live,)).fetchone()[0] == oids[DAILY]  # by key
    assert visible(warehouse.urls[EAST]) == {
        "sales": (["East"], 10, 2),
        "daily": (["East"], 20, 2),
        "plain": 5,
    }
    assert visible(warehouse.urls[WEST_NORTH])["sales"] == (["North", "West"], 20, 2)

    # an incremental mart that keys cannot describe is swapped in whole: a new table, policy included
    prepare_shadows(conn)
    conn.execute(f"truncate {DAILY.shadow}")  # e.g. a manual fix: the copy is no longer tracked
    result = publish(conn, shadow_build(conn, 3), AS_OF)  # holds days 2 and 3 only
    assert DAILY.live in result.swapped
    assert conn.execute("select %s::regclass::oid", (DAILY.live,)).fetchone()[0] != oids[DAILY]
    assert visible(warehouse.urls[EAST])["daily"] == (["East"], 20, 3)
    assert visible(warehouse.urls[WEST_NORTH])["daily"] == (["North", "West"], 40, 3)

    # a region mart published for the first time after the grants: readable (default privileges) and
    # filtered (policy) from its first publish
    result = night(conn, 4, new_mart=True)
    assert TARGETS.live in result.swapped and TARGETS.live in result.region_protected
    for role, expected in ((EAST, ["East"]), (WEST_NORTH, ["North", "West"]), (EVERYTHING, sorted(REGIONS))):
        with psycopg.connect(warehouse.urls[role], autocommit=True) as reader:
            regions = reader.execute("select array_agg(region order by region) from marts.dim_region_targets")
            assert regions.fetchone()[0] == expected, role
    policies = conn.execute(
        "select class.relname, class.relrowsecurity, class.relforcerowsecurity from pg_policy as policy "
        "inner join pg_class as class on policy.polrelid = class.oid where policy.polname = %s order by 1",
        (POLICY,),
    ).fetchall()
    assert policies == [(m.name, True, False) for m in (TARGETS, DAILY, SALES)]


def test_a_restricted_reader_never_sees_other_regions_while_marts_are_published(warehouse: Warehouse, conn):
    """A BI role in autocommit reads the marts while nights are published: never a row of another region,
    never a mart without its policy (a table swapped in gets it in the same transaction)."""
    seen: list[tuple[object, ...]] = []
    failures: list[BaseException] = []
    stop = threading.Event()

    def read() -> None:
        try:
            with psycopg.connect(warehouse.urls[EAST], autocommit=True) as reader:
                while not stop.is_set():
                    seen.append(
                        reader.execute(
                            "select (select array_agg(distinct region) from marts.fct_region_sales), "
                            "(select array_agg(distinct region::text) from marts.fct_region_daily), "
                            "(select max(night) from marts.fct_region_sales)"
                        ).fetchone()
                    )
        except BaseException as exc:  # reported by the test below
            failures.append(exc)

    thread = threading.Thread(target=read)
    thread.start()
    try:
        for n in range(5, 9):
            night(conn, n)
    finally:
        stop.set()
        thread.join(timeout=60)
    assert not failures, failures
    assert {(tuple(sales), tuple(daily)) for sales, daily, _ in seen} == {(("East",), ("East",))}
    assert len({last for _, _, last in seen}) > 1, "the reader saw several publishes"


def test_a_bi_role_reads_marts_and_nothing_else(warehouse: Warehouse) -> None:
    with psycopg.connect(warehouse.urls[EVERYTHING], autocommit=True) as reader:
        for relation in (
            "raw_erp.vbak",
            "raw_bank.entries",
            "staging.stg_orders",
            "intermediate.int_orders",
            "snapshots.orders_snapshot",
            "ops.load_log",
            "ops.bi_roles",
            "ops.published_marts",
            "marts_next.fct_region_daily",
            "marts_next.fct_region_sales",
        ):
            with pytest.raises(errors.InsufficientPrivilege, match="permission denied"):
                reader.execute(f"select * from {relation} limit 1")
        for statement in (
            "create table public.mine (x int)",
            "create table marts.mine (x int)",
            "create view marts.mine as select 1 as x",
            "delete from marts.fct_region_sales",
            "insert into marts.dim_plain_things values (99, 99)",
            "alter table marts.fct_region_sales disable row level security",
            "create schema mine",
        ):
            with pytest.raises((errors.InsufficientPrivilege, errors.InvalidSchemaName)):
                reader.execute(statement)
        assert reader.execute("select count(*) from marts.dim_plain_things").fetchone()[0] == 5
        assert reader.execute("show search_path").fetchone()[0] == "marts"
    with psycopg.connect(warehouse.urls[EAST], autocommit=True) as reader:
        allowed = "select bi_access.allowed_regions(%s)"
        assert reader.execute(allowed, (EAST,)).fetchone()[0] == ["East"]
        assert reader.execute(allowed, (WEST_NORTH,)).fetchone()[0] == [], "another role's regions: nothing"
        with pytest.raises(errors.InsufficientPrivilege):
            reader.execute("set role " + WEST_NORTH)


def test_the_password_is_shown_once_and_stored_nowhere_in_clear(warehouse: Warehouse, conn, capsys) -> None:
    passwords = {role: urlsplit(url).password for role, url in warehouse.urls.items()}
    assert all(p and len(p) >= 40 for p in passwords.values())
    tables = conn.execute(
        "select format('%I.%I', schemaname, tablename) from pg_tables where schemaname in ('ops', 'bi_access')"
    ).fetchall()
    for (table,) in tables:
        rows = " ".join(r for (r,) in conn.execute(f"select t::text from {table} as t").fetchall())
        assert not any(p in rows for p in passwords.values()), table
    stored = dict(
        conn.execute(
            "select rolname, rolpassword from pg_authid where rolname = any(%s)", (list(passwords),)
        ).fetchall()
    )
    for role, password in passwords.items():
        assert stored[role].startswith("SCRAM-SHA-256$") and password not in stored[role]
    server_log = EmbeddedWarehouse(warehouse.settings.home, warehouse.settings.warehouse_port).log
    assert not any(p in server_log.read_text(errors="replace") for p in passwords.values())
    listed = o2c(capsys, "bi", "list")[1]
    assert not any(p in listed for p in passwords.values())


def test_re_granting_needs_rotate_password_which_replaces_the_password(warehouse: Warehouse, capsys) -> None:
    code, out, err = o2c(capsys, "bi", "grant", EAST, "--region", "West")
    assert code == 2 and out == "" and "--rotate-password" in err
    old = warehouse.urls[EAST]
    code, out, err = o2c(capsys, "bi", "grant", EAST, "--rotate-password")
    assert code == 0, err
    rotated = json.loads(out)
    assert rotated["password_rotated"] is True and rotated["regions"] == ["East"], "regions kept"
    assert rotated["url"] != old
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(old).close()
    warehouse.urls[EAST] = rotated["url"]
    assert visible(rotated["url"])["sales"][0] == ["East"]


def test_revoke_ends_sessions_and_login_and_drops_the_role(warehouse: Warehouse, conn, capsys) -> None:
    session = psycopg.connect(warehouse.urls[WEST_NORTH], autocommit=True)
    assert session.execute("select count(*) from marts.fct_region_sales").fetchone()[0] == 20
    code, out, err = o2c(capsys, "bi", "revoke", WEST_NORTH)
    assert code == 0, err
    assert json.loads(out) == {"role": WEST_NORTH, "revoked": True, "sessions_ended": 1}
    with pytest.raises(psycopg.OperationalError):
        session.execute("select 1")
    session.close()
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(warehouse.urls[WEST_NORTH]).close()
    assert conn.execute("select count(*) from pg_roles where rolname = %s", (WEST_NORTH,)).fetchone()[0] == 0
    assert (
        conn.execute("select count(*) from ops.bi_roles where role_name = %s", (WEST_NORTH,)).fetchone()[0]
        == 0
    )
    assert [r["role"] for r in json.loads(o2c(capsys, "bi", "list")[1])["roles"]] == [EVERYTHING, EAST]
    code, _, err = o2c(capsys, "bi", "revoke", WEST_NORTH)
    assert code == 2 and "not a BI role" in err
    # the name is free again: a new grant works, with a new password
    code, out, _ = o2c(capsys, "bi", "grant", WEST_NORTH, "--region", "North")
    assert code == 0
    warehouse.urls[WEST_NORTH] = json.loads(out)["url"]
    assert visible(warehouse.urls[WEST_NORTH])["sales"][:2] == (["North"], 10)


def test_make_docs_serves_the_dbt_docs_of_the_live_marts_on_localhost(warehouse: Warehouse, tmp_path) -> None:
    port = free_port()
    env = {**os.environ, "O2C_WAREHOUSE_URL": warehouse.url, "O2C_DOCS_PORT": str(port)}
    server = subprocess.Popen(
        [str(os.path.join(os.path.dirname(sys.executable), "o2c")), "docs", "--serve"],
        env=env,
        stdout=(tmp_path / "docs.out").open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/manifest.json", timeout=5) as response:
                    manifest = json.load(response)
                break
            except OSError:
                assert server.poll() is None, (tmp_path / "docs.out").read_text()
                assert time.monotonic() < deadline, (tmp_path / "docs.out").read_text()
                time.sleep(1)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/index.html", timeout=5) as response:
            assert response.status == 200 and b"dbt" in response.read()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/catalog.json", timeout=5) as response:
            assert response.status == 200 and "nodes" in json.load(response)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    invoices = manifest["nodes"]["model.o2c.fct_invoices"]
    assert invoices["schema"] == "marts", "documents the relations BI users query, not the shadow"
    assert invoices["columns"]["gross_amount_usd"]["description"]
    assert (warehouse.settings.home / "dbt" / "docs" / "catalog.json").exists(), "its own target folder"
