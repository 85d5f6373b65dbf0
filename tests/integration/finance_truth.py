"""Finance figures computed straight from the simulated ERP's rows (not from the warehouse's SQL), for tests
that reconcile the marts against them: open items, aging buckets, monthly sales, countback DSO.

Only the exchange rates come from the warehouse (``int_fx_rates_daily``, tested on its own in
``test_fx_rates``): everything else is read from the ERP tables as the simulator holds them."""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from o2c.business_calendar import cutoff_for
from o2c.simulate.model import World

CENT = Decimal("0.01")
BUCKETS = ("not_due", "d1_30", "d31_60", "d61_90", "d91_180", "over_180")
SIGN_OF_BILLING_TYPE = {"F2": 1, "ZPRV": 1, "ZFIN": 1, "L2": 1, "G2": -1, "RE": -1, "S1": -1, "S2": 1}


def sap_date(value: str) -> date | None:
    return None if not value or value == "00000000" else datetime.strptime(value, "%Y%m%d").date()


def cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class OpenItem:
    item_id: str
    customer_id: str
    currency: str
    amount: Decimal
    """signed: credit items negative"""
    due: date
    is_credit: bool
    has_billing_document: bool


def net_due(row: Mapping[str, object]) -> date:
    """SAP NET_DUE_DATE_GET: a credit without invoice reference is due at its baseline; else ZBD3T, ZBD2T,
    ZBD1T days after it, the last one set."""
    baseline = sap_date(str(row["ZFBDT"]))
    assert baseline is not None
    if row["SHKZG"] == "H" and not str(row.get("REBZG") or "").strip():
        return baseline
    days = next((int(row[f]) for f in ("ZBD3T", "ZBD2T", "ZBD1T") if int(row[f] or 0) > 0), 0)
    return date.fromordinal(baseline.toordinal() + days)


def open_items(
    world: World, day: date, late_commits_arrived: bool, first_load: date | None = None
) -> list[OpenItem]:
    """The customer items open at the end of ``day``: posted by then, in BSID at its cutoff, or in BSAD with a
    clearing date after it. ``late_commits_arrived``: see versions changed by the cutoff however late
    committed (a date whose next nights were already extracted). ``first_load``: the date of the warehouse's
    first extraction, which saw each row's latest version only; a change between ``day``'s cutoff and then (a
    clearing posted days after its clearing date, a clearing reset) is invisible to it, so such an item reads as
    of that load."""
    cutoff = cutoff_for(day)
    hidden: set[tuple[str, ...]] = set()
    if first_load is not None and day < first_load:
        # the first load saw each item's latest version only: an item changed after ``day``'s cutoff and before
        # that load (cleared a few days after the bank booked its payment, a clearing reset) has no earlier
        # version in the warehouse, and its first-load state stands for ``day``
        first_cutoff = cutoff_for(first_load)
        for table in ("BSID", "BSAD"):
            for key, versions in world.erp[table].items():
                if any(cutoff < when <= first_cutoff for when, _ in versions):
                    hidden.add(key)
    rows: list[tuple[str, Mapping[str, object]]] = []
    for table in ("BSID", "BSAD"):
        for row in world.erp_as_of(table, cutoff, by_change_time=late_commits_arrived):
            if tuple(str(row[k]) for k in ("BUKRS", "BELNR", "GJAHR", "BUZEI")) not in hidden:
                rows.append((table, row))
        if hidden and first_load is not None:
            for row in world.erp_as_of(table, cutoff_for(first_load)):
                if tuple(str(row[k]) for k in ("BUKRS", "BELNR", "GJAHR", "BUZEI")) in hidden:
                    rows.append((table, row))
    items = []
    for table, row in rows:
        posted = sap_date(str(row["BUDAT"]))
        if posted is None or posted > day:
            continue
        if table == "BSAD":
            cleared = sap_date(str(row["AUGDT"]))
            if cleared is not None and cleared <= day:
                continue
        sign = -1 if row["SHKZG"] == "H" else 1
        items.append(
            OpenItem(
                item_id="-".join(str(row[k]) for k in ("BUKRS", "GJAHR", "BELNR", "BUZEI")),
                customer_id=str(row["KUNNR"]),
                currency=str(row["WAERS"]),
                amount=sign * Decimal(str(row["WRBTR"])),
                due=net_due(row),
                is_credit=sign < 0,
                has_billing_document=bool(str(row.get("VBELN") or "").strip()),
            )
        )
    return items


def bucket(days_past_due: int) -> str:
    for name, high in zip(BUCKETS, (0, 30, 60, 90, 180), strict=False):
        if days_past_due <= high:
            return name
    return "over_180"


def aging(
    items: Sequence[OpenItem], day: date, to_usd: Mapping[str, Decimal]
) -> dict[str, dict[str, Decimal]]:
    """Per customer: USD per aging column (debit items by days past due; credit memos and unapplied cash
    apart) and the total, each item converted and rounded to the cent first."""
    out: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for item in items:
        usd = cents(item.amount * to_usd[item.currency])
        if not item.is_credit:
            column = bucket((day - item.due).days)
        elif item.has_billing_document:
            column = "credit_memo"
        else:
            column = "unapplied_cash"
        out[item.customer_id][column] += usd
        out[item.customer_id]["total"] += usd
    return {customer: dict(columns) for customer, columns in out.items()}


def monthly_sales_usd(
    world: World, as_of: date, rates: Mapping[tuple[date, str], Decimal]
) -> dict[date, Decimal]:
    """Signed gross billed per month (first day) up to ``as_of``, USD at each document's date, cancelled
    documents and cancellations (S1/S2) left out."""
    sales: dict[date, Decimal] = defaultdict(Decimal)
    for row in world.erp_as_of("VBRK", cutoff_for(as_of)):
        billed = sap_date(str(row["FKDAT"]))
        if billed is None or billed > as_of or row.get("FKSTO") == "X" or row["FKART"] in ("S1", "S2"):
            continue
        sign = SIGN_OF_BILLING_TYPE.get(str(row["FKART"]), 1)
        gross = Decimal(str(row["NETWR"])) + Decimal(str(row["MWSBK"]))
        sales[billed.replace(day=1)] += sign * cents(gross * rates[(billed, str(row["WAERK"]))])
    return dict(sales)


def countback_dso(ar: Decimal, months: Sequence[tuple[int, Decimal]]) -> Decimal | None:
    """Countback DSO: ``months`` are (days, sales) from the period's month backwards."""
    if ar <= 0:
        return Decimal(0)
    remainder, days = ar, Decimal(0)
    for month_days, sales in months:
        covering = max(sales, Decimal(0))
        if covering >= remainder:
            return days + remainder / covering * month_days
        remainder -= covering
        days += month_days
    return None


def under_lifting_contracts(ground_truth: Path, day: date) -> set[str]:
    """The simulator's ground truth: contracts under-lifting on ``day`` (contract_under_lifting.csv)."""
    with (ground_truth / "contract_under_lifting.csv").open() as handle:
        return {
            row["contract_id"]
            for row in csv.DictReader(handle)
            if date.fromisoformat(row["from_date"]) <= day <= date.fromisoformat(row["to_date"])
        }


@dataclass(frozen=True)
class LineOutcome:
    is_on_time: bool
    is_in_full: bool


def delivered_line_outcomes(world: World, day: date) -> dict[str, LineOutcome]:
    """Every order line delivered complete by ``day`` (VBAP LFSTA C at its cutoff), on time (its last goods
    issue no later than the last confirmed schedule line's date) and in full (delivered quantity within the
    line's UNTTO/UEBTO band), read from VBAK/VBAP/VBEP/LIKP/LIPS."""
    cutoff = cutoff_for(day)
    orders = {r["VBELN"] for r in world.erp_as_of("VBAK", cutoff) if r["VBTYP"] == "C"}
    promised: dict[str, date] = {}
    for r in world.erp_as_of("VBEP", cutoff):
        if Decimal(str(r["BMENG"])) > 0:
            key = f"{r['VBELN']}-{r['POSNR']}"
            edatu = sap_date(str(r["EDATU"]))
            assert edatu is not None
            promised[key] = max(promised.get(key, edatu), edatu)
    issued = {r["VBELN"]: sap_date(str(r["WADAT_IST"])) for r in world.erp_as_of("LIKP", cutoff)}
    delivered: dict[str, Decimal] = defaultdict(Decimal)
    last_issue: dict[str, date] = {}
    for r in world.erp_as_of("LIPS", cutoff):
        goods_issue = issued.get(r["VBELN"])
        if goods_issue is None or goods_issue > day:
            continue
        key = f"{r['VGBEL']}-{r['VGPOS']}"
        delivered[key] += Decimal(str(r["LFIMG"]))
        last_issue[key] = max(last_issue.get(key, goods_issue), goods_issue)
    outcomes = {}
    for r in world.erp_as_of("VBAP", cutoff):
        key = f"{r['VBELN']}-{r['POSNR']}"
        if r["VBELN"] not in orders or (r.get("ABGRU") or "").strip() or r.get("LFSTA") != "C":
            continue
        ordered = Decimal(str(r["KWMENG"]))
        low = ordered * (1 - Decimal(str(r["UNTTO"])) / 100)
        high = ordered * (1 + Decimal(str(r["UEBTO"])) / 100)
        outcomes[key] = LineOutcome(
            is_on_time=last_issue[key] <= promised[key], is_in_full=low <= delivered[key] <= high
        )
    return outcomes


def master_data_timelines(ground_truth: Path, through: date) -> dict[tuple[str, str], list[tuple[date, str]]]:
    """Per (customer, field) that changed by ``through``: [(from_date, value)], the first from
    date.min (the value before the first change), from the simulator's master_data_changes.csv."""
    changes: dict[tuple[str, str], list[tuple[date, str, str]]] = defaultdict(list)
    with (ground_truth / "master_data_changes.csv").open() as handle:
        for row in csv.DictReader(handle):
            effective = date.fromisoformat(row["effective_date"])
            if effective <= through:
                changes[(row["customer_id"], row["field"])].append(
                    (effective, row["old_value"], row["new_value"])
                )
    timelines = {}
    for key, steps in changes.items():
        steps.sort()
        timelines[key] = [(date.min, steps[0][1]), *((day, new) for day, _, new in steps)]
    return timelines


def value_on(timeline: list[tuple[date, str]], day: date) -> str:
    return [value for start, value in timeline if start <= day][-1]
