"""A raw table gets planner statistics as soon as a landing adds a tenth of it (``o2c.loading.land``).

A table PostgreSQL never analyzed is planned as a page's worth of rows, and a nightly build starts seconds
after its extract, before autovacuum comes round: on a first load that once made ``fct_receivables_daily``
run for over 15 minutes instead of 20 s (DECISIONLOG, "Statistics as soon as data lands"). Both sides of the
threshold: a first load of 1,500 rows is analyzed at once; 50 more rows (a bank file's worth) are not.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest

from o2c.config import Settings
from o2c.loading.land import ANALYZE_MIN_ROWS, RawTable, land_batch
from o2c.warehouse.db import warehouse_url


@pytest.fixture
def conn(o2c_home: Settings) -> Iterator[psycopg.Connection]:
    with psycopg.connect(warehouse_url(o2c_home), autocommit=True) as connection:
        yield connection


def _table(conn: psycopg.Connection) -> RawTable:
    name = f"land_stats_{uuid.uuid4().hex[:8]}"
    conn.execute("create schema if not exists raw_test")
    return RawTable(
        source="test",
        entity=name,
        schema="raw_test",
        name=name,
        key_columns=("item_id",),
        change_column=None,
        fixed_columns=(("item_id", "text"), ("amount", "text")),
    )


def _analyzed(conn: psycopg.Connection, table: RawTable) -> tuple[int, float]:
    """How often the table was analyzed by hand, and the rows the planner believes it holds."""
    row = conn.execute(
        "select coalesce(stats.analyze_count, 0), class.reltuples from pg_class as class "
        "left join pg_stat_user_tables as stats on stats.relid = class.oid "
        "where class.oid = %s::regclass",
        (f"{table.schema}.{table.name}",),
    ).fetchone()
    assert row is not None
    return int(row[0]), float(row[1])


def _land(conn: psycopg.Connection, table: RawTable, first: int, count: int) -> None:
    rows = [(f"I{n:06d}", str(n)) for n in range(first, first + count)]
    land_batch(conn, table, f"test:{table.name}:{first}", ("item_id", "amount"), rows=rows)


def test_a_first_load_is_analyzed_at_once_and_a_small_landing_is_not(conn: psycopg.Connection) -> None:
    table = _table(conn)
    assert ANALYZE_MIN_ROWS <= 1500
    _land(conn, table, 0, 1500)
    # pg_stat counters are sent at transaction end; the catalog's row estimate is set by ANALYZE itself
    count, estimate = _analyzed(conn, table)
    assert estimate == 1500, "the landing did not analyze the new table"

    _land(conn, table, 1500, 50)
    conn.execute("select pg_stat_clear_snapshot()")
    later_count, later_estimate = _analyzed(conn, table)
    assert later_estimate == 1500, "50 rows into 1,500 (under a tenth) were analyzed"
    assert later_count == count


def test_below_the_minimum_rows_no_table_is_analyzed(conn: psycopg.Connection) -> None:
    table = _table(conn)
    _land(conn, table, 0, ANALYZE_MIN_ROWS - 1)
    _, estimate = _analyzed(conn, table)
    assert estimate <= 0, f"a landing of {ANALYZE_MIN_ROWS - 1} rows analyzed the table"
