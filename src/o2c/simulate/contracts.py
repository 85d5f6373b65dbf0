"""Quantity contracts (VBAK VBTYP G, order type ZQC) and their lifting plans.

Every customer buys one to three products under contract. Each of those *slots* is a chain of contracts:
the one running at go-live (the simulation's first day; legacy contracts were migrated with their
remaining quantity and validity, 3 weeks to 12 months), then renewals of 3–12 months, each signed a few
days to weeks before it starts, sometimes starting a few days after its predecessor ended.

The customer calls off (sales orders referencing the contract, see :mod:`o2c.simulate.orders`) on a
cadence of its own. Each call-off lifts enough to stay ahead of the contract's pro-rata schedule until the
next planned call-off, counting only what is sure to stay called off (lines to be rejected count until
their rejection, when the customer calls off again; lines to be revised count at their lower quantity).
So a contract on pace is never under-lifting (DECISIONLOG "Contracts and lifting"). The plan kinds:

- ``on_pace``; ``on_pace_near_threshold``: once, the gap reaches 82–94 % of the threshold;
  ``on_pace_at_tolerance``: the last call-off brings the contract to exactly its quantity less the
  tolerance, so that on the last day of validity the gap *equals* the threshold (not under-lifting);
- ``late_call_off``: on pace, plus one or two call-offs after the contract expired, still referencing it;
- ``under_lifter_stopped`` (no call-off after some date), ``under_lifter_slowed`` (call-offs at 20–50 % of
  the pace), ``under_lifter_brief`` (one call-off short by just enough to cross the threshold by 1–4 %
  for a few days, then back on pace).

Which plan a contract follows is decided when it is created (quotas first, so that a small scenario has
every kind), and takes effect only when the call-off history allows it to be exact; the ground truth is
computed afterwards from the ERP's own rows (:mod:`o2c.simulate.lifting`).
"""

from __future__ import annotations

import calendar
import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from o2c.simulate.catalog import PLANTS, Row, at, dats
from o2c.simulate.timeline import Timeline

HALF = Decimal("0.5")
MIN_CALL_OFF = Decimal(20)
"""The smallest call-off a customer places (MT)."""
STOP_MARGIN_DAYS = 8
"""A plan that needs the ERP settled (rejections come up to 7 days after entry) looks this far ahead."""


def half_up(value: Decimal) -> Decimal:
    """Round up to a half ton (quantities are entered in half-ton steps)."""
    return (value / HALF).to_integral_value(ROUND_CEILING) * HALF


def half_down(value: Decimal) -> Decimal:
    return (value / HALF).to_integral_value(ROUND_FLOOR) * HALF


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year = day.year + month // 12
    month = month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def not_sunday(day: date) -> date:
    return day + timedelta(days=1) if day.weekday() == 6 else day


@dataclass
class CallOff:
    """What one call-off line will do to the contract's called-off quantity: ``qty`` from its entry,
    ``revised`` from its revision day, nothing from its rejection day."""

    created: date
    qty: Decimal
    revised: tuple[date, Decimal] | None = None
    rejected: date | None = None

    @property
    def floor(self) -> Decimal:
        """The least it will ever count (rejected lines count for nothing, once rejected)."""
        if self.rejected is not None:
            return Decimal(0)
        return min(self.qty, self.revised[1]) if self.revised else self.qty

    @property
    def final(self) -> Decimal:
        if self.rejected is not None:
            return Decimal(0)
        return self.revised[1] if self.revised else self.qty

    @property
    def settled(self) -> date:
        """The day of its last change."""
        days = [self.created]
        if self.revised:
            days.append(self.revised[0])
        if self.rejected:
            days.append(self.rejected)
        return max(days)


@dataclass
class Contract:
    """A contract and the state of its lifting while orders are generated."""

    vbeln: str
    customer: Row
    product: Row
    plant: str
    tol: Decimal
    premium: Decimal
    valid_from: date
    valid_to: date
    qty: Decimal
    created: date
    cadence: float
    """days between call-offs, on average"""
    predecessor: str | None
    intent: str = "on_pace"
    """the plan drawn at creation; ``kind`` says which one took effect"""
    intent_day: date | None = None
    kind: str = "on_pace"
    next_date: date | None = None
    """the next regular call-off; ``None``: no more"""
    floor: Decimal = Decimal(0)
    """the least the called-off quantity will be from now on (see :class:`CallOff`)"""
    final: Decimal = Decimal(0)
    """the called-off quantity once every pending revision and rejection has happened"""
    settled: date = date.min
    """the day of the last pending change of any call-off line"""
    locked: bool = False
    """the next call-off date is part of a plan (near miss, brief crossing): not moved"""
    slow: Decimal | None = None
    late_dates: list[date] = field(default_factory=list)
    exact: bool = False
    """its plan needs the called-off quantity exact to the day: its orders are never copied by mistake"""

    @property
    def length(self) -> int:
        return (self.valid_to - self.valid_from).days + 1

    @property
    def threshold(self) -> Decimal:
        return self.qty * self.tol / 100

    def expected(self, day: date) -> Decimal:
        """expected_to_date_qty: the pro-rata quantity by the end of ``day`` (days inclusive)."""
        elapsed = min(self.length, max(0, (day - self.valid_from).days + 1))
        return self.qty * elapsed / self.length

    def first_crossing(self, called_off: Decimal) -> date:
        """The first day on which the gap to a called-off quantity that stays ``called_off`` exceeds the
        threshold (may lie after validity: then never within it)."""
        # gap > threshold  <=>  qty * n / length > called_off + threshold
        n = math.floor((called_off + self.threshold) * self.length / self.qty) + 1
        return self.valid_from + timedelta(days=n - 1)

    def row(self) -> Row:
        """What order lines copy from the contract."""
        return {"VBELN": self.vbeln, "PRODUCT": self.product, "TOL": self.tol, "PLANT": self.plant}


class Contracts(Timeline):
    contract_book: list[Contract]
    customer_contracts: dict[str, list[Contract]]

    def build_contracts(self) -> None:
        cfg, rng = self.cfg, self.rng
        self.contract_book = []
        self.customer_contracts = {}
        slots = [(customer, rng.randint(1, 3)) for customer in self.customers]
        # call-offs per slot and day, so that contracts (with the spot share) make ``lines_per_day``
        per_day = max(0.1, cfg.lines_per_day * (1 - cfg.spot_share))
        mean_cadence = max(1.0, sum(n for _, n in slots) / per_day)
        go_live = not_sunday(cfg.start)
        for customer, n_slots in slots:
            chain: list[Contract] = []
            for _ in range(n_slots):
                product = rng.choice(self.products)
                valid_from = go_live
                if self.take("short_contract_at_go_live", 0.0, 4):
                    # a migrated contract with three to four weeks left: renewals early in any scenario
                    valid_to = valid_from + timedelta(days=rng.randint(20, 29))
                else:
                    valid_to = valid_from + timedelta(days=rng.randint(20, 364))
                predecessor = None
                while valid_from <= cfg.end:
                    contract = self._new_contract(
                        customer, product, valid_from, valid_to, mean_cadence, predecessor
                    )
                    chain.append(contract)
                    predecessor = contract.vbeln
                    gap = rng.randint(3, 15) if rng.random() < 0.2 else 0
                    valid_from = not_sunday(contract.valid_to + timedelta(days=1 + gap))
                    valid_to = add_months(valid_from, rng.randint(3, 12)) - timedelta(days=1)
                    if rng.random() < 0.2:
                        product = rng.choice(self.products)
            self.customer_contracts[customer["KUNNR"]] = chain
            self.contract_book.extend(chain)

    def _new_contract(
        self,
        customer: Row,
        product: Row,
        valid_from: date,
        valid_to: date,
        mean_cadence: float,
        predecessor: str | None,
    ) -> Contract:
        rng = self.rng
        vbeln = self.next_id("contract", 40000000)
        tolerance = rng.choice([Decimal("5.0"), Decimal("10.0")])
        premium = Decimal(str(round(rng.uniform(-0.03, 0.03), 4)))
        cadence = mean_cadence * rng.uniform(0.7, 1.4)
        size = rng.uniform(150, 1800)  # the customer's usual call-off (MT)
        length = (valid_to - valid_from).days + 1
        target = max(Decimal(1000), Decimal(round(size * length / cadence / 500) * 500))
        created = valid_from - timedelta(days=rng.randrange(3, 20))
        plant = rng.choice(PLANTS)[0]
        contract = Contract(
            vbeln=vbeln,
            customer=customer,
            product=product,
            plant=plant,
            tol=tolerance,
            premium=premium,
            valid_from=valid_from,
            valid_to=valid_to,
            qty=target,
            created=created,
            cadence=cadence,
            predecessor=predecessor,
            next_date=valid_from,
        )
        self._draw_plan(contract)
        t = at(created, self.business_hour())
        self.put(
            "VBAK",
            (vbeln,),
            t,
            {
                "VBELN": vbeln,
                "VBTYP": "G",
                "AUART": "ZQC",
                "ERDAT": dats(created),
                "AUDAT": dats(created),
                "KUNNR": customer["KUNNR"],
                "VKORG": "1000",
                "WAERK": customer["CURRENCY"],
                "NETWR": Decimal(0),
                "GUEBG": dats(valid_from),
                "GUEEN": dats(valid_to),
                "BSTNK": f"PC-{customer['KUNNR'][-4:]}-{vbeln[-4:]}",
            },
        )
        self.put(
            "VBAP",
            (vbeln, "000010"),
            t,
            {
                "VBELN": vbeln,
                "POSNR": "000010",
                "MATNR": product["MATNR"],
                "KWMENG": Decimal(0),
                "ZMENG": target,
                "VRKME": "TO",
                "NETPR": Decimal(0),
                "KPEIN": 1,
                "NETWR": Decimal(0),
                "WAERK": customer["CURRENCY"],
                "WERKS": plant,
                "UEBTO": tolerance,
                "UNTTO": tolerance,
                "VGBEL": "",
                "VGPOS": "000000",
                "ABGRU": "",
                "ERDAT": dats(created),
            },
        )
        self.put(
            "VBKD",
            (vbeln, "000000"),
            t,
            {
                "VBELN": vbeln,
                "POSNR": "000000",
                "ZTERM": self.zterm_on(customer["KUNNR"], created),
                "INCO1": rng.choice(["FOB", "CFR", "CIF", "DAP"]),
                "INCO2": customer["PORT"][0],
            },
        )
        return contract

    def _draw_plan(self, c: Contract) -> None:
        """Draw the contract's lifting plan; each kind only where it can take effect within the scenario."""
        cfg, rng = self.cfg, self.rng
        horizon_end = min(c.valid_to, cfg.end)
        span = (horizon_end - c.valid_from).days
        cadence = math.ceil(c.cadence)
        threshold_days = c.length * float(c.tol) / 100
        ends_inside = c.valid_to <= cfg.end - timedelta(days=2)
        stop_latest = span - int(threshold_days) - 2 * cadence - STOP_MARGIN_DAYS
        slow_latest = span - int(threshold_days * 2.6) - 3 * cadence - STOP_MARGIN_DAYS
        near_latest = span - int(threshold_days) - 2 * cadence - 2
        late_days = [
            c.valid_to + timedelta(days=d)
            for d in range(1, 11)
            if c.valid_to + timedelta(days=d) <= cfg.end and (c.valid_to + timedelta(days=d)).weekday() != 6
        ]
        if ends_inside and late_days and self.take("contract_late_call_off", 0.12, 2):
            c.intent = c.kind = "late_call_off"
            c.late_dates = sorted(rng.sample(late_days, min(len(late_days), rng.choice([1, 1, 2]))))
        elif ends_inside and self.take("contract_at_tolerance", 0.04, 2):
            c.intent = "at_tolerance"
            c.exact = True
        elif stop_latest >= cadence and self.take("contract_under_lifter_stopped", 0.04, 2):
            c.intent = "stopped"
            c.intent_day = c.valid_from + timedelta(days=rng.randint(cadence, stop_latest))
        elif slow_latest >= cadence and self.take("contract_under_lifter_slowed", 0.03, 2):
            c.intent = "slowed"
            c.intent_day = c.valid_from + timedelta(days=rng.randint(cadence, slow_latest))
        elif near_latest >= cadence and self.take("contract_under_lifter_brief", 0.03, 2):
            c.intent = "brief"
            c.intent_day = c.valid_from + timedelta(days=rng.randint(cadence, near_latest))
            c.exact = True
        elif near_latest >= cadence and self.take("contract_near_threshold", 0.05, 2):
            c.intent = "near"
            c.intent_day = c.valid_from + timedelta(days=rng.randint(cadence, near_latest))
            c.exact = True

    # -- call-offs ------------------------------------------------------------------------------------
    def due_call_offs(self, kunnr: str, day: date) -> list[tuple[Contract, bool]]:
        """The customer's call-offs on ``day``: (contract, after its expiry). A customer calling off one
        contract often calls off another one due within two days in the same order."""
        due: list[tuple[Contract, bool]] = []
        soon: list[Contract] = []
        for c in self.customer_contracts[kunnr]:
            if c.valid_from <= day <= c.valid_to and c.next_date is not None:
                if c.next_date <= day:
                    due.append((c, False))
                elif not c.locked and c.next_date <= day + timedelta(days=2):
                    soon.append(c)
            elif day in c.late_dates:
                due.append((c, True))
        if due:
            for c in soon:
                if self.rng.random() < 0.5:
                    due.append((c, False))
        return due

    def plan_call_off(self, c: Contract, day: date, late: bool) -> str:
        """How this call-off is placed: ``late``, ``controlled`` (part of an exact plan: the line is
        neither revised nor rejected, and its order is never copied by mistake) or ``regular``."""
        if late:
            return "late"
        pending = c.settled > day
        if c.locked:
            return "regular"
        if c.intent in ("near", "brief") and c.intent_day is not None and day >= c.intent_day and not pending:
            return "controlled"
        if c.intent == "at_tolerance" and not pending:
            nxt = self._next_date(c, day, draw=False)
            if nxt > c.valid_to or c.expected(nxt - timedelta(days=1)) >= self._at_tolerance_qty(c):
                return "controlled"
        return "regular"

    def _at_tolerance_qty(self, c: Contract) -> Decimal:
        return c.qty - c.threshold

    def _next_date(self, c: Contract, day: date, draw: bool = True) -> date:
        step = max(1, round(c.cadence * (self.rng.uniform(0.7, 1.3) if draw else 1.3)))
        return not_sunday(day + timedelta(days=step))

    def call_off_qty(
        self,
        c: Contract,
        day: date,
        mode: str,
        revise: Decimal | None,
        reject_on: date | None,
    ) -> Decimal | None:
        """The quantity of a call-off on ``day`` (``None``: the customer does not need to call off), given
        the line's fate (revision factor, rejection day), and the contract's state after it."""
        rng = self.rng
        if mode == "late":
            size = c.qty * Decimal(str(round(c.cadence * rng.uniform(0.5, 1.0), 3))) / c.length
            return max(MIN_CALL_OFF, half_up(size))
        if c.locked:  # the planned call-off after a near miss or a brief crossing: back on pace
            c.locked = False
            c.intent = "done"
        if mode == "controlled":
            qty = self._controlled_qty(c, day)
            if qty is not None:
                self._record(c, CallOff(day, qty))
                return qty
            mode = "regular"
        nxt = self._next_date(c, day)
        horizon = min(nxt - timedelta(days=1), c.valid_to)
        # a little ahead of the schedule: up to half a cadence's quantity, at most a quarter of the threshold
        pace = c.qty * Decimal(str(round(c.cadence, 3))) / c.length
        ahead = min(c.threshold / 4, pace * Decimal(str(round(rng.uniform(0, 0.5), 4))))
        need = c.expected(horizon) + ahead - c.floor
        if c.intent == "slowed" and c.intent_day is not None and day >= c.intent_day:
            if c.kind != "under_lifter_slowed":
                c.kind = "under_lifter_slowed"
                c.slow = Decimal(str(rng.choice([0.2, 0.3, 0.4, 0.5])))
            assert c.slow is not None
            # a share of the pace over the days to the next call-off, however far behind it is already
            need = c.slow * c.qty * (nxt - day).days / c.length
            if need < MIN_CALL_OFF:  # too little to call off yet
                c.next_date = nxt if nxt <= c.valid_to else None
                return None
        elif c.expected(horizon) <= c.floor:  # covered up to the next call-off already
            c.next_date = nxt if nxt <= c.valid_to else None
            return None
        qty = max(MIN_CALL_OFF, half_up(need))
        if revise is not None:  # revised two days later: enough even at the revised quantity
            while revised_qty(qty, revise) < need:
                qty += HALF
        line = CallOff(
            day,
            qty,
            (day + timedelta(days=2), revised_qty(qty, revise)) if revise is not None else None,
            reject_on,
        )
        self._record(c, line)
        c.next_date = nxt if nxt <= c.valid_to else None
        if reject_on is not None and reject_on <= c.valid_to and c.kind != "under_lifter_stopped":
            # the customer calls off again when the line is rejected
            c.next_date = reject_on if c.next_date is None else min(c.next_date, reject_on)
        if c.intent == "stopped" and c.intent_day is not None and day >= c.intent_day:
            crossing = c.first_crossing(c.final)
            if max(crossing, day + timedelta(days=STOP_MARGIN_DAYS)) <= min(c.valid_to, self.cfg.end):
                c.kind = "under_lifter_stopped"
                c.intent = "done"
                c.next_date = None
        return qty

    def _controlled_qty(self, c: Contract, day: date) -> Decimal | None:
        """A call-off of an exact plan, with nothing else pending: from today on the contract's called-off
        quantity is exactly ``c.final`` plus this line, until the next call-off the plan fixes."""
        rng = self.rng
        if c.intent == "at_tolerance":
            qty = self._at_tolerance_qty(c) - c.final
            if qty < 1:
                c.intent = "done"
                return None
            c.kind = "on_pace_at_tolerance"
            c.intent = "done"
            c.next_date = None
            return qty
        # the customer pauses: no call-off until the gap reaches a share of the threshold on day ``last``
        if c.intent == "near":  # 82-94 % of the threshold: on pace all the same
            share = Decimal(str(round(rng.uniform(0.82, 0.94), 3)))
        else:  # brief: 1-4 % beyond the threshold, then back on pace
            share = Decimal(str(round(rng.uniform(1.01, 1.04), 3)))
        base = c.final + share * c.threshold
        # the first day on which the pro-rata quantity exceeds ``base`` by a minimum call-off
        elapsed = math.ceil((base + MIN_CALL_OFF) * c.length / c.qty)
        last = max(day, c.valid_from + timedelta(days=elapsed - 1))
        last += timedelta(days=rng.randint(0, math.ceil(c.cadence)))
        if (last + timedelta(days=1)).weekday() == 6:  # the next call-off is on a Monday
            last += timedelta(days=1)
        if last > min(c.valid_to, self.cfg.end):
            return None
        if c.intent == "near":
            qty = half_up(c.expected(last) - base)
            c.kind = "on_pace_near_threshold"
        else:
            qty = half_down(c.expected(last) - base)
            c.kind = "under_lifter_brief"
        c.locked = True
        c.next_date = last + timedelta(days=1)
        return qty

    def _record(self, c: Contract, line: CallOff) -> None:
        c.floor += line.floor
        c.final += line.final
        c.settled = max(c.settled, line.settled)


def revised_qty(qty: Decimal, factor: Decimal) -> Decimal:
    """The quantity a revision by ``factor`` leaves (to 0.1 MT, as the order entry always wrote it)."""
    return (qty * factor).quantize(Decimal("0.1"))
