"""Sales orders (call-offs against contracts, and spot orders), their deliveries and the forwarder's shipments."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from o2c.simulate.billing import Billing
from o2c.simulate.catalog import (
    PLANTS,
    RULE_ORDER_OVERDUE,
    RULE_PRICE_BAND,
    RULE_QTY_TOLERANCE,
    THREE,
    Row,
    at,
    dats,
    money,
)
from o2c.simulate.contracts import Contract, Contracts, not_sunday, revised_qty
from o2c.simulate.model import Case, OrderLineTruth, Shipment


@dataclass
class LineSpec:
    """An order line before it is written: where it comes from, its quantity and its fate."""

    contract: Contract | None
    late: bool
    qty: Decimal
    overdue: bool
    revise: Decimal | None
    reject_on: date | None
    terms: Row
    """what delivery and billing copy: VBELN (contract, or blank for spot), PRODUCT, TOL, PLANT, ZTERM"""
    premium: Decimal
    exact: bool


class Orders(Contracts, Billing):
    def build_orders(self) -> None:
        """Each day but Sunday: the contracts' call-offs that are due (one order per customer, up to three
        lines), and spot orders without contract (``spot_share`` of the lines), in random order."""
        cfg, rng = self.cfg, self.rng
        self.order_lines = 0
        spot_per_day = cfg.lines_per_day * 7 / 6 * cfg.spot_share
        for d in range(cfg.days):
            day = cfg.start + timedelta(days=d)
            if day.weekday() == 6:  # no order entry on Sundays
                continue
            requests: list[tuple[Row, str, list[tuple[Contract | None, bool]]]] = []
            for customer in self.customers:
                due = self.due_call_offs(customer["KUNNR"], day)
                for first in range(0, len(due), 3):
                    requests.append((customer, "ZOR", list(due[first : first + 3])))
            spot = max(0, round(rng.gauss(spot_per_day, math.sqrt(spot_per_day))))
            while spot > 0:
                n_lines = min(spot, rng.choice([1, 1, 1, 2]))
                requests.append((rng.choice(self.customers), "ZSPT", [(None, False)] * n_lines))
                spot -= n_lines
            rng.shuffle(requests)
            for customer, auart, lines in requests:
                self.build_order(customer, day, auart, lines)

    def _line_spec(self, customer: Row, day: date, contract: Contract | None, late: bool) -> LineSpec | None:
        """Draw a line's fate (never delivered, revised two days later, rejected 3-6 days later), then its
        quantity: a spot quantity, or what the contract's lifting plan calls off given that fate."""
        cfg, rng = self.cfg, self.rng
        mode = "spot" if contract is None else self.plan_call_off(contract, day, late)
        overdue = (cfg.end - day).days > 12 and rng.random() < cfg.overdue_order_rate
        rejected = not overdue and rng.random() < cfg.rejection_rate
        revise = None
        if rng.random() < 0.1 and not overdue:  # the customer revises the quantity two days later
            revise = Decimal(str(rng.choice([0.8, 0.9, 1.1, 1.2])))
        reject_on = not_sunday(day + timedelta(days=rng.randint(3, 6))) if rejected else None
        if reject_on is not None or mode == "controlled":
            revise = None  # a line to be rejected keeps its quantity until then
        if mode == "controlled":
            reject_on = None
        zterm = self.zterm_on(customer["KUNNR"], day)
        if contract is None:
            product = rng.choice(self.products)
            terms = {
                "VBELN": "",
                "PRODUCT": product,
                "TOL": rng.choice([Decimal("5.0"), Decimal("10.0")]),
                "PLANT": rng.choice(PLANTS)[0],
                "ZTERM": zterm,
            }
            qty = Decimal(rng.randrange(40, 4000)) / 2
            # spot: benchmark plus a small premium (always inside the band unless a case is injected)
            premium = Decimal(str(round(rng.uniform(0.005, 0.04), 4)))
            return LineSpec(None, False, qty, overdue, revise, reject_on, terms, premium, False)
        called = self.call_off_qty(contract, day, mode, revise, reject_on)
        if called is None:
            return None
        return LineSpec(
            contract,
            late,
            called,
            overdue,
            revise,
            reject_on,
            {**contract.row(), "ZTERM": zterm},
            contract.premium,
            contract.exact or late,
        )

    def build_order(
        self, customer: Row, day: date, auart: str, requests: list[tuple[Contract | None, bool]]
    ) -> int:
        cfg, rng = self.cfg, self.rng
        specs = [
            spec for c, late in requests if (spec := self._line_spec(customer, day, c, late)) is not None
        ]
        if not specs:
            return 0
        vbeln = self.next_id("order", 10000000)
        created = at(day, self.business_hour())
        horizon_left = (cfg.end - day).days
        header_total = Decimal(0)
        currency = customer["CURRENCY"]
        for index, spec in enumerate(specs):
            posnr = f"{(index + 1) * 10:06d}"
            key = f"{vbeln}-{posnr}"
            terms = spec.terms
            product = terms["PRODUCT"]
            contract = spec.contract
            qty = spec.qty
            if spec.exact:
                self.protected_orders.add(vbeln)
            bench = self.price_for(product, day, currency)
            band = cfg.price_band_pct / 100
            qp_rule = self.qp_rule(contract) if contract is not None else None
            # a formula-priced line's price is provisional: the benchmark plus the contract premium, no case
            price_injected = rng.random() < cfg.price_deviation_rate and qp_rule is None
            kpein = 1
            boundary = None
            if not price_injected and currency == "USD" and qp_rule is None:
                if self.take("price_at_band", 0.003):
                    boundary = "at"
                elif self.take("price_one_unit_beyond_band", 0.003):
                    boundary = "beyond"
            price_case = None
            if boundary is not None:
                # priced per 100 MT (KPEIN 100), so that exactly the band's edge is a price SAP can hold
                sign = rng.choice([1, -1])
                kpein = 100
                netpr = (bench * (100 + sign * cfg.price_band_pct)).quantize(Decimal("0.01"))
                if boundary == "beyond":
                    netpr += sign * Decimal("0.01")
                    price_case = f"price one unit ({sign * Decimal('0.0001'):+} per MT) beyond the band"
            elif price_injected:
                off = Decimal(str(round(rng.uniform(0.15, 0.30), 4))) * rng.choice([1, -1])
                price_case = f"price {off:+.1%} off the benchmark"
            else:
                if contract is None or qp_rule is not None:
                    off = spec.premium
                else:
                    off = spec.premium + Decimal(str(round(rng.uniform(-0.5, 0.5) * float(band), 4)))
                off = max(min(off, band * Decimal("0.8")), -band * Decimal("0.8"))
            if boundary is None:
                netpr = (bench * (1 + off)).quantize(Decimal("0.01"))
            if price_case is not None:
                self.cases.append(Case(RULE_PRICE_BAND, key, vbeln, customer["KUNNR"], day, price_case))
            price = netpr / kpein
            net = money(qty * price)
            header_total += net
            lead = rng.randint(7, 30)
            requested = day + timedelta(days=lead)
            # a quarter of lines cannot be confirmed for the requested date: schedule line 0002 confirms
            # a later one, and that confirmed date is the promise
            confirmed_later = self.take("confirmed_after_request", 0.25)
            promised = requested + timedelta(days=rng.randint(2, 6)) if confirmed_later else requested
            self.put(
                "VBAP",
                (vbeln, posnr),
                created,
                {
                    "VBELN": vbeln,
                    "POSNR": posnr,
                    "MATNR": product["MATNR"],
                    "KWMENG": qty,
                    "ZMENG": Decimal(0),
                    "VRKME": "TO",
                    "NETPR": netpr,
                    "KPEIN": kpein,
                    "NETWR": net,
                    "WAERK": currency,
                    "WERKS": terms["PLANT"],
                    "UEBTO": terms["TOL"],
                    "UNTTO": terms["TOL"],
                    "VGBEL": terms["VBELN"],
                    "VGPOS": "000010" if contract is not None else "000000",
                    "ABGRU": "",
                    "LFSTA": "A",
                    "ERDAT": dats(day),
                    "ZZPRTYP": "F" if qp_rule else "",
                    "ZZQPRULE": qp_rule or "",
                    "ZZPREMP": (spec.premium * 100).quantize(Decimal("0.01")) if qp_rule else Decimal("0.00"),
                },
            )
            if qp_rule is not None:
                terms = {**terms, "QP_RULE": qp_rule, "PREMIUM": spec.premium}
            flow = None
            if contract is not None:
                flow = self.flow(
                    created, (contract.vbeln, "000010", "G"), (vbeln, posnr, "C"), qty, net, currency
                )
            self.order_line_truth.append(
                OrderLineTruth(
                    key,
                    vbeln,
                    customer["KUNNR"],
                    product["MATNR"],
                    day,
                    "spot" if contract is None else ("late_call_off" if spec.late else "call_off"),
                    contract.vbeln if contract is not None else None,
                    contract.valid_to if contract is not None else None,
                    qty,
                )
            )
            self.schedule(vbeln, posnr, created, qty, requested, promised)
            self.put(
                "VBKD",
                (vbeln, posnr),
                created,
                {
                    "VBELN": vbeln,
                    "POSNR": posnr,
                    "ZTERM": terms["ZTERM"],
                    "INCO1": rng.choice(["FOB", "CFR", "CIF"]),
                    "INCO2": customer["PORT"][0],
                },
            )
            shipment = Shipment(f"SHP{vbeln[-7:]}{posnr[-2:-1]}")
            self.shipments.append(shipment)
            etd_plan = promised + timedelta(days=1)
            transit = customer["PORT"][1]
            booked = created + timedelta(hours=3)
            # a third of bookings wait 4-30 h for the carrier's confirmation: until then, no events
            booking = shipment.rng(cfg.seed, "booking")
            confirmed = booked + timedelta(hours=booking.randint(4, 30)) if booking.random() < 0.3 else booked
            base_body = {
                "shipment_id": shipment.shipment_id,
                "order_id": vbeln,
                "order_item": posnr,
                "delivery_id": None,
                "customer_id": customer["KUNNR"],
                "mode": "SEA",
                "carrier": rng.choice(["COSCO", "Maersk", "MSC", "CMA CGM", "ONE"]),
                "port_of_loading": "CNSHA",
                "port_of_discharge": customer["PORT"][0],
                "etd_planned": etd_plan.isoformat(),
                "eta_planned": (etd_plan + timedelta(days=transit)).isoformat(),
                "etd_actual": None,
                "eta_actual": None,
                "vessel": None,
                "voyage": None,
                "bl_number": None,
                "containers": [],
                "status": "BOOKED",
                "created_at": booked.isoformat().replace("+00:00", "Z"),
                "events": [{"code": "BOOKED", "at": confirmed.isoformat()}],
            }
            if confirmed > booked:
                shipment.add(booked, dict(base_body, status="REQUESTED", events=[]))
            shipment.add(confirmed, base_body)
            self.order_lines += 1

            # the order line's fate (drawn with its quantity): revised, rejected, stuck (overdue) or delivered
            overdue = spec.overdue
            if spec.revise is not None:
                revised_at = created + timedelta(days=2)
                qty = revised_qty(qty, spec.revise)
                net = money(qty * price)
                self.put(
                    "VBAP",
                    (vbeln, posnr),
                    revised_at,
                    {**self.latest("VBAP", (vbeln, posnr)), "KWMENG": qty, "NETWR": net},
                )
                self.schedule(vbeln, posnr, revised_at, qty, requested, promised)
                if flow is not None:
                    self.put(
                        "VBFA", flow, revised_at, {**self.latest("VBFA", flow), "RFMNG": qty, "RFWRT": net}
                    )
            if overdue:
                self.cases.append(
                    Case(RULE_ORDER_OVERDUE, key, vbeln, customer["KUNNR"], promised, "never delivered")
                )
                slipped = dict(
                    base_body,
                    etd_planned=(etd_plan + timedelta(days=10)).isoformat(),
                    eta_planned=(etd_plan + timedelta(days=10 + transit)).isoformat(),
                    events=[
                        *base_body["events"],
                        {
                            "code": "ETD_REVISED",
                            "at": at(promised - timedelta(days=1), 11).isoformat(),
                            "reason": "CARGO_NOT_READY",
                        },
                    ],
                )
                shipment.add(at(promised - timedelta(days=1), 11), slipped, "CARGO_NOT_READY")
                continue
            if spec.reject_on is not None:  # 3-6 days after entry (a Sunday's moves to Monday)
                when = created + (spec.reject_on - day)
                self.put(
                    "VBAP",
                    (vbeln, posnr),
                    when,
                    {
                        **self.latest("VBAP", (vbeln, posnr)),
                        "ABGRU": "Z1",
                    },
                )
                shipment.versions.append(
                    (
                        when,
                        dict(
                            base_body,
                            status="CANCELLED",
                            events=[*base_body["events"], {"code": "CANCELLED", "at": when.isoformat()}],
                        ),
                    )
                )
                continue
            goods_issue = promised - timedelta(days=rng.randint(0, min(5, lead - 3)))
            parts: list[tuple[Decimal, date]] = [(Decimal(1), goods_issue)]
            stuck = False
            if horizon_left > lead + 12 and self.take("partial_then_stuck", 0.01):
                # part delivered before the promise, the remainder never: overdue all the same
                parts = [(Decimal(str(rng.choice([0.4, 0.5, 0.6]))), goods_issue - timedelta(days=1))]
                stuck = True
                self.cases.append(
                    Case(
                        RULE_ORDER_OVERDUE,
                        key,
                        vbeln,
                        customer["KUNNR"],
                        promised,
                        "remainder never delivered",
                    )
                )
            elif lead > 5 and self.take("partial_delivery", 0.08):
                first = promised - timedelta(days=rng.randint(3, min(8, lead - 1)))
                parts = [
                    (Decimal(str(rng.choice([0.4, 0.5, 0.6, 0.7]))), first),
                    (Decimal(0), first + timedelta(days=rng.randint(1, (promised - first).days))),
                ]
            elif horizon_left > lead + 4 and self.take("delivered_one_day_late", 0.005):
                parts = [(Decimal(1), promised + timedelta(days=1))]  # complete by that day's end: no case
            elif horizon_left > lead + 4 and self.take("delivered_two_days_late", 0.005):
                parts = [(Decimal(1), promised + timedelta(days=2))]
                self.cases.append(
                    Case(
                        RULE_ORDER_OVERDUE,
                        key,
                        vbeln,
                        customer["KUNNR"],
                        promised,
                        "delivered two days after the promised date",
                        until=promised + timedelta(days=1),
                    )
                )
            self.build_delivery(
                customer, terms, vbeln, posnr, key, qty, price, parts, shipment, base_body, stuck
            )
        self.put(
            "VBAK",
            (vbeln,),
            created,
            {
                "VBELN": vbeln,
                "VBTYP": "C",
                "AUART": auart,
                "ERDAT": dats(day),
                "AUDAT": dats(day),
                "KUNNR": customer["KUNNR"],
                "VKORG": "1000",
                "WAERK": currency,
                "NETWR": header_total,
                "GUEBG": "00000000",
                "GUEEN": "00000000",
                "BSTNK": f"PO{rng.randrange(100000, 999999)}",
            },
        )
        return len(specs)

    def schedule(
        self, vbeln: str, posnr: str, when: datetime, qty: Decimal, requested: date, promised: date
    ) -> None:
        """Schedule lines: 0001 requests ``qty`` for the requested date (confirmed there if it can be);
        otherwise 0002 confirms it for the later ``promised`` date."""
        line = {"VBELN": vbeln, "POSNR": posnr, "ETENR": "0001", "EDATU": dats(requested), "WMENG": qty}
        if promised == requested:
            self.put("VBEP", (vbeln, posnr, "0001"), when, {**line, "BMENG": qty})
            return
        self.put("VBEP", (vbeln, posnr, "0001"), when, {**line, "BMENG": Decimal(0)})
        self.put(
            "VBEP",
            (vbeln, posnr, "0002"),
            when,
            {**line, "ETENR": "0002", "EDATU": dats(promised), "WMENG": Decimal(0), "BMENG": qty},
        )

    def build_delivery(
        self,
        customer: Row,
        terms: Row,
        vbeln: str,
        posnr: str,
        key: str,
        qty: Decimal,
        price: Decimal,
        parts: list[tuple[Decimal, date]],
        shipment: Shipment,
        base_body: dict[str, Any],
        stuck: bool = False,
    ) -> None:
        """Deliver the line in ``parts`` ((share of the line, goods issue date); a share of 0 is the
        remainder); ``stuck``: only the parts listed are ever delivered, the line stays open. ``terms``:
        the line's product, plant, tolerance and payment terms (see :class:`LineSpec`), and for a
        formula-priced line its QP rule and premium. Each delivery is shipped (``ship``) and billed."""
        cfg, rng = self.cfg, self.rng
        tol = terms["TOL"] / 100
        last_issue = parts[-1][1]
        if stuck:
            deviation = Decimal(0)
        elif rng.random() < cfg.qty_deviation_rate:
            deviation = (tol + Decimal(str(round(rng.uniform(0.04, 0.15), 4)))) * rng.choice([1, -1])
            self.cases.append(
                Case(
                    RULE_QTY_TOLERANCE,
                    key,
                    vbeln,
                    customer["KUNNR"],
                    last_issue,
                    f"delivered {deviation:+.1%} vs ordered, tolerance {terms['TOL']}%",
                )
            )
        elif self.take("qty_at_tolerance", 0.004):
            deviation = tol * rng.choice([1, -1])  # exactly on the edge: within tolerance
        else:
            deviation = Decimal(str(round(rng.uniform(-0.8, 0.8) * float(tol), 4)))
        total = (qty * (1 + deviation)).quantize(THREE)
        if not stuck and deviation.copy_abs() < tol and self.take("qty_one_unit_beyond", 0.004):
            sign = rng.choice([1, -1])
            total = (qty * (1 + sign * tol)).quantize(THREE) + sign * Decimal("0.001")
            self.cases.append(
                Case(
                    RULE_QTY_TOLERANCE,
                    key,
                    vbeln,
                    customer["KUNNR"],
                    last_issue,
                    f"delivered 0.001 MT beyond the {terms['TOL']}% tolerance",
                )
            )
        plant = terms["PLANT"]
        remaining = total
        for index, (share, goods_issue) in enumerate(parts):
            last = index == len(parts) - 1
            delivered = remaining if last and not stuck else (qty * share).quantize(THREE)
            remaining -= delivered
            lieferung = self.next_id("delivery", 80000000)
            picked = at(goods_issue - timedelta(days=2), self.business_hour())
            batch = f"B{goods_issue.strftime('%y%m%d')}{rng.randrange(100, 999)}"
            likp = {
                "VBELN": lieferung,
                "ERDAT": dats(goods_issue - timedelta(days=2)),
                "LFDAT": dats(goods_issue),
                "WADAT": dats(goods_issue),
                "WADAT_IST": "00000000",
                "KUNNR": customer["KUNNR"],
                "VSTEL": plant,
            }
            self.put("LIKP", (lieferung,), picked, likp)
            self.flow(picked, (vbeln, posnr, "C"), (lieferung, "000010", "J"), delivered)
            self.put(
                "LIPS",
                (lieferung, "000010"),
                picked,
                {
                    "VBELN": lieferung,
                    "POSNR": "000010",
                    "MATNR": terms["PRODUCT"]["MATNR"],
                    "WERKS": plant,
                    "CHARG": batch,
                    "LFIMG": delivered,
                    "VRKME": "TO",
                    "VGBEL": vbeln,
                    "VGPOS": posnr,
                },
            )
            issued = at(goods_issue, self.business_hour())
            self.put("LIKP", (lieferung,), issued, dict(likp, WADAT_IST=dats(goods_issue)))
            complete = last and not stuck
            self.put(
                "VBAP",
                (vbeln, posnr),
                issued,
                {**self.latest("VBAP", (vbeln, posnr)), "LFSTA": "C" if complete else "B"},
            )
            # each delivery sails on a shipment of its own: the first on the one booked with the order, a
            # later one on a shipment booked when the delivery is created
            if index == 0:
                booking = base_body
            else:
                shipment, booking = self.book_shipment(base_body, index, picked, goods_issue, customer)
            bl_date = self.ship(customer, shipment, booking, lieferung, issued, delivered, goods_issue)
            self.build_invoice(
                customer,
                vbeln,
                posnr,
                lieferung,
                terms,
                delivered,
                price,
                goods_issue,
                picked,
                issued,
                bl_date,
            )

    def qp_rule(self, contract: Contract) -> str | None:
        """The quotational period rule of a contract's call-offs: ``None`` for a fixed-price contract, else
        ``M`` (the B/L month's average benchmark) or ``M+1`` (the month after it). Drawn once per contract
        from a stream of its own; a quarter of the contracts are formula-priced, at least three (the first
        ``M``, then ``M+1``) in any scenario."""
        if contract.vbeln not in self.qp_rules:
            draw = random.Random(f"{self.cfg.seed}:pricing:{contract.vbeln}")  # noqa: S311 - a simulation
            rule = None
            count = self.quota["formula_contract"]
            if count < 3 or draw.random() < 0.25:
                rule = ("M", "M+1", "M")[count] if count < 3 else draw.choice(["M", "M+1", "M+1"])
                self.quota["formula_contract"] += 1
            self.qp_rules[contract.vbeln] = rule
        return self.qp_rules[contract.vbeln]

    def book_shipment(
        self, first: dict[str, Any], index: int, picked: datetime, goods_issue: date, customer: Row
    ) -> tuple[Shipment, dict[str, Any]]:
        """Book a shipment for the line's ``index``-th delivery (from 0) when the delivery is created: ETD
        planned the day after its goods issue; the id is the line's first shipment's with ``-<n>``."""
        shipment = Shipment(f"{first['shipment_id']}-{index + 1}")
        self.shipments.append(shipment)
        booked = picked + timedelta(hours=1)
        etd_plan = goods_issue + timedelta(days=1)
        body = dict(
            first,
            shipment_id=shipment.shipment_id,
            etd_planned=etd_plan.isoformat(),
            eta_planned=(etd_plan + timedelta(days=customer["PORT"][1])).isoformat(),
            created_at=booked.isoformat().replace("+00:00", "Z"),
            events=[{"code": "BOOKED", "at": booked.isoformat()}],
        )
        shipment.add(booked, body)
        return shipment, body

    def ship(
        self,
        customer: Row,
        shipment: Shipment,
        base_body: dict[str, Any],
        lieferung: str,
        issued: datetime,
        delivered: Decimal,
        goods_issue: date,
    ) -> date:
        """The forwarder carries a delivery: gate-in, 0-3 plan revisions before departure, departed (ETA
        re-estimated), arrived. Returns the on-board date (the actual departure): the B/L date."""
        cfg, rng = self.cfg, self.rng
        etd = goods_issue + timedelta(days=rng.randint(1, 3))
        eta = etd + timedelta(days=customer["PORT"][1] + rng.randint(-1, 2))
        steps: list[tuple[datetime, dict[str, Any], str | None]] = [
            (
                issued + timedelta(hours=1),
                {
                    "delivery_id": lieferung,
                    "vessel": f"{base_body['carrier']} {rng.choice(['STAR', 'PRIDE', 'HOPE', 'GLORY'])}",
                    "voyage": f"{rng.randrange(100, 999)}E",
                    "bl_number": f"BL{lieferung}",
                    "containers": [
                        f"CSNU{rng.randrange(1000000, 9999999)}"
                        for _ in range(max(1, min(40, int(delivered // 25))))
                    ],
                    "status": "GATE_IN",
                    "event": {"code": "GATE_IN", "at": issued.isoformat()},
                },
                None,
            )
        ]
        # roll-overs and congestion push the planned ETD out, each announced before the planned departure
        # (a stream of the shipment's own: the ERP's draws stay as they were)
        sailing = shipment.rng(cfg.seed, "sailing")
        plan_etd = date.fromisoformat(base_body["etd_planned"])
        revision_day = shipment.versions[-1][0].date() + timedelta(days=2)
        for _ in range(sailing.choices([0, 1, 2, 3], weights=[55, 25, 13, 7])[0]):
            last_day = plan_etd - timedelta(days=1)
            if revision_day > last_day:
                break
            revision_day += timedelta(days=sailing.randint(0, (last_day - revision_day).days))
            reason = sailing.choice(["ROLLED_OVER", "PORT_CONGESTION", "VESSEL_DELAY"])
            low, high = {"ROLLED_OVER": (7, 7), "PORT_CONGESTION": (2, 5), "VESSEL_DELAY": (1, 3)}[reason]
            plan_etd += timedelta(days=sailing.randint(low, high))
            revised = at(revision_day, sailing.uniform(9.0, 18.0))
            while revised in {step[0] for step in steps}:  # one version per moment
                revised += timedelta(minutes=1)
            steps.append(
                (
                    revised,
                    {
                        "etd_planned": plan_etd.isoformat(),
                        "eta_planned": (plan_etd + timedelta(days=customer["PORT"][1])).isoformat(),
                        "event": {"code": "ETD_REVISED", "at": revised.isoformat(), "reason": reason},
                    },
                    reason,
                )
            )
            revision_day += timedelta(days=1)
        if plan_etd != date.fromisoformat(base_body["etd_planned"]):
            # sails on the last planned date or a day later, and arrives after the same transit time
            sailed = max(etd, plan_etd + timedelta(days=sailing.choice([0, 0, 1])))
            eta, etd = eta + (sailed - etd), sailed
        departed = at(etd, 20)
        steps.append(
            (
                departed,
                {
                    "status": "DEPARTED",
                    "etd_actual": etd.isoformat(),
                    "eta_planned": eta.isoformat(),
                    "event": {"code": "DEPARTED", "at": departed.isoformat()},
                },
                "ETA_ON_DEPARTURE",
            )
        )
        arrived = at(eta, 8)
        steps.append(
            (
                arrived,
                {
                    "status": "ARRIVED",
                    "eta_actual": eta.isoformat(),
                    "event": {"code": "ARRIVED", "at": arrived.isoformat()},
                },
                None,
            )
        )
        body = base_body
        for when, changes, plan_reason in sorted(steps, key=lambda step: step[0]):
            event = changes.pop("event")
            body = dict(body, **changes, events=[*body["events"], event])
            shipment.add(when, body, plan_reason)
        return etd
