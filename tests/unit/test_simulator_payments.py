"""Customer receipts: every case cash application must handle occurs, each with its ground truth; the money
ties out to the cent between the bank credit, what it applies to each item and the ERP's clearing; bank and
ERP tell one story (clearing dated the booking, posted 0–2 business days later); and the bank files are
valid (XSD, SWIFT), reconcile, and share each entry's bank reference across intraday report, notification
and statement. Files are read with lxml and regular expressions, not with the pipeline's parsers."""

from __future__ import annotations

import itertools
import re
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path

import pytest
from lxml import etree

from o2c.business_calendar import BUSINESS_TZ
from o2c.simulate.bank.files import BankFile, bank_files, drop_files
from o2c.simulate.bank.statements import ACCOUNTS, statements
from o2c.simulate.catalog import at
from o2c.simulate.iso11649 import is_valid, rf_reference
from o2c.simulate.receipt_truth import (
    BANK_PAYMENT_COLUMNS,
    CASH_APPLICATION_COLUMNS,
    bank_payment_rows,
    cash_application_rows,
    difference_item_rows,
)
from o2c.simulate.remittance import SWIFT_PREFIXES, UNICODE_PREFIXES
from o2c.simulate.world import RULE_AR_OVERDUE, SimConfig, World, build_world
from tests.conftest import shared_data

PAY = SimConfig(seed=11, days=150, customers=40, lines_per_day=14.0, bad_bank_file_day=30)
"""Five months: long enough for a missing statement (day 60), refunds and every case at least once."""
XSD = shared_data() / "xsd"
CASES = {
    "exact_ref",
    "typo_ref",
    "missing_ref",
    "order_ref",
    "delivery_ref",
    "contract_ref",
    "rf_ref",
    "structured_ref",
    "combined",
    "partial",
    "overpayment",
    "on_account_used",
    "claim_deduction",
    "charges_sha",
    "charges_our",
    "charges_ben",
    "fx",
    "third_party",
    "group_payer",
    "returned",
    "unidentified",
}


@pytest.fixture(scope="module")
def world() -> World:
    return build_world(PAY)


@pytest.fixture(scope="module")
def files(world: World) -> list[BankFile]:
    return bank_files(world)


def _in_range(world: World, day: date) -> bool:
    return world.config.start <= day <= world.config.end


def _items(world: World) -> dict[str, dict]:
    far = datetime.combine(world.config.end + timedelta(days=400), datetime.min.time(), tzinfo=UTC)
    return {
        f"{r['BUKRS']}-{r['GJAHR']}-{r['BELNR']}-{r['BUZEI']}": r
        for table in ("BSID", "BSAD")
        for r in world.erp_as_of(table, far)
    }


def _dats(value: str) -> date:
    return datetime.strptime(value, "%Y%m%d").date()


def _business_days(start: date, end: date) -> int:
    """Weekdays after ``start`` up to and including ``end``."""
    return sum(1 for n in range(1, (end - start).days + 1) if (start + timedelta(days=n)).weekday() < 5)


def test_every_case_occurs_with_its_ground_truth(world: World, files: list[BankFile]) -> None:
    payments = [p for p in world.payments if _in_range(world, p.booking_date)]
    seen = Counter(case for p in payments for case in p.cases)
    assert set(seen) >= CASES, CASES - set(seen)
    debits = Counter(d.kind for d in world.debits if _in_range(world, d.booking_date))
    assert debits["return"] and debits["refund"], debits
    forms = Counter(p.reference_form.split(":")[-1] for p in payments if p.reference_form.startswith("typo"))
    assert set(forms) == {"missing_digit", "swapped_digits", "spaces", "prefix"}, forms
    combined = [p for p in payments if "combined" in p.cases]
    assert {len(p.invoice_ids) for p in combined} >= {2, 3}
    assert max(len({a.customer_id for a in p.applications}) for p in combined) >= 2, "parent + affiliate"
    listed = {
        p.reference_form.split()[1] == p.reference_form.split()[-1]
        for p in combined
        if " of " in p.reference_form
    }
    assert listed == {True, False}, "combined remittances list all or only some invoices"
    assert any(p.reference_form == "listed none" for p in combined)
    settled = Counter((d.kind, d.settled_by) for d in world.difference_items)
    for wanted in [
        ("residual", "paid"),
        ("dispute", "credit_memo"),
        ("dispute", "write_off"),
        ("on_account", "used"),
    ]:
        assert settled[wanted], (wanted, settled)
    assert settled[("on_account", "refund")], settled
    assert any(e.is_batch for e in world.bank_entries if _in_range(world, e.booking_date))
    kinds = Counter(f.kind for f in files)
    assert {k: kinds[k] for k in ("corrupt", "resend", "duplicate", "missing")} == dict.fromkeys(
        ("corrupt", "resend", "duplicate", "missing"), 1
    )
    assert kinds["intraday"] and kinds["notification"]


def test_each_credit_ties_out_to_its_applications_and_the_erp(world: World) -> None:
    """credited = Σ applied − fees + FX difference, in Decimal, exactly; each application is what the ERP
    did to the item (paid, partly paid with a residual, paid less a claim with a dispute item, a credit taken,
    an excess put on account)."""
    items = _items(world)
    for p in world.payments:
        applied = sum(a.applied_amount for a in p.applications)
        assert p.amount == applied - p.charges + p.fx_difference, p
        assert p.amount > 0 and p.charges >= 0
        assert (p.charges > 0) == (p.charge_bearer in ("SHA", "BEN")), p
        if "fx" in p.cases:
            assert p.instructed_currency != p.account_currency and p.exchange_rate is not None
            assert p.instructed_amount is not None
            gross = (p.instructed_amount * p.exchange_rate).quantize(Decimal("0.01"))
            assert gross == p.amount + p.charges
            assert abs(p.fx_difference) <= applied * PAY.fx_tolerance_pct / 100, p
        else:
            assert p.fx_difference == 0 and p.exchange_rate is None
        for a in p.applications:
            row = items[a.item_id]
            owed = row["WRBTR"] if row["SHKZG"] == "S" else -row["WRBTR"]
            if a.reason in ("paid", "credit_deducted", "on_account_used"):
                assert a.applied_amount == owed and a.residual_amount == 0, (p, a)
            elif a.reason in ("partial", "claim_deduction"):
                assert a.applied_amount + a.residual_amount == owed and 0 < a.residual_amount < owed
                left = items[p.residual_item]
                assert left["WRBTR"] == a.residual_amount and left["REBZG"] == row["BELNR"]
                assert left["BELNR"] == p.clearing_document and left["BLART"] == "DZ"
                assert left["RSTGR"] == ("Q01" if a.reason == "claim_deduction" else "")
            else:
                assert a.reason == "on_account" and a.item_id == p.on_account_item
                assert row["SHKZG"] == "H" and row["WRBTR"] == a.applied_amount and not row["VBELN"]
                assert row["BELNR"] == p.clearing_document and row["BUDAT"] == f"{p.booking_date:%Y%m%d}"
    for d in world.debits:
        if d.applications:
            assert -d.amount == sum(a.applied_amount for a in d.applications), d


def test_clearings_are_dated_the_booking_and_posted_up_to_two_business_days_later(world: World) -> None:
    """AUGDT = the bank's booking date; the clearing's versions are written 0–2 business days later (most
    the next), on the booking day itself when the payment is on or after an item's due date, never after
    that due date; an unidentified credit is cleared by hand 3–8 business days later."""
    late = {tuple(key.split("-")) for key in world.late_commits}
    delays = Counter()
    for p in world.payments:
        assert p.clearing_posted_at is not None and p.cleared_on is not None
        posted = p.clearing_posted_at.astimezone(BUSINESS_TZ).date()
        for item_id in p.cleared_items:
            bukrs, gjahr, belnr, buzei = item_id.split("-")
            versions = world.erp["BSAD"][(bukrs, belnr, gjahr, buzei)]
            mine = [when for when, row in versions if row is not None and row["AUGBL"] == p.clearing_document]
            assert len(mine) == 1, (p, item_id)
            when = mine[0]
            assert [row["AUGDT"] for _, row in versions if row and row["AUGBL"] == p.clearing_document] == [
                f"{p.cleared_on:%Y%m%d}"
            ]
            if (bukrs, belnr, gjahr, buzei) in late and when != p.clearing_posted_at:
                assert when == at(posted + timedelta(days=1), 1 + 40 / 60), "the night batch after it"
            else:
                assert when == p.clearing_posted_at
        if "unidentified" in p.cases:
            assert 0 < _business_days(p.booking_date, p.cleared_on) <= 8 and posted == p.cleared_on
            continue
        assert p.cleared_on == p.booking_date
        days = _business_days(p.booking_date, posted)
        assert 0 <= days <= 2 and posted.weekday() < 5, p
        delays[days] += 1
    assert delays[1] > delays[0] and delays[1] > delays[2] and delays[0] and delays[2], delays


def test_a_payment_on_or_after_the_due_date_posts_the_same_day(world: World) -> None:
    items = _items(world)
    on_or_after = 0
    for p in world.payments:
        if "unidentified" in p.cases:
            continue
        dues = []
        for item_id in p.cleared_items:
            row = items[item_id]
            if row["SHKZG"] == "S":
                baseline = _dats(row["ZFBDT"])
                days = next((int(row[f]) for f in ("ZBD3T", "ZBD2T", "ZBD1T") if int(row[f] or 0) > 0), 0)
                dues.append(baseline + timedelta(days=days))
        if not dues:
            continue
        posted = p.clearing_posted_at.astimezone(BUSINESS_TZ).date()
        if p.booking_date >= min(dues):
            on_or_after += 1
            assert posted == p.booking_date, p
        else:
            assert posted <= min(dues), p
    assert on_or_after > 5


def test_no_item_is_overdue_but_the_recorded_cases(world: World) -> None:
    """AR_OVERDUE as the rule reads the ERP at a night (every clearing committed): exactly the recorded
    cases, whatever the posting delays, disputes, payments on account and hand clearings."""
    from o2c.business_calendar import cutoff_for

    cfg = world.config
    for night in [cfg.start + timedelta(days=d) for d in range(15, cfg.days, 9)]:
        overdue = set()
        for table in ("BSID", "BSAD"):
            for row in world.erp_as_of(table, cutoff_for(night), by_change_time=True):
                if _dats(row["BUDAT"]) > night or row["SHKZG"] != "S":
                    continue
                if table == "BSAD" and _dats(row["AUGDT"]) <= night:
                    continue
                baseline = _dats(row["ZFBDT"])
                days = next((int(row[f]) for f in ("ZBD3T", "ZBD2T", "ZBD1T") if int(row[f] or 0) > 0), 0)
                if night > baseline + timedelta(days=days):
                    overdue.add(f"{row['BUKRS']}-{row['GJAHR']}-{row['BELNR']}-{row['BUZEI']}")
        expected = {
            c.entity_key
            for c in world.cases
            if c.rule_id == RULE_AR_OVERDUE
            and night > c.reference_date
            and (c.until is None or night <= c.until)
        }
        assert overdue == expected, (night, sorted(overdue ^ expected)[:5])


def test_differences_are_settled_as_the_ground_truth_says(world: World) -> None:
    """Disputes are cleared by a quality-claim credit memo or written off by their due date; payments on
    account are used by a later payment of the customer or refunded by a bank debit."""
    items = _items(world)
    memos = {t.invoice_id: t for t in world.invoices}
    refunds = {d.clearing_document: d for d in world.debits if d.kind == "refund"}
    for difference in world.difference_items:
        row = items[difference.item_id]
        signed = row["WRBTR"] if row["SHKZG"] == "S" else -row["WRBTR"]
        assert signed == difference.amount
        if difference.settled_by == "open":
            assert "AUGBL" not in row
            continue
        assert row["AUGBL"] == difference.settling_document and _dats(row["AUGDT"]) == difference.settled_on
        if difference.kind == "dispute":
            baseline = _dats(row["ZFBDT"])
            assert difference.settled_on <= baseline + timedelta(days=int(row["ZBD2T"] or row["ZBD1T"]))
            if difference.settled_by == "credit_memo":
                memo = memos[difference.memo_id]
                assert (memo.billing_type, memo.reason, memo.references) == (
                    "G2",
                    "quality_claim",
                    difference.invoice_id,
                )
                assert memo.amount == difference.amount
                cleared = {i for i, r in items.items() if r.get("AUGBL") == difference.settling_document}
                assert cleared == {difference.item_id, *memo.customer_items}
        elif difference.kind == "on_account":
            assert difference.amount < 0 and row["SGTXT"] == "PAYMENT ON ACCOUNT"
            if difference.settled_by == "refund":
                refund = refunds[difference.settling_document]
                assert refund.amount == -difference.amount and refund.booking_date == difference.settled_on
            else:
                user = next(p for p in world.payments if p.clearing_document == difference.settling_document)
                assert "on_account_used" in user.cases and difference.item_id in user.cleared_items


def test_returned_payments_are_debits_with_a_reason_and_are_paid_again(world: World) -> None:
    returns = [d for d in world.debits if d.kind == "return"]
    assert len(returns) >= 2
    by_reference = {p.bank_reference: p for p in world.payments}
    for debit in returns:
        original = debit.original
        assert original is not None and "returned" in original.cases
        assert debit.reference == original.end_to_end_id and debit.amount == original.amount
        assert (
            debit.original_reference
            == original.bank_reference
            == by_reference[original.bank_reference].bank_reference
        )
        assert original.returned_by == debit.bank_reference and debit.return_reason in {
            "AC04",
            "AC06",
            "AM05",
            "MD07",
            "FOCR",
            "RR04",
        }
        [item_id] = original.cleared_items
        again = [p for p in world.payments if p.cleared_items == (item_id,) and p is not original]
        assert len(again) == 1 and again[0].booking_date > debit.booking_date > original.booking_date


def test_groups_and_third_parties_pay_for_customers(world: World) -> None:
    cutoff = datetime.combine(world.config.end, datetime.min.time(), tzinfo=UTC)
    kna1 = {r["KUNNR"]: r for r in world.erp_as_of("KNA1", cutoff)}
    groups = world.customer_groups
    assert len(set(groups.values())) >= 2
    for affiliate, parent in groups.items():
        assert kna1[affiliate]["KONZS"] == parent == kna1[parent]["KONZS"]
    members = set(groups) | set(groups.values())
    assert all(r["KONZS"] == "" for k, r in kna1.items() if k not in members)
    for p in world.payments:
        owners = {a.customer_id for a in p.applications}
        if "group_payer" in p.cases:
            assert p.payer_customer_id in set(groups.values())
            assert all(groups.get(o, o) == p.payer_customer_id for o in owners)
            assert p.payer_customer_id not in owners or len(owners) > 1
        elif "third_party" in p.cases or "unidentified" in p.cases:
            assert p.payer_customer_id == "" and p.end_to_end_id
        else:
            assert p.payer_customer_id == p.customer_id


def test_references_say_what_the_case_says(world: World) -> None:
    truth = {t.invoice_id: t for t in world.invoices}
    for p in world.payments:
        if p.kind != "full":
            continue
        invoice = p.invoice_id
        assert invoice is not None
        number = invoice.lstrip("0")
        text = p.remittance
        if "rf_ref" in p.cases:
            assert is_valid(p.creditor_reference) and p.creditor_reference == rf_reference(invoice)
        elif "structured_ref" in p.cases:
            assert p.structured_invoices == (invoice,) and p.account_currency in ("CNY", "EUR")
        elif "typo_ref" in p.cases:
            if p.reference_form == "typo:prefix":  # glued to a prefix, with or without its leading zeros
                stem = text.removesuffix(invoice) if text.endswith(invoice) else text.removesuffix(number)
                assert stem in SWIFT_PREFIXES + UNICODE_PREFIXES, text
            else:
                assert number not in text, text
            if p.reference_form == "typo:spaces":
                assert number in text.replace(" ", "")
        elif {"order_ref", "delivery_ref", "contract_ref"} & set(p.cases):
            assert number not in text and invoice not in text
            if "delivery_ref" in p.cases:
                delivery = truth[invoice].delivery_id
                assert delivery is not None and delivery.lstrip("0") in text
        elif "missing_ref" in p.cases:
            assert number not in text
        elif "exact_ref" in p.cases:
            assert number in text
        if p.account_currency in ("USD", "SGD"):
            assert text.isascii(), "MT940 accounts' payers write in SWIFT characters"
    assert rf_reference("539007547034") == "RF18539007547034" and is_valid("RF18 5390 0754 7034")
    assert not is_valid("RF19539007547034")


# -- bank files ---------------------------------------------------------------------------------------


@cache
def _schema(message: str) -> etree.XMLSchema:
    folder = message[:8].replace(".", "")
    return etree.XMLSchema(etree.parse(str(XSD / folder / f"{message}.xsd")))


def _xml(content: bytes) -> etree._Element:
    return etree.fromstring(content)


def _local(element: etree._Element, path: str) -> list[etree._Element]:
    steps = "/".join(f"*[local-name()='{step}']" for step in path.split("/"))
    return element.xpath(steps)


def _camt_entries(root: etree._Element) -> list[tuple[str, str, Decimal]]:
    """(bank reference, direction, amount) of every entry of a camt message."""
    return [
        (
            _local(ntry, "AcctSvcrRef")[0].text,
            _local(ntry, "CdtDbtInd")[0].text,
            Decimal(_local(ntry, "Amt")[0].text),
        )
        for ntry in root.xpath("//*[local-name()='Ntry']")
    ]


def _camt_balances(root: etree._Element) -> dict[str, Decimal]:
    out = {}
    for balance in root.xpath("//*[local-name()='Bal']"):
        code = _local(balance, "Tp/CdOrPrtry/Cd")[0].text
        sign = 1 if _local(balance, "CdtDbtInd")[0].text == "CRDT" else -1
        out[code] = sign * Decimal(_local(balance, "Amt")[0].text)
    return out


_MT61 = re.compile(
    r"^:61:(?P<value>\d{6})(?P<entry>\d{4})(?P<mark>C|D|RC|RD)(?P<amount>\d{1,12},\d{0,2})N(?P<type>[A-Z0-9]{3})"
    r"(?P<customer>[^/]{1,16})//(?P<bank>.{1,16})$"
)
_SWIFT = re.compile(r"^[A-Za-z0-9/\-?:().,'+ {}]*$")


def _mt_amount(text: str) -> Decimal:
    return Decimal(text.replace(",", "."))


def _mt(content: bytes) -> dict:
    """Balances, entries (bank reference, direction, amount) and ``:86:`` line groups of an MT940/MT942."""
    lines = content.decode("ascii").split("\r\n")
    out: dict = {"entries": [], "details": [], "lines": lines}
    for line in lines:
        if line.startswith((":60F:", ":62F:")):
            sign = 1 if line[5] == "C" else -1
            out[line[1:4]] = sign * _mt_amount(line[15:])
        elif line.startswith(":61:"):
            match = _MT61.match(line)
            assert match, line
            direction = "CRDT" if match["mark"] in ("C", "RD") else "DBIT"
            out["entries"].append((match["bank"], direction, _mt_amount(match["amount"])))
        elif line.startswith(":86:"):
            out["details"].append([line[4:]])
        elif out["details"] and line and not line.startswith((":", "-}")):
            out["details"][-1].append(line)
    return out


def _read(bank_file: BankFile) -> tuple[list[tuple[str, str, Decimal]], dict[str, Decimal]]:
    """Entries and balances (OPBD/CLBD, or 60F/62F as OPBD/CLBD) of a statement or report."""
    if bank_file.message.startswith("mt"):
        parsed = _mt(bank_file.content)
        return parsed["entries"], {k: parsed[t] for k, t in (("OPBD", "60F"), ("CLBD", "62F")) if t in parsed}
    root = _xml(bank_file.content)
    return _camt_entries(root), _camt_balances(root)


def test_camt_files_are_valid_against_their_schemas(files: list[BankFile]) -> None:
    messages = Counter()
    for bank_file in files:
        if bank_file.message.startswith("camt"):
            schema = _schema(bank_file.message)
            assert schema.validate(_xml(bank_file.content)), (bank_file.name, schema.error_log.last_error)
            messages[bank_file.message] += 1
    assert set(messages) == {"camt.052.001.08", "camt.053.001.02", "camt.053.001.08", "camt.054.001.08"}


def test_mt940_and_mt942_follow_swift(files: list[BankFile]) -> None:
    seen = Counter()
    for bank_file in files:
        if not bank_file.message.startswith("mt"):
            continue
        seen[bank_file.message] += 1
        parsed = _mt(bank_file.content)
        lines = parsed["lines"]
        assert lines[0].startswith("{1:F01") and f"{{2:I{bank_file.message[2:]}" in lines[0]
        assert lines[-2] == "-}" and lines[-1] == ""
        for line in lines:
            assert _SWIFT.match(line), line
        for group in parsed["details"]:
            assert len(group) <= 6 and all(len(text) <= 65 for text in group), group
            assert all(not text.startswith((":", "-")) for text in group[1:])
        tags = [line.split(":")[1] for line in lines if line.startswith(":")]
        [reference] = [line[4:] for line in lines if line.startswith(":20:")]
        assert 0 < len(reference) <= 16, reference
        if bank_file.message == "mt942":
            assert tags[:5] == ["20", "25", "28C", "34F", "13D"] and tags[-2:] == ["90D", "90C"]
            for tag, direction in (("90D", "DBIT"), ("90C", "CRDT")):
                [line] = [line for line in lines if line.startswith(f":{tag}:")]
                number, amount = re.match(r":9\dD?C?:(\d+)[A-Z]{3}([\d,]+)$", line).groups()
                mine = [a for _, d, a in parsed["entries"] if d == direction]
                assert int(number) == len(mine) and _mt_amount(amount) == sum(mine, Decimal(0))
        else:
            assert tags[:5] == ["20", "25", "28C", "60F", "61" if parsed["entries"] else "62F"]
    assert seen["mt940"] and seen["mt942"]


def test_statements_reconcile_and_follow_each_other_but_for_the_injected_faults(
    world: World, files: list[BankFile]
) -> None:
    """Each statement file: opening + credits − debits = closing (the corrupt one excepted); per account, each
    delivered statement opens at the previous one's closing and numbers follow without gaps, except after
    the statement that was never sent."""
    delivered: dict[str, list[tuple[int, Decimal, Decimal]]] = defaultdict(list)
    missing = [f for f in files if f.kind == "missing"]
    assert len(missing) == 1 and missing[0].currency in ("EUR", "SGD")
    for bank_file in files:
        if bank_file.kind in ("intraday", "notification"):
            continue
        entries, balances = _read(bank_file)
        moved = sum((a if d == "CRDT" else -a for _, d, a in entries), Decimal(0))
        if bank_file.kind == "corrupt":
            assert balances["OPBD"] + moved != balances["CLBD"]
            continue
        assert balances["OPBD"] + moved == balances["CLBD"], bank_file.name
        if bank_file.kind in ("normal", "resend"):
            delivered[bank_file.currency].append(
                (bank_file.statement_seq, balances["OPBD"], balances["CLBD"])
            )
    breaks = []
    for currency, series in delivered.items():
        series.sort()
        assert series[0][1] == ACCOUNTS[currency].opening
        for previous, current in itertools.pairwise(series):
            if current[0] != previous[0] + 1 or current[1] != previous[2]:
                breaks.append((currency, previous[0], current[0], current[1] != previous[2]))
    assert breaks == [(missing[0].currency, missing[0].statement_seq - 1, missing[0].statement_seq + 1, True)]


def test_bank_references_are_unique_and_shared_by_the_reports_of_an_entry(
    world: World, files: list[BankFile]
) -> None:
    finals: dict[tuple[str, date], dict[str, tuple[str, Decimal]]] = {}
    for bank_file in files:
        if bank_file.kind in ("normal", "resend", "missing"):
            entries, _ = _read(bank_file)
            references = [r for r, _, _ in entries]
            assert len(references) == len(set(references)), bank_file.name
            key = (
                bank_file.currency,
                bank_file.day if bank_file.kind != "resend" else bank_file.day - timedelta(days=1),
            )
            finals[key] = {r: (d, a) for r, d, a in entries}
    everywhere = Counter(r for entries in finals.values() for r in entries)
    assert max(everywhere.values()) == 1, "a bank reference is never reused, on any account or day"
    shared = Counter()
    for bank_file in files:
        if bank_file.kind in ("intraday", "notification", "duplicate"):
            entries, _ = _read(bank_file)
            final = finals[
                (
                    bank_file.currency,
                    bank_file.day if bank_file.kind != "duplicate" else bank_file.day - timedelta(days=1),
                )
            ]
            for reference, direction, amount in entries:
                assert final[reference] == (direction, amount), (bank_file.name, reference)
                shared[bank_file.kind] += 1
    assert shared["intraday"] and shared["notification"]
    for entry in world.bank_entries:
        if _in_range(world, entry.booking_date):
            assert finals[(entry.currency, entry.booking_date)][entry.reference][1] == entry.amount
            assert [p.tx_seq for p in entry.credits] == list(range(1, len(entry.credits) + 1))
            assert all(p.bank_reference == entry.reference for p in entry.credits)


def test_batch_entries_carry_each_transaction(world: World, files: list[BankFile]) -> None:
    batches = {e.reference: e for e in world.bank_entries if e.is_batch}
    notified = 0
    for bank_file in files:
        if bank_file.currency != "CNY" or bank_file.kind not in ("normal", "notification"):
            continue
        root = _xml(bank_file.content)
        for ntry in root.xpath("//*[local-name()='Ntry']"):
            reference = _local(ntry, "AcctSvcrRef")[0].text
            transactions = _local(ntry, "NtryDtls/TxDtls")
            if reference in batches:
                entry = batches[reference]
                assert _local(ntry, "NtryDtls/Btch/NbOfTxs")[0].text == str(len(entry.credits)) >= "2"
                ids = [_local(tx, "Refs/EndToEndId")[0].text for tx in transactions]
                assert ids == [p.end_to_end_id for p in entry.credits]
                notified += bank_file.kind == "notification"
            else:
                assert len(transactions) == 1
    assert notified == len([e for e in batches.values() if _in_range(world, e.booking_date)])


def test_intraday_reports_come_before_the_statement_and_the_missing_one_never(
    world: World, files: list[BankFile], tmp_path: Path
) -> None:
    position = {f.name: n for n, f in enumerate(files)}
    for bank_file in files:
        if bank_file.kind in ("intraday", "notification"):
            kind = "MT940" if bank_file.currency == "USD" else "CAMT053"
            statement = f"TRDB_{bank_file.currency}_{kind}_{bank_file.day:%Y%m%d}"
            finals = [n for name, n in position.items() if name.startswith(statement)]
            assert finals and position[bank_file.name] < min(finals)
            assert bank_file.available_at is not None
            local = bank_file.available_at.astimezone(BUSINESS_TZ)
            assert local.date() == bank_file.day and 9 <= local.hour <= 16
    dropped = drop_files(world, tmp_path / "inbox", tmp_path / "delivered.txt", world.config.end)
    assert [f.name for f in files if f.kind != "missing"] == dropped
    missing = next(f for f in files if f.kind == "missing")
    assert not (tmp_path / "inbox" / missing.name).exists()


def test_ground_truth_rows_tie_out(world: World, files: list[BankFile]) -> None:
    """``bank_payments.csv`` and ``cash_applications.csv`` as the driver writes them: per transaction, the
    amount is what its applications add up to, less fees, plus the FX difference (signed for debits)."""
    payments = [dict(zip(BANK_PAYMENT_COLUMNS, row, strict=True)) for row in bank_payment_rows(world, files)]
    applications = defaultdict(list)
    for row in cash_application_rows(world):
        record = dict(zip(CASH_APPLICATION_COLUMNS, row, strict=True))
        applications[(record["bank_reference"], record["tx_seq"])].append(record)
    keys = [(p["bank_reference"], p["tx_seq"]) for p in payments]
    assert len(keys) == len(set(keys)) and set(applications) <= set(keys)
    for p in payments:
        applied = sum(Decimal(a["applied_amount"]) for a in applications[(p["bank_reference"], p["tx_seq"])])
        sign = 1 if p["direction"] == "CRDT" else -1
        amount = sign * Decimal(p["amount"])
        assert amount == applied - Decimal(p["charges"]) + Decimal(p["fx_difference"]), p
        assert p["statement_file"].startswith(f"TRDB_{p['account_currency']}_"), p
        assert (p["payer_customer_id"] == "") == bool(
            {"third_party", "unidentified"} & set(p["cases"].split(";"))
        )
    assert {p["kind"] for p in payments} >= {"full", "partial", "residual", "combined", "return", "refund"}
    assert list(difference_item_rows(world))


def test_receipts_are_deterministic() -> None:
    small = SimConfig(seed=3, days=50, customers=20, lines_per_day=10.0, bad_bank_file_day=20)
    first, again = build_world(small), build_world(small)
    assert first.payments == again.payments and first.debits == again.debits
    assert [f.content for f in bank_files(first)] == [f.content for f in bank_files(again)]
    assert statements(first)[-1].closing == statements(again)[-1].closing
