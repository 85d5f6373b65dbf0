"""Sales orders called off against contracts, their deliveries and the forwarder's shipments."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from o2c.simulate.billing import Billing
from o2c.simulate.catalog import (
    RULE_ORDER_OVERDUE,
    RULE_PRICE_BAND,
    RULE_QTY_TOLERANCE,
    THREE,
    Row,
    at,
    dats,
    money,
)
from o2c.simulate.model import Case, Shipment


class Orders(Billing):
    def price_for(self, product: Row, day: date, currency: str) -> Decimal:
        usd = self.bench[(product["MATNR"], day.strftime("%Y%m"))]
        return usd if currency == "USD" else usd * self.usd_cny[day]

    def build_orders(self) -> None:
        cfg, rng = self.cfg, self.rng
        self.order_lines = 0
        for d in range(cfg.days):
            day = cfg.start + timedelta(days=d)
            if day.weekday() == 6:  # no order entry on Sundays
                continue
            target_lines = rng.gauss(cfg.lines_per_day * 7 / 6, 6)
            made = 0
            while made < target_lines:
                customer = rng.choice(self.customers)
                made += self.build_order(customer, day)

    def build_order(self, customer: Row, day: date) -> int:
        cfg, rng = self.cfg, self.rng
        valid = [c for c in self.contracts[customer["KUNNR"]] if c["FROM"] <= day <= c["TO"]]
        if not valid:
            return 0
        vbeln = self.next_id("order", 10000000)
        created = at(day, self.business_hour())
        n_lines = min(len(valid), rng.choice([1, 1, 1, 2, 2, 3]))
        horizon_left = (cfg.end - day).days
        header_total = Decimal(0)
        currency = customer["CURRENCY"]
        for index, contract in enumerate(rng.sample(valid, n_lines)):
            posnr = f"{(index + 1) * 10:06d}"
            key = f"{vbeln}-{posnr}"
            product = contract["PRODUCT"]
            qty = Decimal(rng.randrange(40, 4000)) / 2
            bench = self.price_for(product, day, currency)
            band = cfg.price_band_pct / 100
            price_injected = rng.random() < cfg.price_deviation_rate
            if price_injected:
                off = Decimal(str(round(rng.uniform(0.15, 0.30), 4))) * rng.choice([1, -1])
                self.cases.append(
                    Case(
                        RULE_PRICE_BAND,
                        key,
                        vbeln,
                        customer["KUNNR"],
                        day,
                        f"price {off:+.1%} off the benchmark",
                    )
                )
            else:
                off = contract["PREMIUM"] + Decimal(str(round(rng.uniform(-0.5, 0.5) * float(band), 4)))
                off = max(min(off, band * Decimal("0.8")), -band * Decimal("0.8"))
            price = (bench * (1 + off)).quantize(Decimal("0.01"))
            net = money(qty * price)
            header_total += net
            lead = rng.randint(7, 30)
            promised = day + timedelta(days=lead)
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
                    "NETPR": price,
                    "KPEIN": 1,
                    "NETWR": net,
                    "WAERK": currency,
                    "WERKS": contract["PLANT"],
                    "UEBTO": contract["TOL"],
                    "UNTTO": contract["TOL"],
                    "VGBEL": contract["VBELN"],
                    "VGPOS": "000010",
                    "ABGRU": "",
                    "ERDAT": dats(day),
                },
            )
            self.put(
                "VBEP",
                (vbeln, posnr, "0001"),
                created,
                {"VBELN": vbeln, "POSNR": posnr, "ETENR": "0001", "EDATU": dats(promised), "WMENG": qty},
            )
            self.put(
                "VBKD",
                (vbeln, posnr),
                created,
                {
                    "VBELN": vbeln,
                    "POSNR": posnr,
                    "ZTERM": customer["ZTERM"],
                    "INCO1": rng.choice(["FOB", "CFR", "CIF"]),
                    "INCO2": customer["PORT"][0],
                },
            )
            shipment = Shipment(f"SHP{vbeln[-7:]}{posnr[-2:-1]}")
            self.shipments.append(shipment)
            etd_plan = promised + timedelta(days=1)
            transit = customer["PORT"][1]
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
                "events": [{"code": "BOOKED", "at": (created + timedelta(hours=3)).isoformat()}],
            }
            shipment.versions.append((created + timedelta(hours=3), base_body))
            self.order_lines += 1

            # the order line's fate: rejected, stuck (overdue), or delivered
            overdue = horizon_left > 12 and rng.random() < cfg.overdue_order_rate
            rejected = not overdue and rng.random() < cfg.rejection_rate
            if rng.random() < 0.1 and not overdue:  # customer revises the quantity two days later
                qty = (qty * Decimal(str(rng.choice([0.8, 0.9, 1.1, 1.2])))).quantize(Decimal("0.5"))
                net = money(qty * price)
                self.put(
                    "VBAP",
                    (vbeln, posnr),
                    created + timedelta(days=2),
                    {**self.latest("VBAP", (vbeln, posnr)), "KWMENG": qty, "NETWR": net},
                )
                self.put(
                    "VBEP",
                    (vbeln, posnr, "0001"),
                    created + timedelta(days=2),
                    {"VBELN": vbeln, "POSNR": posnr, "ETENR": "0001", "EDATU": dats(promised), "WMENG": qty},
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
                        {"code": "ETD_REVISED", "at": at(promised - timedelta(days=1), 11).isoformat()},
                    ],
                )
                shipment.versions.append((at(promised - timedelta(days=1), 11), slipped))
                continue
            if rejected:  # after any quantity revision (day 2), so the rejection is the latest version
                when = created + timedelta(days=rng.randint(3, 6))
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
            self.build_delivery(
                customer, contract, vbeln, posnr, key, qty, price, goods_issue, shipment, base_body
            )
        self.put(
            "VBAK",
            (vbeln,),
            created,
            {
                "VBELN": vbeln,
                "VBTYP": "C",
                "AUART": "ZOR",
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
        return n_lines

    def build_delivery(
        self,
        customer: Row,
        contract: Row,
        vbeln: str,
        posnr: str,
        key: str,
        qty: Decimal,
        price: Decimal,
        goods_issue: date,
        shipment: Shipment,
        base_body: dict[str, Any],
    ) -> None:
        cfg, rng = self.cfg, self.rng
        tol = contract["TOL"] / 100
        if rng.random() < cfg.qty_deviation_rate:
            deviation = (tol + Decimal(str(round(rng.uniform(0.04, 0.15), 4)))) * rng.choice([1, -1])
            self.cases.append(
                Case(
                    RULE_QTY_TOLERANCE,
                    key,
                    vbeln,
                    customer["KUNNR"],
                    goods_issue,
                    f"delivered {deviation:+.1%} vs ordered, tolerance {contract['TOL']}%",
                )
            )
        else:
            deviation = Decimal(str(round(rng.uniform(-0.8, 0.8) * float(tol), 4)))
        delivered = (qty * (1 + deviation)).quantize(THREE)
        lieferung = self.next_id("delivery", 80000000)
        picked = at(goods_issue - timedelta(days=2), self.business_hour())
        batch = f"B{goods_issue.strftime('%y%m%d')}{rng.randrange(100, 999)}"
        plant = contract["PLANT"]
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
        self.put(
            "LIPS",
            (lieferung, "000010"),
            picked,
            {
                "VBELN": lieferung,
                "POSNR": "000010",
                "MATNR": contract["PRODUCT"]["MATNR"],
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
        # the forwarder: booked, gate-in, departed, arrived
        etd = goods_issue + timedelta(days=rng.randint(1, 3))
        eta = etd + timedelta(days=customer["PORT"][1] + rng.randint(-1, 2))
        body = dict(
            base_body,
            delivery_id=lieferung,
            vessel=f"{base_body['carrier']} {rng.choice(['STAR', 'PRIDE', 'HOPE', 'GLORY'])}",
            voyage=f"{rng.randrange(100, 999)}E",
            bl_number=f"BL{lieferung}",
            containers=[
                f"CSNU{rng.randrange(1000000, 9999999)}" for _ in range(max(1, min(40, int(delivered // 25))))
            ],
            status="GATE_IN",
            events=[*base_body["events"], {"code": "GATE_IN", "at": issued.isoformat()}],
        )
        shipment.versions.append((issued + timedelta(hours=1), body))
        departed = at(etd, 20)
        body = dict(
            body,
            status="DEPARTED",
            etd_actual=etd.isoformat(),
            eta_planned=eta.isoformat(),
            events=[*body["events"], {"code": "DEPARTED", "at": departed.isoformat()}],
        )
        shipment.versions.append((departed, body))
        arrived = at(eta, 8)
        body = dict(
            body,
            status="ARRIVED",
            eta_actual=eta.isoformat(),
            events=[*body["events"], {"code": "ARRIVED", "at": arrived.isoformat()}],
        )
        shipment.versions.append((arrived, body))
        self.build_invoice(customer, vbeln, posnr, lieferung, contract, delivered, price, goods_issue)
