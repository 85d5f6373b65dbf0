"""Regression tests for exact history (issue 5, defects 1–3), on a hand-made SAP source.

Each test drives a tiny ERP database (the simulator's SAP layout, rows written by hand with explicit
``CHANGED_AT``) and its own warehouse database on the session's server, through the pipeline's entry
points (``pipeline.extract_erp``, dbt), and checks raw versions and staging as of each night.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta
from decimal import Decimal

import psycopg
import pytest
from psycopg import sql

from o2c import pipeline
from o2c.business_calendar import BUSINESS_TZ, cutoff_for
from o2c.simulate.erp import ERP_SCHEMA, ensure_erp_schema
from o2c.simulate.erp_tables import KEYS, TABLES
from o2c.simulate.timeline import key_widths
from o2c.warehouse.db import ensure_database, warehouse_url, with_database

pytestmark = pytest.mark.integration

NIGHT1 = date(2026, 3, 2)
NIGHT2 = date(2026, 3, 3)
NIGHT3 = date(2026, 3, 4)


def _moment(night: date, minutes_before_cutoff: int) -> datetime:
    return cutoff_for(night) - timedelta(minutes=minutes_before_cutoff)


class Erp:
    """A hand-written SAP source: put/delete rows with explicit change times."""

    def __init__(self, url: str) -> None:
        self.url = url
        with psycopg.connect(url) as conn:
            ensure_erp_schema(conn)
            for table in TABLES:
                conn.execute(
                    sql.SQL("truncate {}.{}").format(sql.Identifier(ERP_SCHEMA), sql.Identifier(table))
                )

    def put(self, table: str, row: dict[str, object], changed_at: datetime) -> None:
        names = ["MANDT", *row, "CHANGED_AT"]
        keys = ["MANDT", *KEYS[table]]
        with psycopg.connect(self.url) as conn:
            conn.execute(
                sql.SQL("insert into {}.{} ({}) values ({}) on conflict ({}) do update set {}").format(
                    sql.Identifier(ERP_SCHEMA),
                    sql.Identifier(table),
                    sql.SQL(", ").join(map(sql.Identifier, names)),
                    sql.SQL(", ").join(sql.Placeholder() * len(names)),
                    sql.SQL(", ").join(map(sql.Identifier, keys)),
                    sql.SQL(", ").join(
                        sql.SQL("{0} = excluded.{0}").format(sql.Identifier(n))
                        for n in names
                        if n not in keys
                    ),
                ),
                ["100", *row.values(), changed_at],
            )

    def delete(self, table: str, key: tuple[str, ...], when: datetime, change_document: bool) -> None:
        with psycopg.connect(self.url) as conn:
            conn.execute(
                sql.SQL("delete from {}.{} where {}").format(
                    sql.Identifier(ERP_SCHEMA),
                    sql.Identifier(table),
                    sql.SQL(" and ").join(sql.SQL("{} = %s").format(sql.Identifier(k)) for k in KEYS[table]),
                ),
                key,
            )
        if change_document:
            local = when.astimezone(BUSINESS_TZ)
            changenr = f"{abs(hash((table, key, when))) % 10**10:010d}"
            self.put(
                "CDHDR",
                {
                    "OBJECTCLAS": "VERKBELEG",
                    "OBJECTID": key[0],
                    "CHANGENR": changenr,
                    "USERNAME": "TEST",
                    "UDATE": local.strftime("%Y%m%d"),
                    "UTIME": local.strftime("%H%M%S"),
                    "TCODE": "VA02",
                    "CHANGE_IND": "U",
                },
                when,
            )
            tabkey = "100" + "".join(v.ljust(w) for v, w in zip(key, key_widths(table), strict=True))
            self.put(
                "CDPOS",
                {
                    "OBJECTCLAS": "VERKBELEG",
                    "OBJECTID": key[0],
                    "CHANGENR": changenr,
                    "TABNAME": table,
                    "TABKEY": tabkey,
                    "FNAME": "KEY",
                    "CHNGIND": "D",
                    "VALUE_NEW": "",
                    "VALUE_OLD": "",
                },
                when,
            )


def vbap(vbeln: str, qty: str, abgru: str = "") -> dict[str, object]:
    return {
        "VBELN": vbeln,
        "POSNR": "000010",
        "MATNR": "CHEM-0001",
        "KWMENG": Decimal(qty),
        "ZMENG": Decimal(0),
        "VRKME": "TO",
        "NETPR": Decimal("100.00"),
        "KPEIN": 1,
        "NETWR": Decimal(qty) * 100,
        "WAERK": "USD",
        "WERKS": "CN01",
        "UEBTO": Decimal("5.0"),
        "UNTTO": Decimal("5.0"),
        "VGBEL": "",
        "VGPOS": "000000",
        "ABGRU": abgru,
        "ERDAT": "20260301",
    }


def customer_item(belnr: str, cleared_on: str | None = None) -> dict[str, object]:
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
        "ZBD2T": 0,
        "ZBD3T": 0,
        "REBZG": "",
        "ZTERM": "Z030",
        "SHKZG": "S",
        "WRBTR": Decimal("1000.00"),
        "WAERS": "USD",
        "XBLNR": "90000001",
        "VBELN": "90000001",
    }
    if cleared_on:
        row.update(AUGDT=cleared_on, AUGBL="1500000001")
    return row


@pytest.fixture
def history(o2c_home, request):
    """A fresh ERP source and warehouse database pair for one test; settings pointing at them."""
    server = warehouse_url(o2c_home)
    name = request.node.name.replace("test_", "")[:40]
    erp_url = with_database(server, f"erp_{name}")
    wh_url = with_database(server, f"wh_{name}")
    for url in (erp_url, wh_url):
        ensure_database(url)
    with psycopg.connect(wh_url, autocommit=True) as conn:
        for schema in ("raw_erp", "ops", "staging", "intermediate"):
            conn.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(schema)))
    settings = dataclasses.replace(o2c_home, warehouse_url=wh_url, erp_url=erp_url)
    return Erp(erp_url), settings


def extract(settings, night: date) -> dict[str, object]:
    start, end = pipeline.interval_for(night)
    return pipeline.extract_erp(start, end, settings)


def staging(settings, night: date, model: str, key: str) -> dict[str, dict[str, object]]:
    """Build ``model`` (and what it needs) as of ``night`` and return its rows by ``key``."""
    from o2c.transform.build import run_dbt

    run_dbt(["run", "--select", f"+{model}"], night, settings.warehouse_url, settings)
    schema = "intermediate" if model.startswith("int_") else "staging"
    with psycopg.connect(settings.warehouse_url, autocommit=True) as conn:
        cursor = conn.execute(
            sql.SQL("select * from {}.{}").format(sql.Identifier(schema), sql.Identifier(model))
        )
        names = [c.name for c in cursor.description or []]
        return {str(row[names.index(key)]): dict(zip(names, row, strict=True)) for row in cursor.fetchall()}


def raw_versions(settings, table: str) -> list[tuple[object, ...]]:
    with psycopg.connect(settings.warehouse_url, autocommit=True) as conn:
        return conn.execute(
            sql.SQL("select vbeln, kwmeng, changed_at from raw_erp.{} order by changed_at").format(
                sql.Identifier(table)
            )
        ).fetchall()


def test_rerunning_an_older_night_keeps_the_versions_it_had_landed(history) -> None:
    """Defect 1: a re-run of night 1 after night 2 used to delete night 1's batch and re-read its window,
    where the changed row no longer is: its night-1 version was lost and staging fell back to night 2's."""
    erp, settings = history
    erp.put("VBAP", vbap("10000001", "100"), _moment(NIGHT1, 300))
    extract(settings, NIGHT1)
    erp.put("VBAP", vbap("10000001", "120"), _moment(NIGHT2, 300))
    extract(settings, NIGHT2)
    rerun = extract(settings, NIGHT1)
    assert rerun["per_table"]["VBAP"] == 0 or rerun["new_versions"] == 0
    versions = [(v, q) for v, q, _ in raw_versions(settings, "vbap")]
    assert versions == [("10000001", "100.000"), ("10000001", "120.000")], "landed versions are immutable"
    assert staging(settings, NIGHT1, "stg_erp__sales_document_items", "sales_item_id")["10000001-000010"][
        "order_qty"
    ] == Decimal("100.000")
    assert staging(settings, NIGHT2, "stg_erp__sales_document_items", "sales_item_id")["10000001-000010"][
        "order_qty"
    ] == Decimal("120.000")


def test_a_row_committed_late_with_an_older_change_time_is_read_by_the_next_window(history) -> None:
    """Defect 2: the window was (watermark, interval end]; a row committed after night 1's extract with a
    change time before its cutoff was never read."""
    erp, settings = history
    erp.put("VBAP", vbap("10000001", "100"), _moment(NIGHT1, 300))
    extract(settings, NIGHT1)
    # a long transaction: changed 10 minutes before night 1's cutoff, committed after its extract
    erp.put("VBAP", vbap("10000002", "50"), _moment(NIGHT1, 10))
    erp.put("VBAP", vbap("10000003", "70"), _moment(NIGHT2, 300))
    second = extract(settings, NIGHT2)
    assert second["new_versions"] == 2
    assert {v for v, _, _ in raw_versions(settings, "vbap")} == {"10000001", "10000002", "10000003"}
    # re-running night 2 reads the same window again and adds nothing
    assert extract(settings, NIGHT2)["new_versions"] == 0
    # the late row belongs to night 1 by its change time: a rebuild of night 1 includes it (DECISIONLOG)
    night1 = staging(settings, NIGHT1, "stg_erp__sales_document_items", "sales_item_id")
    assert night1["10000002-000010"]["order_qty"] == Decimal("50.000")


def test_a_deleted_order_item_disappears_as_of_its_deletion(history) -> None:
    """Defect 3 (change documents): an order item deleted in the ERP used to persist forever."""
    erp, settings = history
    erp.put("VBAP", vbap("10000001", "100"), _moment(NIGHT1, 300))
    erp.put("VBAP", vbap("10000002", "40"), _moment(NIGHT1, 290))
    extract(settings, NIGHT1)
    erp.delete("VBAP", ("10000002", "000010"), _moment(NIGHT2, 200), change_document=True)
    second = extract(settings, NIGHT2)
    assert second["tombstones"] == 1
    assert extract(settings, NIGHT2)["tombstones"] == 0, "a re-run lands no second tombstone"
    night1 = staging(settings, NIGHT1, "stg_erp__sales_document_items", "sales_item_id")
    night2 = staging(settings, NIGHT2, "stg_erp__sales_document_items", "sales_item_id")
    assert set(night1) == {"10000001-000010", "10000002-000010"}
    assert set(night2) == {"10000001-000010"}


def test_a_clearing_reset_reopens_the_invoice_from_the_reset(history) -> None:
    """Defect 3 (key reconciliation): a clearing reset deletes the BSAD row and re-creates the BSID row;
    staging let BSAD win over BSID, so the invoice stayed cleared forever."""
    erp, settings = history
    key = ("1000", "1400000001", "2026", "001")
    erp.put("BSID", customer_item("1400000001"), _moment(NIGHT1, 400))
    extract(settings, NIGHT1)
    # night 2: paid and cleared (BSID row deleted, BSAD row written in the same transaction)
    erp.delete("BSID", key, _moment(NIGHT2, 300), change_document=False)
    erp.put("BSAD", customer_item("1400000001", cleared_on="20260303"), _moment(NIGHT2, 300))
    assert extract(settings, NIGHT2)["tombstones"] == 1  # BSID's row, found by key reconciliation
    # night 3: the payment came back; the clearing is reset (FBRA)
    erp.delete("BSAD", key, _moment(NIGHT3, 300), change_document=False)
    erp.put("BSID", customer_item("1400000001"), _moment(NIGHT3, 300))
    assert extract(settings, NIGHT3)["tombstones"] == 1  # BSAD's row
    item = "1000-2026-1400000001-001"
    assert staging(settings, NIGHT1, "int_customer_items", "customer_item_id")[item]["clearing_date"] is None
    assert staging(settings, NIGHT2, "int_customer_items", "customer_item_id")[item]["clearing_date"] == date(
        2026, 3, 3
    )
    assert staging(settings, NIGHT3, "int_customer_items", "customer_item_id")[item]["clearing_date"] is None
    # re-running night 2 after night 3 changes nothing: it is a backfill, which reconciles no keys
    assert extract(settings, NIGHT2)["tombstones"] == 0
    assert staging(settings, NIGHT2, "int_customer_items", "customer_item_id")[item]["clearing_date"] == date(
        2026, 3, 3
    )


def test_schema_drift_stops_only_the_drifted_table(history) -> None:
    """A new column lands; a dropped one stops that table (named, nothing half-landed), the rest load."""
    from o2c.sources.erp.extract import ErpExtractError

    erp, settings = history
    erp.put("VBAP", vbap("10000001", "100"), _moment(NIGHT1, 300))
    extract(settings, NIGHT1)
    with psycopg.connect(erp.url) as conn:
        conn.execute('alter table sapsr3."VBAP" add column "ZZGRADE" varchar(10)')
    erp.put("VBAP", {**vbap("10000002", "60"), "ZZGRADE": "A1"}, _moment(NIGHT2, 300))
    assert extract(settings, NIGHT2)["new_versions"] == 1
    with psycopg.connect(erp.url) as conn:
        conn.execute('alter table sapsr3."VBAP" drop column "NETWR"')
    erp.put("VBAP", vbap_without_netwr("10000003"), _moment(NIGHT3, 300))
    erp.put(
        "VBAK",
        {"VBELN": "10000003", "VBTYP": "C", "AUART": "ZOR", "KUNNR": "0000100001"},
        _moment(NIGHT3, 300),
    )
    with pytest.raises(ErpExtractError) as failure:
        extract(settings, NIGHT3)
    assert "VBAP" in str(failure.value) and "NETWR" in str(failure.value)
    with psycopg.connect(settings.warehouse_url, autocommit=True) as conn:
        landed = conn.execute("select vbeln, zzgrade from raw_erp.vbap order by vbeln").fetchall()
        vbak = conn.execute("select vbeln from raw_erp.vbak").fetchall()
    assert landed == [("10000001", None), ("10000002", "A1")], "nothing of the drifted table landed"
    assert vbak == [("10000003",)], "the other tables still load"


def vbap_without_netwr(vbeln: str) -> dict[str, object]:
    row = vbap(vbeln, "10")
    del row["NETWR"]
    return row
