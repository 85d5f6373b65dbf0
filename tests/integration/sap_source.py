"""A hand-made SAP source for integration tests: the simulator's SAP layout in its own database, rows
written by hand with explicit change times (``CHANGED_AT``), deletions with or without change documents;
and the warehouse database paired with it.

Shared by the exact-history, receivables-history, defect-regression and type-contract tests.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal

import psycopg
from psycopg import sql

from o2c.business_calendar import cutoff_for
from o2c.config import Settings
from o2c.simulate.erp import ERP_SCHEMA, ensure_erp_schema
from o2c.simulate.erp_tables import KEYS, TABLES
from o2c.simulate.timeline import CHANGE_DOCUMENT_OBJECTS, deletion_header, deletion_item
from o2c.transform.build import DbtResult, run_dbt
from o2c.transform.publish import exclusive_build, marts_of_run, prepare_shadows, publish
from o2c.warehouse.db import ensure_database, warehouse_url, with_database

WAREHOUSE_SCHEMAS = ("raw_erp", "ops", "staging", "intermediate", "marts", "marts_next")


def before_cutoff(night: date, minutes: int) -> datetime:
    """A change time ``minutes`` before ``night``'s cutoff."""
    return cutoff_for(night) - timedelta(minutes=minutes)


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

    def put(self, table: str, row: Mapping[str, object], changed_at: datetime) -> None:
        """Insert or update one row of ``table`` (client 100) as changed at ``changed_at``."""
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
        """Delete one row; with ``change_document``, write the CDHDR/CDPOS pair SAP writes for it."""
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
            objectclass, tcode = CHANGE_DOCUMENT_OBJECTS[table]
            changenr = f"{abs(hash((table, key, when))) % 10**10:010d}"
            self.put("CDHDR", deletion_header(objectclass, key[0], changenr, when, tcode), when)
            self.put("CDPOS", deletion_item(objectclass, changenr, table, key), when)


def source_and_warehouse(o2c_home: Settings, name: str) -> tuple[Erp, Settings]:
    """A fresh ERP source database and warehouse database named after ``name`` on the session's server
    (the warehouse's o2c schemas dropped); settings pointing at them."""
    server = warehouse_url(o2c_home)
    erp_url = with_database(server, f"erp_{name}")
    wh_url = with_database(server, f"wh_{name}")
    for url in (erp_url, wh_url):
        ensure_database(url)
    with psycopg.connect(wh_url, autocommit=True) as conn:
        for schema in WAREHOUSE_SCHEMAS:
            conn.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(schema)))
    return Erp(erp_url), dataclasses.replace(o2c_home, warehouse_url=wh_url, erp_url=erp_url)


def build_and_publish_night(
    settings: Settings, as_of: date, dbt_args: list[str], extra_vars: Mapping[str, object] | None = None
) -> DbtResult:
    """``dbt <dbt_args>`` as of ``as_of`` into the shadow schemas, then publish what it built (the
    pipeline's write-audit-publish, with a narrower dbt command)."""
    assert settings.warehouse_url
    with exclusive_build(settings.warehouse_url) as conn:
        prepare_shadows(conn)
        result = run_dbt(dbt_args, as_of, settings.warehouse_url, settings, extra_vars)
        publish(conn, marts_of_run(result), as_of)
    return result


def vbap(vbeln: str, qty: str, abgru: str = "") -> dict[str, object]:
    """An order item (POSNR 10) of ``qty`` MT at 100 USD/MT."""
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
    """A 1,000 USD customer item posted 2026-03-01, net 30 (BSID; BSAD with ``cleared_on``)."""
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
