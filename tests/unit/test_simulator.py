"""The simulator: deterministic, at the promised scale, and internally consistent."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from o2c.simulate.bank_files import bank_files, statements
from o2c.simulate.world import (
    RULE_AR_OVERDUE,
    RULE_ORDER_OVERDUE,
    RULE_PRICE_BAND,
    RULE_QTY_TOLERANCE,
    TERMS,
    SimConfig,
    build_world,
)
from o2c.sources.bank.model import BankFileError
from o2c.sources.bank.parse import parse_bank_bytes

SMALL = SimConfig(seed=7, days=40, customers=30, lines_per_day=14.0, bad_bank_file_day=20)


@pytest.fixture(scope="module")
def default_world():
    return build_world(SimConfig())


@pytest.fixture(scope="module")
def small_world():
    return build_world(SMALL)


def test_same_seed_same_world(small_world) -> None:
    again = build_world(SMALL)
    assert again.erp == small_world.erp
    assert again.payments == small_world.payments
    assert [c.__dict__ for c in again.cases] == [c.__dict__ for c in small_world.cases]
    assert [b.content for b in bank_files(again)] == [b.content for b in bank_files(small_world)]


def test_other_seed_other_world(small_world) -> None:
    other = build_world(SimConfig(seed=8, days=40, customers=30, lines_per_day=14.0))
    assert other.erp["VBAP"] != small_world.erp["VBAP"]


def test_default_scale_is_a_mid_size_trader(default_world) -> None:
    cutoff = datetime.combine(default_world.config.end + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    customers = default_world.erp_as_of("KNA1", cutoff)
    products = default_world.erp_as_of("MARA", cutoff)
    assert len(customers) >= 100
    assert len(products) >= 20
    assert len({p["MATKL"] for p in products}) >= 3
    assert len(default_world.erp_as_of("ZSD_SALES_REP", cutoff)) >= 5
    order_lines = [r for r in default_world.erp_as_of("VBAP", cutoff) if r["VGBEL"]]
    assert len(order_lines) >= 5000
    assert default_world.config.days == 120
    assert Counter(c.rule_id for c in default_world.cases).keys() == {
        RULE_ORDER_OVERDUE,
        RULE_QTY_TOLERANCE,
        RULE_PRICE_BAND,
        RULE_AR_OVERDUE,
    }


def test_clean_invoices_are_paid_by_their_due_date(default_world) -> None:
    cutoff = datetime.combine(default_world.config.end + timedelta(days=400), datetime.min.time(), tzinfo=UTC)
    invoices = {r["VBELN"]: r for r in default_world.erp_as_of("VBRK", cutoff)}
    unpaid = {c.entity_key for c in default_world.cases if c.rule_id == RULE_AR_OVERDUE}
    paid = {p.invoice_id: p for p in default_world.payments}
    assert not unpaid & set(paid)
    for invoice_id, payment in paid.items():
        invoice = invoices[invoice_id]
        billed = datetime.strptime(invoice["FKDAT"], "%Y%m%d").date()
        due = billed + timedelta(days=TERMS[invoice["ZTERM"]])
        assert billed <= payment.booking_date <= due, invoice_id
        assert payment.amount == invoice["NETWR"]


def test_erp_as_of_shows_late_changes_only_after_they_happen(small_world) -> None:
    revised = [
        (key, versions)
        for key, versions in small_world.erp["VBAP"].items()
        if len(versions) > 1 and versions[0][1] and versions[-1][1]
    ]
    assert revised, "the simulator must change some order lines after creation"
    key, versions = revised[0]
    first_at, last_at = versions[0][0], max(v[0] for v in versions)
    before = {
        (r["VBELN"], r["POSNR"]): r for r in small_world.erp_as_of("VBAP", last_at - timedelta(seconds=1))
    }
    after = {(r["VBELN"], r["POSNR"]): r for r in small_world.erp_as_of("VBAP", last_at)}
    assert before[key]["CHANGED_AT"] < after[key]["CHANGED_AT"] == last_at
    assert first_at <= before[key]["CHANGED_AT"]


def test_cleared_items_leave_bsid_for_bsad(small_world) -> None:
    cutoff = datetime.combine(SMALL.end + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    open_keys = {(r["BELNR"]) for r in small_world.erp_as_of("BSID", cutoff)}
    cleared_keys = {(r["BELNR"]) for r in small_world.erp_as_of("BSAD", cutoff)}
    assert cleared_keys and open_keys
    assert not open_keys & cleared_keys


def test_bank_files_reconcile_except_the_injected_corrupt_one(small_world) -> None:
    kinds = Counter()
    for bank_file in bank_files(small_world):
        kinds[bank_file.kind] += 1
        if bank_file.kind == "corrupt":
            with pytest.raises(BankFileError, match="closing"):
                parse_bank_bytes(bank_file.content, bank_file.name)
        else:
            parsed = parse_bank_bytes(bank_file.content, bank_file.name)
            assert parsed.format == ("mt940" if bank_file.name.endswith(".sta") else "camt053")
    assert kinds["corrupt"] == 1 and kinds["resend"] == 1 and kinds["duplicate"] == 1


def test_statements_carry_balances_forward(small_world) -> None:
    by_currency: dict[str, list] = {}
    for stmt in statements(small_world):
        by_currency.setdefault(stmt.currency, []).append(stmt)
    for series in by_currency.values():
        for previous, current in itertools.pairwise(series):
            assert current.opening == previous.closing
    credits = sum(p.amount for p in small_world.payments if p.booking_date <= SMALL.end)
    assert credits > Decimal(0)


def test_injected_cases_have_dates_inside_the_range(small_world) -> None:
    for case in small_world.cases:
        assert SMALL.start <= case.reference_date <= SMALL.end + timedelta(days=120), case
    assert date(2026, 6, 1) == SMALL.start
