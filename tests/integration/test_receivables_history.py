"""fct_receivables_daily keeps exact history (issue 5, defect 4), on a hand-made SAP source.

Each test writes customer items (BSID open, BSAD cleared) into a tiny ERP database with explicit change
times, drives the nights through the pipeline's entry points (``pipeline.extract_erp``, then dbt as of the
night) and compares every snapshot date with an expectation computed here from what the ERP held at the
date's cutoff (``Ledger``), never from dbt models:

- a snapshot date shows the items open on it as known at its cutoff, late commits included;
- later nights (a clearing reset, a backdated posting) do not rewrite it; a gap of missed nights is filled;
- a late commit rebuilds the dates it changes, whole (a date can end up with no rows);
- re-running an old night and a full refresh reproduce the same snapshots.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

import psycopg
import pytest

from o2c import pipeline
from o2c.business_calendar import cutoff_for
from o2c.transform.build import DbtError, run_dbt
from tests.integration.sap_source import (
    Erp,
    before_cutoff,
    build_and_publish_night,
    customer_item,
    source_and_warehouse,
)

pytestmark = pytest.mark.integration

NIGHTS = [date(2026, 3, 2) + timedelta(days=n) for n in range(6)]
N1, N2, N3, N4, N5, N6 = NIGHTS
SELECT = ["+fct_receivables_daily", "+int_customer_items"]


def sap(day: date) -> str:
    return day.strftime("%Y%m%d")


def item_id(belnr: str) -> str:
    return f"1000-2026-{belnr}-001"


@dataclass
class Ledger:
    """The test's own record of the ERP's customer items: every write with its change time.

    ``open_on(d)`` replays the writes changed by d's cutoff, in change-time order, into BSID and BSAD as the
    ERP held them then, and applies the business rule: open if in BSID, or in BSAD cleared after d; posted
    by d.
    """

    erp: Erp
    writes: list[tuple[datetime, str, str, dict[str, object] | None]] = field(default_factory=list)

    def post(
        self,
        belnr: str,
        posted: date,
        amount: str,
        when: datetime,
        *,
        credit: bool = False,
        billed: bool = True,
    ) -> None:
        """Post an item (a credit with ``credit``: SHKZG H; without a billing document unless ``billed``)."""
        row = {
            **customer_item(belnr),
            "BUDAT": sap(posted),
            "BLDAT": sap(posted),
            "ZFBDT": sap(posted),
            "WRBTR": Decimal(amount),
            "XBLNR": "9" + belnr[3:],
            "VBELN": "9" + belnr[3:] if billed else "",
            "SHKZG": "H" if credit else "S",
        }
        self.erp.put("BSID", row, when)
        self.writes.append((when, "BSID", belnr, row))

    def clear(self, belnr: str, cleared: date, when: datetime) -> None:
        """Clearing: the BSID row moves to BSAD in one transaction."""
        row = dict(self._current("BSID", belnr))
        row.update(AUGDT=sap(cleared), AUGBL="1500000001")
        self.erp.delete("BSID", self._key(belnr), when, change_document=False)
        self.erp.put("BSAD", row, when)
        self.writes += [(when, "BSID", belnr, None), (when, "BSAD", belnr, row)]

    def reset(self, belnr: str, when: datetime) -> None:
        """Clearing reset (FBRA): the BSAD row is deleted and the BSID row re-created."""
        row = {k: v for k, v in self._current("BSAD", belnr).items() if k not in ("AUGDT", "AUGBL")}
        self.erp.delete("BSAD", self._key(belnr), when, change_document=False)
        self.erp.put("BSID", row, when)
        self.writes += [(when, "BSAD", belnr, None), (when, "BSID", belnr, row)]

    def open_on(self, day: date) -> dict[str, Decimal]:
        tables: dict[str, dict[str, dict[str, object]]] = {"BSID": {}, "BSAD": {}}
        for when, table, belnr, row in sorted(self.writes, key=lambda w: w[0]):
            if when > cutoff_for(day):
                continue
            if row is None:
                tables[table].pop(belnr, None)
            else:
                tables[table][belnr] = row
        result = {}
        for table, rows in tables.items():
            for belnr, row in rows.items():
                posted = datetime.strptime(str(row["BUDAT"]), "%Y%m%d").date()
                cleared = datetime.strptime(str(row["AUGDT"]), "%Y%m%d").date() if table == "BSAD" else None
                if posted <= day and (cleared is None or cleared > day):
                    result[item_id(belnr)] = Decimal(str(row["WRBTR"])).quantize(Decimal("0.01"))
        return result

    def _current(self, table: str, belnr: str) -> dict[str, object]:
        rows = [row for _, t, b, row in sorted(self.writes, key=lambda w: w[0]) if t == table and b == belnr]
        assert rows and rows[-1] is not None, f"{belnr} is not in {table}"
        return rows[-1]

    @staticmethod
    def _key(belnr: str) -> tuple[str, ...]:
        return ("1000", belnr, "2026", "001")


@pytest.fixture
def ledger(o2c_home, request):
    """A fresh ERP source and warehouse database pair for one test (settings point at them)."""
    erp, settings = source_and_warehouse(o2c_home, "rh_" + request.node.name.replace("test_", "")[:30])
    # a type-M USD -> CNY rate, so that every item converts (GDATU 79739798 = 99999999 - 20260201)
    erp.put(
        "TCURR",
        {"KURST": "M", "FCURR": "USD", "TCURR": "CNY", "GDATU": "79739798", "UKURS": Decimal("7.2")},
        before_cutoff(N1, 600),
    )
    return Ledger(erp), settings


def night(
    settings, as_of: date, *, extract: bool = True, full_refresh: bool = False, fail_tests: bool = False
) -> None:
    """One nightly run: land the night's ERP changes, then build the receivables and their tests in the
    shadow schema and publish them (``pipeline.build_marts`` with a narrower selection). ``fail_tests``
    fails the build after the models were built (the publish gate test), so nothing is published."""
    if extract:
        pipeline.extract_erp(*pipeline.interval_for(as_of), settings)
    args = ["build", "--select", *SELECT, "--indirect-selection", "cautious"]
    if full_refresh:
        args.append("--full-refresh")
    build_and_publish_night(settings, as_of, args, {"o2c_fail_publish_gate": True} if fail_tests else None)


def snapshots(settings) -> dict[date, dict[str, Decimal]]:
    """Every built snapshot date (from the bookkeeping, so dates without rows count; the dates with rows
    for a model that keeps none, like the old one) and its published items."""
    with psycopg.connect(settings.warehouse_url, autocommit=True) as conn:
        bookkeeping = conn.execute(
            "select to_regclass('marts_next.fct_receivables_daily__builds')"
        ).fetchone()
        dates = (
            conn.execute("select snapshot_date from marts_next.fct_receivables_daily__builds").fetchall()
            if bookkeeping and bookkeeping[0]
            else conn.execute("select distinct snapshot_date from marts.fct_receivables_daily").fetchall()
        )
        rows = conn.execute(
            "select snapshot_date, customer_item_id, open_amount from marts.fct_receivables_daily"
        ).fetchall()
    result: dict[date, dict[str, Decimal]] = {d: {} for (d,) in dates}
    for day, item, amount in rows:
        assert day in result, f"rows for {day}, a date the bookkeeping does not list"
        result[day][item] = amount
    return result


def built_by(settings) -> dict[date, date]:
    """The as-of date of the run that last built each snapshot date."""
    with psycopg.connect(settings.warehouse_url, autocommit=True) as conn:
        return dict(
            conn.execute(
                "select snapshot_date, as_of_date from marts_next.fct_receivables_daily__builds"
            ).fetchall()
        )


def expected(ledger: Ledger, first: date, last: date) -> dict[date, dict[str, Decimal]]:
    return {
        first + timedelta(days=n): ledger.open_on(first + timedelta(days=n))
        for n in range((last - first).days + 1)
    }


def test_a_clearing_reset_and_a_backdated_posting_do_not_rewrite_history(ledger) -> None:
    """(a) A cleared on night 2, reset on night 3, cleared again on night 5; C posted on night 4 with a
    posting date of night 2. The old model rebuilt the last 4 dates from the as-of state: night 3 showed A
    open on night 2 and night 4 showed C open on night 2."""
    book, settings = ledger
    book.post("1400000001", N1, "1000.00", before_cutoff(N1, 400))
    book.post("1400000002", N1, "250.00", before_cutoff(N1, 390))
    night(settings, N1)
    book.clear("1400000001", N2, before_cutoff(N2, 300))
    night(settings, N2)
    book.reset("1400000001", before_cutoff(N3, 300))
    night(settings, N3)
    book.post("1400000003", N2, "75.50", before_cutoff(N4, 200))
    night(settings, N4)
    book.clear("1400000001", N5, before_cutoff(N5, 300))
    night(settings, N5)
    truth = expected(book, N1, N5)
    assert {d: set(items) for d, items in truth.items()} == {
        N1: {item_id("1400000001"), item_id("1400000002")},
        N2: {item_id("1400000002")},
        N3: {item_id("1400000001"), item_id("1400000002")},
        N4: {item_id("1400000001"), item_id("1400000002"), item_id("1400000003")},
        N5: {item_id("1400000002"), item_id("1400000003")},
    }, "the scenario itself"
    assert snapshots(settings) == truth
    # each night rebuilt only the dates its changes affect: here, its own
    assert built_by(settings) == {d: d for d in NIGHTS[:5]}

    # night 2 re-run late (a backfill: nothing new lands) changes nothing
    night(settings, N2)
    assert snapshots(settings) == truth
    assert built_by(settings) == {d: d for d in NIGHTS[:5]}

    night(settings, N5, extract=False, full_refresh=True)
    assert snapshots(settings) == truth
    assert built_by(settings) == {d: N5 for d in NIGHTS[:5]}


def test_missed_nights_are_built(ledger) -> None:
    """(b) Nights 2-5 never ran (catchup off): night 6 builds every date since night 1. The old model
    rebuilt only the last 4 dates, so night 2 never existed."""
    book, settings = ledger
    book.post("1400000001", N1, "1000.00", before_cutoff(N1, 400))
    book.post("1400000002", N1, "250.00", before_cutoff(N1, 390))
    night(settings, N1)
    book.post("1400000003", N3, "500.00", before_cutoff(N3, 100))
    book.clear("1400000001", N4, before_cutoff(N4, 300))
    night(settings, N6)
    truth = expected(book, N1, N6)
    assert item_id("1400000001") in truth[N3] and item_id("1400000001") not in truth[N4], "the scenario"
    assert snapshots(settings) == truth
    assert built_by(settings) == {N1: N1, **{d: N6 for d in NIGHTS[1:]}}


def test_a_late_commit_rebuilds_the_night_it_belongs_to(ledger) -> None:
    """(c) B is cleared 10 minutes before night 2's cutoff in a transaction committed after night 2's
    extract; night 3 lands it and rebuilds night 2 (re-runs include late commits), not night 1."""
    book, settings = ledger
    book.post("1400000001", N1, "1000.00", before_cutoff(N1, 400))
    book.post("1400000002", N1, "250.00", before_cutoff(N1, 390))
    night(settings, N1)
    night(settings, N2)
    assert set(snapshots(settings)[N2]) == {item_id("1400000001"), item_id("1400000002")}
    book.clear("1400000002", N2, before_cutoff(N2, 10))  # committed now, after night 2's run
    book.post("1400000003", N3, "40.00", before_cutoff(N3, 200))
    night(settings, N3)
    truth = expected(book, N1, N3)
    assert set(truth[N2]) == {item_id("1400000001")}, "the scenario"
    assert snapshots(settings) == truth
    assert built_by(settings) == {N1: N1, N2: N3, N3: N3}


def test_a_date_left_without_open_items_is_replaced_whole(ledger) -> None:
    """(d) The only open item is cleared late (changed before night 2's cutoff, landed by night 3): nights
    2 and 3 have no rows. The old model's delete+insert on (date, item) deleted only keys that came back,
    so night 2 kept the item."""
    book, settings = ledger
    book.post("1400000001", N1, "1000.00", before_cutoff(N1, 400))
    night(settings, N1)
    night(settings, N2)
    assert snapshots(settings)[N2] == {item_id("1400000001"): Decimal("1000.00")}
    book.clear("1400000001", N2, before_cutoff(N2, 10))
    night(settings, N3)
    truth = expected(book, N1, N3)
    assert truth == {N1: {item_id("1400000001"): Decimal("1000.00")}, N2: {}, N3: {}}, "the scenario"
    assert snapshots(settings) == truth
    with psycopg.connect(settings.warehouse_url, autocommit=True) as conn:
        counts = conn.execute(
            "select snapshot_date, item_count from marts_next.fct_receivables_daily__builds order by 1"
        ).fetchall()
    assert counts == [(N1, 1), (N2, 0), (N3, 0)]


def test_a_build_that_was_not_published_is_redone(ledger) -> None:
    """Night 2's build fails its tests after building: nothing is published, and the next build starts from
    the published rows (write-audit-publish restores them). The bookkeeping of the failed build no longer
    matches the table, so night 2's re-run builds it again."""
    book, settings = ledger
    book.post("1400000001", N1, "1000.00", before_cutoff(N1, 400))
    night(settings, N1)
    book.post("1400000002", N2, "250.00", before_cutoff(N2, 300))
    with pytest.raises(DbtError):
        night(settings, N2, fail_tests=True)
    with psycopg.connect(settings.warehouse_url, autocommit=True) as conn:
        published = conn.execute(
            "select count(*) from marts.fct_receivables_daily where snapshot_date = %s", (N2,)
        ).fetchone()
    assert published == (0,), "nothing of the failed build is published"
    night(settings, N2, extract=False)
    assert snapshots(settings) == expected(book, N1, N2)


def test_the_ar_roll_forward_holds_across_late_changes(ledger) -> None:
    """assert_ar_roll_forward on nightly history across the month end 2026-03-31. Known after its cutoff:
    A's clearing dated 03-30, B's clearing reset (cleared again on 04-03), C posted on 03-31, F and the credit
    memo E (posted 04-02) cleared together dated 03-30, so E is never open. The month end's snapshot (A, D, F)
    differs from the items as known now (B, C, D) by B + C - A - F = -1,270.00: the late-changes line carries
    it and the roll-forward holds in March and April (without it, off by 1,270.00 both months). An item
    missing from the month end's snapshot then fails the test. Items without billing documents: no VBRK."""
    book, settings = ledger
    march_end = date(2026, 3, 31)
    night_of = {d: date(2026, *d) for d in [(3, 27), (3, 28), (4, 1), (4, 2), (4, 3), (4, 30)]}

    def extract(month: int, day: int) -> None:
        pipeline.extract_erp(*pipeline.interval_for(night_of[(month, day)]), settings)

    book.post("1400000001", date(2026, 3, 20), "1000.00", before_cutoff(date(2026, 3, 20), 300), billed=False)
    book.post("1400000002", date(2026, 3, 10), "200.00", before_cutoff(date(2026, 3, 10), 300), billed=False)
    book.post("1400000004", date(2026, 3, 5), "40.00", before_cutoff(date(2026, 3, 5), 300), billed=False)
    book.post("1400000006", date(2026, 3, 15), "500.00", before_cutoff(date(2026, 3, 15), 300), billed=False)
    extract(3, 27)  # the first load
    book.clear("1400000002", date(2026, 3, 28), before_cutoff(date(2026, 3, 28), 300))
    extract(3, 28)
    book.reset("1400000002", before_cutoff(date(2026, 4, 1), 400))
    book.post("1400000003", march_end, "30.00", before_cutoff(date(2026, 4, 1), 300), billed=False)
    extract(4, 1)
    book.clear("1400000001", date(2026, 3, 30), before_cutoff(date(2026, 4, 2), 500))
    book.post(
        "1400000005",
        date(2026, 4, 2),
        "50.00",
        before_cutoff(date(2026, 4, 2), 450),
        credit=True,
        billed=False,
    )
    book.clear("1400000006", date(2026, 3, 30), before_cutoff(date(2026, 4, 2), 400))
    book.clear("1400000005", date(2026, 3, 30), before_cutoff(date(2026, 4, 2), 400))
    book.clear("1400000004", date(2026, 4, 2), before_cutoff(date(2026, 4, 2), 300))
    extract(4, 2)
    book.clear("1400000002", date(2026, 4, 3), before_cutoff(date(2026, 4, 3), 300))
    extract(4, 3)
    extract(4, 30)
    select = ["+fct_receivables_daily", "+int_customer_items", "+fct_invoices", "int_customer_item_versions"]
    for as_of in (night_of[(4, 3)], night_of[(4, 30)]):  # the build runs the roll-forward: it would raise
        build_and_publish_night(
            settings,
            as_of,
            ["build", "--select", *select, "assert_ar_roll_forward", "--indirect-selection", "cautious"],
        )
    assert set(snapshots(settings)[march_end]) == {
        item_id(b) for b in ("1400000001", "1400000004", "1400000006")
    }

    with psycopg.connect(settings.warehouse_url, autocommit=True) as conn:
        conn.execute(
            "delete from marts_next.fct_receivables_daily where snapshot_date = %s and customer_item_id = %s",
            (march_end, item_id("1400000004")),
        )
    with pytest.raises(DbtError, match="assert_ar_roll_forward"):
        run_dbt(
            ["test", "--select", "assert_ar_roll_forward"],
            night_of[(4, 30)],
            settings.warehouse_url,
            settings,
        )
