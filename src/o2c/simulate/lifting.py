"""The under-lifting definition, and the contracts' ground truth computed with it from the ERP timeline.

For a contract with quantity ``Q`` (VBAP-ZMENG), validity ``valid_from``..``valid_to`` (VBAK-GUEBG/GUEEN,
``L`` days inclusive) and under-delivery tolerance ``tol`` % (VBAP-UNTTO), on date ``d``:

- ``expected_to_date_qty(d) = Q × min(1, max(0, (d − valid_from + 1) / L))``;
- ``called_off_qty(d)``: the sum of KWMENG of the order lines referencing the contract (VBAP-VGBEL/VGPOS),
  created on or before ``d``, not rejected (ABGRU blank) and not deleted, as the ERP stands at ``d``'s end
  (the nightly cutoff). Call-offs entered after the contract expired count too: the customer did lift
  against it (they never fall inside validity, so they never change whether the contract under-lifts);
- ``lifting_gap_qty(d) = expected_to_date_qty(d) − called_off_qty(d)``;
- the contract is **under-lifting** on ``d`` when ``valid_from <= d <= valid_to`` and
  ``lifting_gap_qty(d) > Q × tol / 100`` (strictly: a gap equal to the threshold is not under-lifting).

The comparison is exact: ``100·Q·n − 100·C·L > Q·tol·L`` with ``n`` the elapsed days, in decimals.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import NamedTuple

from o2c.business_calendar import as_of_for
from o2c.simulate.catalog import Row
from o2c.simulate.model import ContractTruth


def expected_to_date_qty(qty: Decimal, valid_from: date, valid_to: date, day: date) -> Decimal:
    length = (valid_to - valid_from).days + 1
    elapsed = min(length, max(0, (day - valid_from).days + 1))
    return qty * elapsed / length


def is_under_lifting(
    qty: Decimal, tolerance_pct: Decimal, valid_from: date, valid_to: date, day: date, called_off: Decimal
) -> bool:
    if not valid_from <= day <= valid_to:
        return False
    length = (valid_to - valid_from).days + 1
    elapsed = (day - valid_from).days + 1
    return 100 * qty * elapsed - 100 * called_off * length > qty * tolerance_pct * length


def _day_of(moment: datetime) -> date:
    """The business date at whose end (the nightly cutoff) a version written at ``moment`` is visible."""
    return as_of_for(moment)


def called_off_changes(
    vbap: dict[tuple[str, ...], list[tuple[datetime, Row | None]]],
    commit_times: dict[tuple[str, tuple[str, ...], datetime], datetime],
) -> dict[str, dict[date, Decimal]]:
    """Per contract, how its called-off quantity changes by business date: every version of every order
    line referencing it (entry, revision, rejection, deletion), at the date it becomes visible."""
    changes: dict[str, dict[date, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for key, versions in vbap.items():
        first = next((row for _, row in versions if row is not None), None)
        if first is None or not first.get("VGBEL"):
            continue
        contract = str(first["VGBEL"])
        # the version visible at a day's end is the one changed last among those committed by then
        visible = sorted(
            (
                (commit_times.get(("VBAP", key, when), when), when, index, row)
                for index, (when, row) in enumerate(versions)
            ),
            key=lambda v: (v[0], v[1], v[2]),
        )
        counted = Decimal(0)
        latest: tuple[datetime, int] | None = None
        for seen, when, index, row in visible:
            if latest is not None and (when, index) < latest:
                continue  # an older change committed late never replaces a newer one
            latest = (when, index)
            value = Decimal(0)
            if row is not None and not str(row.get("ABGRU") or "").strip():
                value = Decimal(str(row["KWMENG"]))
            if value != counted:
                changes[contract][_day_of(seen)] += value - counted
                counted = value
    return changes


class ContractTerms(NamedTuple):
    """A contract as created (the ground truth's inputs)."""

    contract_id: str
    customer_id: str
    material_id: str
    plant_id: str
    valid_from: date
    valid_to: date
    contract_qty: Decimal
    tolerance_pct: Decimal
    plan_kind: str
    predecessor_id: str | None


def contract_truth(
    contracts: Iterable[ContractTerms],
    vbap: dict[tuple[str, ...], list[tuple[datetime, Row | None]]],
    commit_times: dict[tuple[str, tuple[str, ...], datetime], datetime],
    last_day: date,
) -> list[ContractTruth]:
    """Every contract's under-lifting dates and largest gap up to ``last_day`` (the last simulated day)."""
    changes = called_off_changes(vbap, commit_times)
    out = []
    for c in contracts:
        vbeln, qty, tol = c.contract_id, c.contract_qty, c.tolerance_pct
        valid_from, valid_to = c.valid_from, c.valid_to
        threshold = qty * tol / 100
        deltas = changes.get(vbeln, {})
        called = sum((v for d, v in deltas.items() if d < valid_from), Decimal(0))
        periods: list[tuple[date, date]] = []
        max_gap: Decimal | None = None
        day = valid_from
        end = min(valid_to, last_day)
        while day <= end:
            called += deltas.get(day, Decimal(0))
            gap = expected_to_date_qty(qty, valid_from, valid_to, day) - called
            max_gap = gap if max_gap is None else max(max_gap, gap)
            if is_under_lifting(qty, tol, valid_from, valid_to, day, called):
                if periods and periods[-1][1] == day - timedelta(days=1):
                    periods[-1] = (periods[-1][0], day)
                else:
                    periods.append((day, day))
            day += timedelta(days=1)
        at_end = sum((v for d, v in deltas.items() if d <= last_day), Decimal(0))
        kind = c.plan_kind
        if kind == "under_lifter_slowed" and not periods:
            kind = "slowed_within_tolerance"
        out.append(
            ContractTruth(
                contract_id=vbeln,
                customer_id=c.customer_id,
                material_id=c.material_id,
                plant_id=c.plant_id,
                valid_from=valid_from,
                valid_to=valid_to,
                contract_qty=qty,
                tolerance_pct=tol,
                plan_kind=kind,
                predecessor_id=c.predecessor_id,
                first_under_lifting_date=periods[0][0] if periods else None,
                under_lifting=periods,
                max_gap_pct_of_threshold=(max_gap / threshold * 100).quantize(Decimal("0.1"))
                if max_gap is not None
                else None,
                called_off_qty_at_end=at_end,
            )
        )
    return out
