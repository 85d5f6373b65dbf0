"""Regression tests for exact history (issue 5, defects 1–3), on a hand-made SAP source.

Each test drives a tiny ERP database (the simulator's SAP layout, rows written by hand with explicit
``CHANGED_AT``) and its own warehouse database on the session's server, through the pipeline's entry
points (``pipeline.extract_erp``, dbt), and checks raw versions and staging as of each night.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import psycopg
import pytest
from psycopg import sql

from o2c import pipeline
from o2c.sources.logistics.extract import extract_shipments
from o2c.warehouse.bootstrap import ensure_schema
from tests.integration.sap_source import before_cutoff, customer_item, source_and_warehouse, vbap

pytestmark = pytest.mark.integration

NIGHT1 = date(2026, 3, 2)
NIGHT2 = date(2026, 3, 3)
NIGHT3 = date(2026, 3, 4)


@pytest.fixture
def history(o2c_home, request):
    """A fresh ERP source and warehouse database pair for one test; settings pointing at them."""
    return source_and_warehouse(o2c_home, request.node.name.replace("test_", "")[:40])


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
    erp.put("VBAP", vbap("10000001", "100"), before_cutoff(NIGHT1, 300))
    extract(settings, NIGHT1)
    erp.put("VBAP", vbap("10000001", "120"), before_cutoff(NIGHT2, 300))
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
    erp.put("VBAP", vbap("10000001", "100"), before_cutoff(NIGHT1, 300))
    extract(settings, NIGHT1)
    # a long transaction: changed 10 minutes before night 1's cutoff, committed after its extract
    erp.put("VBAP", vbap("10000002", "50"), before_cutoff(NIGHT1, 10))
    erp.put("VBAP", vbap("10000003", "70"), before_cutoff(NIGHT2, 300))
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
    erp.put("VBAP", vbap("10000001", "100"), before_cutoff(NIGHT1, 300))
    erp.put("VBAP", vbap("10000002", "40"), before_cutoff(NIGHT1, 290))
    extract(settings, NIGHT1)
    erp.delete("VBAP", ("10000002", "000010"), before_cutoff(NIGHT2, 200), change_document=True)
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
    erp.put("BSID", customer_item("1400000001"), before_cutoff(NIGHT1, 400))
    extract(settings, NIGHT1)
    # night 2: paid and cleared (BSID row deleted, BSAD row written in the same transaction)
    erp.delete("BSID", key, before_cutoff(NIGHT2, 300), change_document=False)
    erp.put("BSAD", customer_item("1400000001", cleared_on="20260303"), before_cutoff(NIGHT2, 300))
    assert extract(settings, NIGHT2)["tombstones"] == 1  # BSID's row, found by key reconciliation
    # night 3: the payment came back; the clearing is reset (FBRA)
    erp.delete("BSAD", key, before_cutoff(NIGHT3, 300), change_document=False)
    erp.put("BSID", customer_item("1400000001"), before_cutoff(NIGHT3, 300))
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
    erp.put("VBAP", vbap("10000001", "100"), before_cutoff(NIGHT1, 300))
    extract(settings, NIGHT1)
    with psycopg.connect(erp.url) as conn:
        conn.execute('alter table sapsr3."VBAP" add column "ZZGRADE" varchar(10)')
    erp.put("VBAP", {**vbap("10000002", "60"), "ZZGRADE": "A1"}, before_cutoff(NIGHT2, 300))
    assert extract(settings, NIGHT2)["new_versions"] == 1
    with psycopg.connect(erp.url) as conn:
        conn.execute('alter table sapsr3."VBAP" drop column "NETWR"')
    erp.put("VBAP", vbap_without_netwr("10000003"), before_cutoff(NIGHT3, 300))
    erp.put(
        "VBAK",
        {"VBELN": "10000003", "VBTYP": "C", "AUART": "ZOR", "KUNNR": "0000100001"},
        before_cutoff(NIGHT3, 300),
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


class Forwarder:
    """The forwarder's API as the extract reads it (an outside system: its HTTP client is tested on its own
    in tests/unit/test_logistics_client.py)."""

    base_url = "forwarder:test"
    retries = 0

    def __init__(self, records: list[dict[str, object]]) -> None:
        self.records = records

    def shipments(self, updated_after: datetime | None) -> list[dict[str, object]]:
        return self.records


def shipment(shipment_id: str, booked: datetime) -> dict[str, object]:
    """A shipment just booked: no events, no containers yet."""
    return {
        "shipment_id": shipment_id,
        "created_at": booked.isoformat(),
        "updated_at": booked.isoformat(),
        "order_id": "10000001",
        "order_item": "000010",
        "mode": "SEA",
        "status": "BOOKED",
        "etd_planned": "2026-03-20",
        "eta_planned": "2026-04-10",
        "events": [],
        "containers": [],
        "plan_revisions": [],
    }


def test_a_shipment_without_events_is_in_staging_from_its_booking(history) -> None:
    """Defect 9: a shipment booked but not yet moved (no events) is kept, as of its booking."""
    _, settings = history
    booked_night1 = before_cutoff(NIGHT1, 120)
    booked_night2 = before_cutoff(NIGHT2, 120)
    forwarder = Forwarder([shipment("SHP-1", booked_night1), shipment("SHP-2", booked_night2)])
    with psycopg.connect(settings.warehouse_url) as conn:
        ensure_schema(conn)  # what the pipeline's entry points do before landing

    extract_shipments(settings.warehouse_url, *pipeline.interval_for(NIGHT2), settings, forwarder)  # type: ignore[arg-type]

    night1 = staging(settings, NIGHT1, "stg_logistics__shipments", "shipment_id")
    night2 = staging(settings, NIGHT2, "stg_logistics__shipments", "shipment_id")
    assert set(night1) == {"SHP-1"}, "booked by night 1's cutoff, without events"
    assert night1["SHP-1"]["event_count"] == 0
    assert set(night2) == {"SHP-1", "SHP-2"}
