"""The simulator: deterministic, at the promised scale, and internally consistent."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from o2c.simulate.bank.files import bank_files
from o2c.simulate.bank.statements import statements
from o2c.simulate.world import (
    RULE_AR_OVERDUE,
    RULE_ORDER_OVERDUE,
    RULE_PRICE_BAND,
    RULE_QTY_TOLERANCE,
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
    assert again.contracts == small_world.contracts
    assert again.order_line_truth == small_world.order_line_truth
    assert again.master_data_changes == small_world.master_data_changes


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
    orders = {r["VBELN"] for r in default_world.erp_as_of("VBAK", cutoff) if r["VBTYP"] == "C"}
    order_lines = [r for r in default_world.erp_as_of("VBAP", cutoff) if r["VBELN"] in orders]
    assert len(order_lines) >= 5000
    assert default_world.config.days == 120
    assert Counter(c.rule_id for c in default_world.cases).keys() == {
        RULE_ORDER_OVERDUE,
        RULE_QTY_TOLERANCE,
        RULE_PRICE_BAND,
        RULE_AR_OVERDUE,
    }


def test_items_are_cleared_by_their_due_date_unless_a_case_says_otherwise(default_world) -> None:
    """Clean items clear on or before their net due date; the only late clearings are the boundary cases:
    one day late (cleared by that day's end: never overdue) and two days late (an AR case for one day)."""
    cutoff = datetime.combine(default_world.config.end + timedelta(days=400), datetime.min.time(), tzinfo=UTC)
    cases = {c.entity_key: c for c in default_world.cases if c.rule_id == RULE_AR_OVERDUE}
    late = Counter()
    for item in default_world.erp_as_of("BSAD", cutoff):
        posted = datetime.strptime(item["ZFBDT"], "%Y%m%d").date()
        due = posted if item["SHKZG"] == "H" else posted + timedelta(days=int(item["ZBD2T"] or item["ZBD1T"]))
        cleared = datetime.strptime(item["AUGDT"], "%Y%m%d").date()
        key = f"{item['BUKRS']}-{item['GJAHR']}-{item['BELNR']}-{item['BUZEI']}"
        if item["SHKZG"] == "H":
            continue  # a credit memo is "due" at once and cleared when deducted from a payment
        if cleared <= due:
            assert key not in cases or cases[key].until is not None, key
            continue
        late[(cleared - due).days] += 1
        if cleared == due + timedelta(days=2):
            assert cases[key].until == due + timedelta(days=1), key
        else:
            assert cleared == due + timedelta(days=1) and key not in cases, (key, cleared, due)
    assert late[1] > 0 and late[2] > 0, "the boundary cases exist"
    open_items = {
        f"{i['BUKRS']}-{i['GJAHR']}-{i['BELNR']}-{i['BUZEI']}"
        for i in default_world.erp_as_of("BSID", cutoff)
    }
    never_paid = {k for k, c in cases.items() if c.until is None}
    assert never_paid <= open_items


def test_the_small_scenario_has_every_boundary_case(small_world) -> None:
    notes = Counter((c.rule_id, c.note.split(" ")[0]) for c in small_world.cases)
    for wanted in [
        ("AR_OVERDUE", "paid"),  # two days late
        ("AR_OVERDUE", "instalment"),
        ("ORD_OVERDUE", "remainder"),
        ("ORD_OVERDUE", "delivered"),  # two days late
        ("QTY_TOLERANCE", "delivered"),
        ("PRICE_BAND", "price"),
    ]:
        assert notes[wanted] > 0, wanted
    assert small_world.credit_memos and small_world.deleted_orders and small_world.reset_items
    assert small_world.late_commits


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
    open_keys = {(r["BELNR"], r["BUZEI"]) for r in small_world.erp_as_of("BSID", cutoff)}
    cleared_keys = {(r["BELNR"], r["BUZEI"]) for r in small_world.erp_as_of("BSAD", cutoff)}
    assert cleared_keys and open_keys
    assert not open_keys & cleared_keys


def test_bank_files_reconcile_except_the_injected_corrupt_one(small_world) -> None:
    """Every statement file parses and reconciles but the corrupt one. Intraday reports (MT942, camt.052)
    and notifications (camt.054) are not statements: ``test_simulator_payments`` checks them against the
    schemas and the statements they precede."""
    kinds = Counter()
    for bank_file in bank_files(small_world):
        kinds[bank_file.kind] += 1
        if bank_file.kind in ("intraday", "notification"):
            continue
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


def _tcurr(world, cutoff: datetime) -> dict[tuple[date, str, str], Decimal]:
    """Units of TCURR per 1 FCURR by (valid-from, FCURR, TCURR), decoded from SAP's storage rules."""
    rates = {}
    for row in world.erp_as_of("TCURR", cutoff):
        valid_from = datetime.strptime(f"{99999999 - int(row['GDATU']):08d}", "%Y%m%d").date()
        ukurs = row["UKURS"]
        rate = (1 / -ukurs if ukurs < 0 else ukurs) * row["TFACT"] / row["FFACT"]
        rates[(valid_from, row["FCURR"], row["TCURR"])] = rate
    return rates


def test_tcurr_is_stored_as_sap_stores_it(small_world) -> None:
    cutoff = datetime.combine(SMALL.end + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    rows = small_world.erp_as_of("TCURR", cutoff)
    assert {r["KURST"] for r in rows} == {"M"}
    first = next(r for r in rows if (r["FCURR"], r["TCURR"]) == ("USD", "CNY") and r["GDATU"] == "79739398")
    assert first["UKURS"] > 0, "2026-06-01 is stored inverted as 79739398"
    assert all(len(r["GDATU"]) == 8 for r in rows)
    indirect = {(r["FCURR"], r["TCURR"]) for r in rows if r["UKURS"] < 0}
    assert indirect == {("USD", "EUR"), ("SGD", "USD")}
    assert {r["FCURR"] for r in rows if r["FFACT"] == 100} == {"JPY"}
    days = {SMALL.start + timedelta(days=d) for d in range(SMALL.days)}
    rates = _tcurr(small_world, cutoff)
    for pair in {(r["FCURR"], r["TCURR"]) for r in rows}:
        assert days <= {d for d, f, t in rates if (f, t) == pair}, f"{pair} is published every day"
    eur_usd = 1 / rates[(SMALL.start, "USD", "EUR")]
    assert Decimal("0.9") < eur_usd < Decimal("1.3"), "1 EUR is about 1.085 USD, not its inverse"
    assert Decimal("0.005") < rates[(SMALL.start, "JPY", "USD")] < Decimal("0.009"), "per 1 JPY, not per 100"


def test_customers_bill_in_eur_and_sgd_and_pay_into_an_account_of_that_currency(default_world) -> None:
    cutoff = datetime.combine(default_world.config.end + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    billed = Counter(r["WAERK"] for r in default_world.erp_as_of("VBRK", cutoff))
    assert {"CNY", "USD", "EUR", "SGD"} <= set(billed), billed
    paid = Counter(
        p.account_currency for p in default_world.payments if p.booking_date <= default_world.config.end
    )
    assert paid["EUR"] > 0 and paid["SGD"] > 0, paid
    formats = {}
    for bank_file in bank_files(default_world):
        if bank_file.kind == "normal":  # statements (intraday reports and notifications are not)
            parsed = parse_bank_bytes(bank_file.content, bank_file.name)
            for stmt in parsed.statements:
                formats[stmt.currency] = parsed.format
    assert formats == {"USD": "mt940", "SGD": "mt940", "CNY": "camt053", "EUR": "camt053"}


def test_orders_in_any_currency_are_priced_off_the_benchmark_at_the_days_rate(small_world) -> None:
    cutoff = datetime.combine(SMALL.end + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    rates = _tcurr(small_world, cutoff)
    bench = {(r["MATNR"], r["SPMON"]): r["KBETR"] for r in small_world.erp_as_of("ZMM_PRICE_BENCH", cutoff)}
    injected = {c.entity_key for c in small_world.cases if c.rule_id == RULE_PRICE_BAND}
    usd_per = {
        "USD": lambda d: Decimal(1),
        "CNY": lambda d: 1 / rates[(d, "USD", "CNY")],
        "EUR": lambda d: 1 / rates[(d, "USD", "EUR")],
        "SGD": lambda d: rates[(d, "SGD", "USD")],
    }
    checked = Counter()
    band = SMALL.price_band_pct / 100
    orders = {r["VBELN"]: r for r in small_world.erp_as_of("VBAK", cutoff) if r["VBTYP"] == "C"}
    for line in small_world.erp_as_of("VBAP", cutoff):
        if line["VBELN"] not in orders or f"{line['VBELN']}-{line['POSNR']}" in injected:
            continue  # contracts have no price
        checked[orders[line["VBELN"]]["AUART"]] += 1
        day = datetime.strptime(line["ERDAT"], "%Y%m%d").date()
        benchmark = bench[(line["MATNR"], day.strftime("%Y%m"))] / usd_per[line["WAERK"]](day)
        assert abs(line["NETPR"] / line["KPEIN"] / benchmark - 1) <= band, line
        checked[line["WAERK"]] += 1
    assert checked["EUR"] > 10 and checked["SGD"] > 10, checked
    assert checked["ZSPT"] > 10 and checked["ZOR"] > 100, "spot and call-off prices alike"


def test_every_line_overdue_at_a_night_is_a_recorded_case(small_world) -> None:
    """ORD_OVERDUE as the rule reads the ERP (the confirmed promise; complete only when LFSTA is C and every
    delivery has had its goods issue), recomputed at several nights: exactly the recorded cases, so call-off
    plans, spot orders and late call-offs add no unrecorded overdue line."""
    from o2c.business_calendar import cutoff_for

    def day(value: str) -> date:
        return datetime.strptime(value, "%Y%m%d").date()

    for night in (SMALL.start + timedelta(days=20), SMALL.end - timedelta(days=1), SMALL.end):
        cutoff = cutoff_for(night)
        headers = {r["VBELN"]: r for r in small_world.erp_as_of("VBAK", cutoff)}
        schedule: dict[tuple[str, str], list] = {}
        for r in small_world.erp_as_of("VBEP", cutoff):
            schedule.setdefault((r["VBELN"], r["POSNR"]), []).append(r)
        issued = {r["VBELN"]: r["WADAT_IST"] for r in small_world.erp_as_of("LIKP", cutoff)}
        deliveries: dict[tuple[str, str], list] = {}
        for r in small_world.erp_as_of("LIPS", cutoff):
            deliveries.setdefault((r["VGBEL"], r["VGPOS"]), []).append(issued[r["VBELN"]])
        overdue = set()
        for line in small_world.erp_as_of("VBAP", cutoff):
            header = headers[line["VBELN"]]
            if header["VBTYP"] != "C" or line["ABGRU"]:
                continue
            lines = schedule[(line["VBELN"], line["POSNR"])]
            confirmed = [day(s["EDATU"]) for s in lines if s["BMENG"] > 0]
            promised = max(confirmed or [day(s["EDATU"]) for s in lines])
            issues = deliveries.get((line["VBELN"], line["POSNR"]), [])
            complete = (
                line["LFSTA"] == "C"
                and bool(issues)
                and all(i != "00000000" and day(i) <= night for i in issues)
            )
            if not complete and promised < night:
                overdue.add(f"{line['VBELN']}-{line['POSNR']}")
        expected = {
            c.entity_key
            for c in small_world.cases
            if c.rule_id == RULE_ORDER_OVERDUE
            and (night - c.reference_date).days > 0
            and (c.until is None or night <= c.until)
        }
        assert overdue == expected, night
