"""The simulated billing and receivables behave like a commodity trader's SAP: formula-priced lines with a
provisional invoice and a final-price memo, cancellations, payment terms from the invoice or B/L date,
prepayment, partial and combined payments, one shipment per delivery. Expectations are recomputed from the
ERP rows (``World.erp_as_of``), the forwarder's shipments and the bank files, not from the simulator's
bookkeeping."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest

from o2c.simulate.bank.statements import statements
from o2c.simulate.catalog import PAYMENT_TERMS
from o2c.simulate.world import RULE_AR_OVERDUE, SimConfig, World, build_world

SMALL = SimConfig(seed=7, days=40, customers=30, lines_per_day=14.0, bad_bank_file_day=20)
LONGER = SimConfig(seed=5, days=75, customers=30, lines_per_day=12.0, bad_bank_file_day=30)
"""Long enough for quotational periods to close (M+1 included) and memos of both signs."""


@pytest.fixture(scope="module", params=[SMALL, LONGER], ids=["small", "longer"])
def world(request) -> World:
    return build_world(request.param)


@pytest.fixture(scope="module")
def longer() -> World:
    return build_world(LONGER)


def _all(world: World, table: str) -> list[dict]:
    """Every row as it finally stands (every payment made, however late)."""
    far = datetime.combine(world.config.end + timedelta(days=400), datetime.min.time(), tzinfo=UTC)
    return world.erp_as_of(table, far)


def _dats(value: str) -> date:
    return datetime.strptime(value, "%Y%m%d").date()


def _cents(value: Decimal) -> Decimal:
    """SAP rounds amounts half up."""
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _item_id(row: dict) -> str:
    return f"{row['BUKRS']}-{row['GJAHR']}-{row['BELNR']}-{row['BUZEI']}"


def _items(world: World) -> dict[str, dict]:
    """Every customer item: open (BSID) or cleared (BSAD, with AUGDT/AUGBL)."""
    return {_item_id(r): r for table in ("BSID", "BSAD") for r in _all(world, table)}


def _due(row: dict) -> date:
    baseline = _dats(row["ZFBDT"])
    if row["SHKZG"] == "H" and not row["REBZG"].strip():
        return baseline
    days = next((int(row[f]) for f in ("ZBD3T", "ZBD2T", "ZBD1T") if int(row[f] or 0) > 0), 0)
    return baseline + timedelta(days=days)


def _departures(world: World) -> dict[str, date]:
    """The on-board (actual departure) date of each delivery's shipment, as the forwarder reports it."""
    far = datetime.combine(world.config.end + timedelta(days=400), datetime.min.time(), tzinfo=UTC)
    return {
        s["delivery_id"]: date.fromisoformat(s["etd_actual"])
        for s in world.shipments_as_of(far)
        if s["delivery_id"] and s["etd_actual"]
    }


def _usd_rate(world: World, day: date, currency: str) -> Decimal:
    """Units of ``currency`` per USD on ``day`` from TCURR (type M, valid from GDATU)."""
    if currency == "USD":
        return Decimal(1)
    rates = {}
    for row in _all(world, "TCURR"):
        valid_from = datetime.strptime(f"{99999999 - int(row['GDATU']):08d}", "%Y%m%d").date()
        if valid_from == day:
            ukurs = row["UKURS"]
            rates[(row["FCURR"], row["TCURR"])] = (
                (1 / -ukurs if ukurs < 0 else ukurs) * row["TFACT"] / row["FFACT"]
            )
    if ("USD", currency) in rates:
        return rates[("USD", currency)]
    return 1 / rates[(currency, "USD")]


def test_formula_lines_get_a_provisional_invoice_and_a_final_price_memo(longer) -> None:
    """Every delivery of a formula-priced line (VBAP ZZPRTYP F) is billed provisionally (ZPRV) at the order's
    price; once its quotational period (the B/L month, or the month after) has closed, the difference to the
    final price (the QP month's benchmark at the QP's last day's rate, plus the premium) is billed as a debit
    memo (L2, VBTYP P) or credited (G2, VBTYP O) with reference to the provisional invoice, to the cent."""
    world, cfg = longer, longer.config
    lines = {f"{r['VBELN']}-{r['POSNR']}": r for r in _all(world, "VBAP")}
    headers = {r["VBELN"]: r for r in _all(world, "VBAK")}
    formula = {k for k, r in lines.items() if r["ZZPRTYP"] == "F"}
    call_offs = {k for k, r in lines.items() if headers[r["VBELN"]]["AUART"] == "ZOR"}
    assert formula <= call_offs
    assert 0.15 < len(formula) / len(call_offs) < 0.4, (len(formula), len(call_offs))
    assert {lines[k]["ZZQPRULE"] for k in formula} == {"M", "M+1"}
    billing = {r["VBELN"]: r for r in _all(world, "VBRK")}
    items = {r["VBELN"]: r for r in _all(world, "VBRP")}
    bench = {(r["MATNR"], r["SPMON"]): r["KBETR"] for r in _all(world, "ZMM_PRICE_BENCH")}
    departures = _departures(world)
    provisional = defaultdict(list)
    for vbeln, item in items.items():
        line = f"{item['AUBEL']}-{item['AUPOS']}"
        if item["VGTYP"] == "J" and not billing[vbeln]["FKSTO"]:
            assert billing[vbeln]["FKART"] == ("ZPRV" if line in formula else "F2"), vbeln
            if line in formula:
                provisional[item["VGBEL"]].append(vbeln)
    memos = {
        item["VGBEL"]: vbeln
        for vbeln, item in items.items()
        if billing[vbeln]["FKART"] in ("L2", "G2")
        and items[item["VGBEL"]]["VGTYP"] == "J"
        and billing[item["VGBEL"]]["FKART"] == "ZPRV"
    }
    deliveries = {r["VBELN"]: r for r in _all(world, "LIPS")}
    flows = {(r["VBELV"], r["VBELN"], r["VBTYP_N"]) for r in _all(world, "VBFA")}
    signs = Counter()
    settled = 0
    for lieferung, invoices in provisional.items():
        assert len(invoices) == 1, lieferung
        invoice = invoices[0]
        line = lines[f"{deliveries[lieferung]['VGBEL']}-{deliveries[lieferung]['VGPOS']}"]
        qty, price = items[invoice]["FKIMG"], line["NETPR"] / line["KPEIN"]
        assert billing[invoice]["NETWR"] == _cents(qty * price)
        bl_date = departures[lieferung]
        month = bl_date.replace(day=1)
        if line["ZZQPRULE"] == "M+1":
            month = (month + timedelta(days=32)).replace(day=1)
        qp_to = (month + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        memo = memos.get(invoice)
        if qp_to + timedelta(days=7) > cfg.end and memo is None:
            continue  # the QP has not closed (or not been settled) by the last simulated day
        final = (
            bench[(line["MATNR"], month.strftime("%Y%m"))]
            * _usd_rate(world, qp_to, line["WAERK"])
            * (1 + line["ZZPREMP"] / 100)
        ).quantize(Decimal("0.01"))
        difference = _cents(qty * (final - price))
        if difference == 0:
            assert memo is None, invoice
            continue
        assert memo is not None, (invoice, difference)
        settled += 1
        header = billing[memo]
        assert (header["FKART"], header["VBTYP"]) == (("L2", "P") if difference > 0 else ("G2", "O"))
        assert header["NETWR"] == abs(difference), (memo, difference)
        assert qp_to < _dats(header["FKDAT"]) <= qp_to + timedelta(days=7)
        assert (items[memo]["VGBEL"], items[memo]["VGTYP"]) == (invoice, "M")
        assert (invoice, memo, header["VBTYP"]) in flows
        assert header["ZTERM"] == billing[invoice]["ZTERM"]
        signs[header["FKART"]] += 1
    assert settled > 5 and signs["L2"] and signs["G2"], signs
    truth = {f.provisional_invoice_id: f for f in world.formula_pricing}
    assert set(truth) == {i for invoices in provisional.values() for i in invoices}
    for f in truth.values():
        assert f.memo_id == memos.get(f.provisional_invoice_id)
        if f.memo_id is not None:
            assert f.difference == _cents(f.qty * (f.final_price - f.provisional_price))
            assert billing[f.memo_id]["NETWR"] == abs(f.difference)


def test_formula_pricing_is_present_even_in_a_small_scenario() -> None:
    world = build_world(SMALL)
    assert {f.qp_rule for f in world.formula_pricing} == {"M", "M+1"}
    assert any(f.memo_id for f in world.formula_pricing), "the B/L month's QP closes within 40 days"


def test_cancellations_clear_the_invoice_and_net_to_zero(world) -> None:
    """S1 (VBTYP N, SFAKN the invoice) for an invoice that then has FKSTO X; the cancellation's credit item
    clears the invoice's item under one clearing document dated the cancellation; the two net to zero; a
    corrected invoice bills the delivery again."""
    billing = {r["VBELN"]: r for r in _all(world, "VBRK")}
    items = {r["VBELN"]: r for r in _all(world, "VBRP")}
    fi = _items(world)
    by_document = defaultdict(list)
    for row in fi.values():
        by_document[row["VBELN"]].append(row)
    cancellations = [r for r in billing.values() if r["FKART"] == "S1"]
    assert len(cancellations) >= 2
    assert {r["VBELN"] for r in billing.values() if r["FKSTO"] == "X"} == {r["SFAKN"] for r in cancellations}
    for cancellation in cancellations:
        original = billing[cancellation["SFAKN"]]
        assert cancellation["VBTYP"] == "N" and original["FKART"] == "F2" and original["FKSTO"] == "X"
        assert cancellation["NETWR"] == original["NETWR"] and cancellation["KUNAG"] == original["KUNAG"]
        assert (items[cancellation["VBELN"]]["VGBEL"], items[cancellation["VBELN"]]["VGTYP"]) == (
            original["VBELN"],
            "M",
        )
        [credit] = by_document[cancellation["VBELN"]]
        [debit] = by_document[original["VBELN"]]
        assert credit["SHKZG"] == "H" and debit["SHKZG"] == "S" and credit["REBZG"] == debit["BELNR"]
        assert credit["WRBTR"] == debit["WRBTR"] == original["NETWR"]
        day = cancellation["FKDAT"]
        assert (
            credit["AUGDT"] == debit["AUGDT"] == day and credit["AUGBL"] == debit["AUGBL"] == credit["BELNR"]
        )
        cleared = {_item_id(r) for r in fi.values() if r.get("AUGBL") == credit["AUGBL"]}
        assert cleared == {_item_id(debit), _item_id(credit)}
        delivery = items[original["VBELN"]]["VGBEL"]
        rebilled = [
            v
            for v, item in items.items()
            if item["VGBEL"] == delivery and item["VGTYP"] == "J" and not billing[v]["FKSTO"]
        ]
        assert len(rebilled) == 1 and billing[rebilled[0]]["NETWR"] == original["NETWR"], delivery
        assert billing[rebilled[0]]["FKDAT"] == day


def test_invoices_take_their_baseline_from_the_terms(world) -> None:
    """Terms from the invoice date: the baseline is the invoice date; from the B/L date (T/T after B/L, L/C
    at sight, L/C usance): the shipment's on-board date, the invoice dated on or after it; prepayment: billed
    when the delivery is created, on or before the goods issue, and paid by its due date. The ground truth
    states each invoice's terms, baseline and net due date."""
    billing = {r["VBELN"]: r for r in _all(world, "VBRK")}
    items = {r["VBELN"]: r for r in _all(world, "VBRP")}
    issues = {r["VBELN"]: _dats(r["WADAT_IST"]) for r in _all(world, "LIKP")}
    departures = _departures(world)
    fi = _items(world)
    truth = {t.invoice_id: t for t in world.invoices}
    assert set(truth) == set(billing)
    seen = Counter()
    for vbeln, header in billing.items():
        t = truth[vbeln]
        own = [r for r in fi.values() if r["VBELN"] == vbeln and not r["REBZG"]]  # no residual items
        assert (t.billing_type, t.amount, t.terms, t.customer_id) == (
            header["FKART"],
            header["NETWR"],
            header["ZTERM"],
            header["KUNAG"],
        )
        assert t.invoice_date == _dats(header["FKDAT"])
        if header["FKART"] not in ("F2", "ZPRV"):
            continue
        term = PAYMENT_TERMS[header["ZTERM"]]
        row = min(own, key=lambda r: r["BUZEI"])
        baseline = _dats(row["ZFBDT"])
        invoice_date = _dats(header["FKDAT"])
        delivery = items[vbeln]["VGBEL"]
        assert t.baseline == baseline and t.net_due_date == max(_due(r) for r in own)
        if term.baseline == "bl":
            assert baseline == departures[delivery] <= invoice_date, vbeln
            assert row["ZBD1T"] == term.net_days
        elif term.baseline == "prepayment":
            assert baseline == invoice_date <= issues[delivery] and invoice_date.weekday() < 5, vbeln
            assert _due(row) == invoice_date + timedelta(days=2)
            cleared = row.get("AUGDT")
            assert cleared is not None and _dats(cleared) <= _due(row), ("prepayment paid in time", vbeln)
        else:
            assert baseline == invoice_date and issues[delivery] <= invoice_date, vbeln
        seen[term.code] += 1
    assert set(seen) == set(PAYMENT_TERMS), seen


def test_partial_payments_leave_a_residual_item(world) -> None:
    """A partial payment clears the item and posts a residual item for the rest in its payment document
    (REBZG the original document, same customer, invoice and terms), paid later by its due date or left
    overdue as a recorded case."""
    fi = _items(world)
    cases = {c.entity_key: c for c in world.cases if c.rule_id == RULE_AR_OVERDUE}
    partial = [p for p in world.payments if p.kind == "partial"]
    residual_payments = {p.cleared_items[0]: p for p in world.payments if p.kind == "residual"}
    assert len(partial) >= 2 and residual_payments
    for payment in partial:
        [original_id] = payment.cleared_items
        original, residual = fi[original_id], fi[payment.residual_item]
        assert original["AUGBL"] == payment.clearing_document == residual["BELNR"]
        assert _dats(original["AUGDT"]) == payment.booking_date < _due(original)
        assert residual["REBZG"] == original["BELNR"] and residual["BUZEI"] == "002"
        assert (residual["KUNNR"], residual["VBELN"], residual["SHKZG"]) == (
            original["KUNNR"],
            original["VBELN"],
            "S",
        )
        assert residual["WRBTR"] + payment.amount == original["WRBTR"] and payment.amount > 0
        assert _due(residual) == _due(original)
        if payment.residual_item in residual_payments:
            paid = residual_payments[payment.residual_item]
            # what the credit applies (it may arrive short of bank fees or converted: test_simulator_payments)
            applied = sum(a.applied_amount for a in paid.applications)
            assert applied == residual["WRBTR"] and _dats(residual["AUGDT"]) == paid.booking_date
            assert payment.booking_date < paid.booking_date <= _due(residual)
            assert payment.residual_item not in cases
        else:
            assert "AUGDT" not in residual and cases[payment.residual_item].until is None


def test_a_combined_payment_clears_exactly_its_items_with_one_bank_credit(world) -> None:
    """One bank credit, one clearing of every item it pays, dated its booking. Since receipts have noise
    (``receipts``), the credit may be short of fees or converted (the items' net is what it applies), its
    remittance may list only some invoices or none, a group parent may pay its own and an affiliate's items
    together, and an unidentified credit is cleared by hand days later."""
    fi = _items(world)
    by_clearing = defaultdict(set)
    for item_id, row in fi.items():
        if row.get("AUGBL"):
            by_clearing[row["AUGBL"]].add(item_id)
    credits = Counter()
    for stmt in statements(world):
        for entry in stmt.entries:
            for payment in entry.credits:
                credits[(stmt.day, stmt.currency, entry.reference, payment.tx_seq, payment.amount)] += 1
    combined = [p for p in world.payments if p.kind == "combined"]
    assert len(combined) >= 2 and any(len(p.invoice_ids) >= 3 for p in combined)
    for payment in combined:
        assert set(payment.cleared_items) == by_clearing[payment.clearing_document], payment
        rows = [fi[i] for i in payment.cleared_items]
        assert len(rows) >= 2
        parents = {world.customer_groups.get(r["KUNNR"], r["KUNNR"]) for r in rows}
        assert len({r["KUNNR"] for r in rows}) == 1 or ("group_payer" in payment.cases and len(parents) == 1)
        signed = sum((r["WRBTR"] if r["SHKZG"] == "S" else -r["WRBTR"]) for r in rows)
        assert sum(a.applied_amount for a in payment.applications) == signed > 0
        assert {_dats(r["AUGDT"]) for r in rows} == {payment.cleared_on}
        if "unidentified" not in payment.cases:
            assert payment.cleared_on == payment.booking_date
        assert all(payment.cleared_on <= _due(r) for r in rows if r["SHKZG"] == "S")
        assert {r["VBELN"] for r in rows if r["VBELN"]} == set(payment.invoice_ids)
        if payment.booking_date <= world.config.end:
            key = (
                payment.booking_date,
                payment.account_currency,
                payment.bank_reference,
                payment.tx_seq,
                payment.amount,
            )
            assert credits[key] == 1, key
        all_listed = payment.reference_form.startswith("listed") and "of" in payment.reference_form
        if all_listed and payment.reference_form.split()[1] == payment.reference_form.split()[-1]:
            for invoice in (r["VBELN"] for r in rows if r["SHKZG"] == "S"):
                assert invoice in payment.remittance or invoice.lstrip("0") in payment.remittance


MANY_MEMOS = SimConfig(seed=5, days=200, customers=30, lines_per_day=14.0, bad_bank_file_day=30)
"""Long enough for combined payments of invoices with credit memos posted after the payment's day (11 such
items were cleared before their posting when a combined payment took them along)."""


@pytest.mark.parametrize("config", [SMALL, LONGER, MANY_MEMOS], ids=["small", "longer", "many_memos"])
def test_no_clearing_is_dated_before_an_item_it_clears(config: SimConfig) -> None:
    """SAP dates a clearing no earlier than the items it clears: a credit memo posted after a combined
    payment's day waits for a later payment."""
    world = build_world(config)
    early = [
        (r["AUGBL"], _item_id(r), r["BUDAT"], r["AUGDT"])
        for r in _all(world, "BSAD")
        if _dats(r["AUGDT"]) < _dats(r["BUDAT"])
    ]
    assert not early, early[:5]


def test_every_payment_clears_what_it_says(world) -> None:
    fi = _items(world)
    reset = set()
    for key in world.reset_items:
        bukrs, belnr, gjahr, buzei = key.split("-")
        reset.add(f"{bukrs}-{gjahr}-{belnr}-{buzei}")
    for payment in world.payments:
        rows = [fi[i] for i in payment.cleared_items]
        assert rows, payment
        if set(payment.cleared_items) & reset and not payment.remittance.endswith("RESENT"):
            continue  # returned by the bank: its item was cleared again by the payment sent again
        # what it applies to and leaves open of each item it clears is the item (the credit itself may be
        # more, less fees, or converted: test_simulator_payments ties it out)
        cleared = [a for a in payment.applications if a.item_id in payment.cleared_items]
        signed = sum((r["WRBTR"] if r["SHKZG"] == "S" else -r["WRBTR"]) for r in rows)
        assert signed == sum(a.applied_amount + a.residual_amount for a in cleared), payment
        assert {r["AUGBL"] for r in rows} == {payment.clearing_document}


def test_each_delivery_sails_on_a_shipment_of_its_own(world) -> None:
    far = datetime.combine(world.config.end + timedelta(days=400), datetime.min.time(), tzinfo=UTC)
    shipments = world.shipments_as_of(far)
    per_delivery = Counter(s["delivery_id"] for s in shipments if s["delivery_id"])
    lips = {r["VBELN"]: r for r in _all(world, "LIPS")}
    assert set(per_delivery) == set(lips) and set(per_delivery.values()) == {1}
    per_line = Counter()
    for s in shipments:
        if s["delivery_id"]:
            item = lips[s["delivery_id"]]
            assert (s["order_id"], s["order_item"]) == (item["VGBEL"], item["VGPOS"])
            assert s["bl_number"] == f"BL{s['delivery_id']}" and s["etd_actual"]
            per_line[(s["order_id"], s["order_item"])] += 1
    assert max(per_line.values()) >= 2, "partial deliveries sail on separate shipments"
    assert len({s["shipment_id"] for s in shipments}) == len(shipments)


def test_billing_ground_truth_is_deterministic() -> None:
    first, again = build_world(SMALL), build_world(SMALL)
    assert first.invoices == again.invoices
    assert first.formula_pricing == again.formula_pricing
    assert first.payments == again.payments


def test_every_item_overdue_at_a_night_is_a_recorded_case(world) -> None:
    """AR_OVERDUE as the rule reads the ERP (per open debit customer item, SAP's net due date), recomputed
    at several nights once every clearing has been committed: exactly the recorded cases, so residual items,
    memos, cancellations, B/L and prepayment terms and combined payments add no unrecorded overdue item."""
    from o2c.business_calendar import cutoff_for

    cfg = world.config
    nights = [cfg.start + timedelta(days=d) for d in range(10, cfg.days, 3)] + [cfg.end]
    for night in nights:
        cutoff = cutoff_for(night)
        overdue = set()
        for table in ("BSID", "BSAD"):
            for row in world.erp_as_of(table, cutoff, by_change_time=True):
                if _dats(row["BUDAT"]) > night or row["SHKZG"] != "S":
                    continue
                if table == "BSAD" and _dats(row["AUGDT"]) <= night:
                    continue
                if (night - _due(row)).days > 0:
                    overdue.add(_item_id(row))
        expected = {
            c.entity_key
            for c in world.cases
            if c.rule_id == RULE_AR_OVERDUE
            and (night - c.reference_date).days > 0
            and (c.until is None or night <= c.until)
        }
        assert overdue == expected, (night, sorted(overdue - expected)[:5], sorted(expected - overdue)[:5])


WRITING_OFF = SimConfig(
    seed=3, days=90, customers=25, lines_per_day=12.0, bad_bank_file_day=30, write_off_after_days=20
)
"""Items never paid are written off 20 days after their due date: several within the range, several not."""


@pytest.fixture(scope="module")
def writing_off() -> World:
    return build_world(WRITING_OFF)


def test_items_never_paid_are_written_off_a_set_time_after_their_due_date(writing_off: World) -> None:
    world, cfg = writing_off, writing_off.config
    items = _items(world)
    paid = {item for p in world.payments for item in p.cleared_items}
    never_paid = {
        c.entity_key: c for c in world.cases if c.rule_id == RULE_AR_OVERDUE and ("never paid" in c.note)
    }
    written = {w.item_id: w for w in world.write_offs}
    assert written, "some items reach their write-off day within the range"
    assert set(written) <= set(never_paid) and not set(written) & paid, "only items never paid"
    for item_id, case in never_paid.items():
        row = items[item_id]
        day = _due(row) + timedelta(days=cfg.write_off_after_days)
        while day.weekday() >= 5:
            day += timedelta(days=1)
        if day <= cfg.end:
            w = written[item_id]
            assert "AUGDT" in row and _dats(row["AUGDT"]) == day == w.written_off_on, item_id
            assert row["AUGBL"] == w.clearing_document and Decimal(str(row["WRBTR"])) == w.amount
            assert case.until == day - timedelta(days=1), "overdue until the day before the write-off"
        else:
            assert item_id not in written and "AUGDT" not in row, "still open at the end"
            assert case.until is None
    clearings = {p.clearing_document for p in world.payments}
    assert not clearings & {w.clearing_document for w in world.write_offs}, "a write-off has no payment"
    late = set(world.late_commits)  # BUKRS-BELNR-GJAHR-BUZEI
    for w in world.write_offs:
        bukrs, gjahr, belnr, buzei = w.item_id.split("-")
        assert f"{bukrs}-{belnr}-{gjahr}-{buzei}" not in late, (
            "posted by hand in the day, not by the night batch"
        )
