"""Tests of the MT940 / camt.053 bank statement parsers against the real shared test files.

Expected figures in section (2) were worked out from the files themselves (regex sums over the raw
``:61:``/``Ntry`` amounts and hand arithmetic), not by running the parser. Section (1) holds the outcome of
*every* shared file in ``bank_expectations.json``: it was generated once from the parsers' behaviour after
each quarantine reason was reviewed against its file (fixtures whose balances do not add up, fragments
without ``:20:``/``:25:``, 31 November, MT942/camt.052/054, ...). A change of outcome fails the test; after
a deliberate change, regenerate with ``python -m tests.unit.test_bank_parsers`` and review the diff.

A parser may only raise :class:`BankFileError`; anything else is a defect and must fail the test (and the
ingest), never pass for a quarantine reason.
"""

from __future__ import annotations

import functools
import json
import os
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from o2c.sources.bank import camt053
from o2c.sources.bank.model import CREDIT, DEBIT, BankFileError, ParsedBankFile
from o2c.sources.bank.mt940 import library as mt940_library
from o2c.sources.bank.mt940 import statements as mt940_statements
from o2c.sources.bank.parse import detect_format, parse_bank_bytes, parse_bank_file


def _shared_data_dir() -> Path:
    """``/work/shared/data`` next to the repository, else ``$O2C_SHARED_DATA``."""
    default = Path(__file__).resolve().parents[3] / "shared" / "data"
    override = os.environ.get("O2C_SHARED_DATA")
    if not default.is_dir() and override:
        return Path(override)
    return default


DATA = _shared_data_dir()
STATEMENT_FILES = sorted(
    p for folder in ("mt940", "camt053") for p in (DATA / folder).rglob("*") if p.is_file()
)
needs_data = pytest.mark.skipif(not STATEMENT_FILES, reason=f"no shared test data in {DATA}")


@functools.cache
def _outcome(path: Path) -> ParsedBankFile | BankFileError:
    """Parse once per test session; return the result or the BankFileError."""
    try:
        return parse_bank_file(path)
    except BankFileError as exc:
        return exc


def _load(relative: str) -> ParsedBankFile:
    """Parse a shared file that must load."""
    outcome = _outcome(DATA / relative)
    assert isinstance(outcome, ParsedBankFile), f"{relative} was rejected: {outcome}"
    return outcome


def _reject(relative: str) -> str:
    """Parse a shared file that must be rejected; return the reason."""
    outcome = _outcome(DATA / relative)
    assert isinstance(outcome, BankFileError), f"{relative} unexpectedly loaded"
    return outcome.reason


# --------------------------------------------------------------------------------------------------
# (1) Every real file: loads and reconciles, or is rejected with a reason; nothing else.
# --------------------------------------------------------------------------------------------------


@needs_data
@pytest.mark.parametrize("path", STATEMENT_FILES, ids=[str(p.relative_to(DATA)) for p in STATEMENT_FILES])
def test_every_file_loads_reconciled_or_is_rejected_with_reason(path: Path) -> None:
    outcome = _outcome(path)  # any exception other than BankFileError fails the test here
    if isinstance(outcome, BankFileError):
        assert outcome.reason.strip()
        assert outcome.file_name == path.name
        return
    assert outcome.statements
    for statement in outcome.statements:
        assert all(e.amount >= 0 and e.direction in (CREDIT, DEBIT) for e in statement.entries)
        assert [e.entry_seq for e in statement.entries] == list(range(1, len(statement.entries) + 1))
        if statement.has_opening_balance and statement.has_closing_balance:
            computed = statement.opening_balance + statement.credit_total - statement.debit_total
            assert computed == statement.closing_balance


EXPECTATIONS_FILE = Path(__file__).with_name("bank_expectations.json")

_KEY_PHRASES = (
    re.compile(r"= -?[\d.]+, but closing balance is -?[\d.]+"),
    re.compile(r"invalid date '\d+'"),
    re.compile(r"malformed balance '[^']*'"),
    re.compile(r"no :25: account identification"),
    re.compile(r"no :20: transaction reference, only fragments \([^)]*\)"),
    re.compile(r"MT942 interim transaction reports are not statements"),
    re.compile(r"not an MT940 or camt\.053 file"),
    re.compile(r"[A-Z]{4} balance is in [A-Z]{3}, but the account currency is [A-Z]{3}"),
    re.compile(r"amount in [A-Z]{3}, but the statement is in [A-Z]{3}"),
    re.compile(r"BkToCstmrStmt contains no Stmt"),
    re.compile(r"has no BkToCstmrStmt element"),
    re.compile(r"statement line :61: \(line \d+\) after the closing balance"),
    re.compile(r"second account identification :25:"),
    re.compile(r"no :60: opening and no :62: closing balance"),
)


def _key_phrase(reason: str) -> str:
    """The part of a quarantine reason that names the cause (the whole reason if no pattern fits)."""
    for pattern in _KEY_PHRASES:
        match = pattern.search(reason)
        if match:
            return match.group(0)
    return reason


def _observed(path: Path) -> dict[str, Any]:
    """The outcome of one file, in the form kept in ``bank_expectations.json``."""
    outcome = _outcome(path)
    if isinstance(outcome, BankFileError):
        return {"status": "quarantined", "reason": _key_phrase(outcome.reason)}
    return {
        "status": "loaded",
        "format": outcome.format,
        "version": outcome.version,
        "statements": len(outcome.statements),
        "entries": outcome.entry_count,
        "credit_total": str(outcome.credit_total),
        "debit_total": str(outcome.debit_total),
        "warnings": len(outcome.warnings),
    }


def _expectations() -> dict[str, dict[str, Any]]:
    return json.loads(EXPECTATIONS_FILE.read_text()) if EXPECTATIONS_FILE.exists() else {}


@needs_data
def test_the_expectations_cover_exactly_the_shared_files() -> None:
    assert sorted(_expectations()) == [str(p.relative_to(DATA)) for p in STATEMENT_FILES]


@needs_data
@pytest.mark.parametrize("path", STATEMENT_FILES, ids=[str(p.relative_to(DATA)) for p in STATEMENT_FILES])
def test_every_file_has_its_expected_outcome(path: Path) -> None:
    expected = _expectations().get(str(path.relative_to(DATA)))
    assert expected is not None, f"no expectation for {path}: regenerate and review bank_expectations.json"
    observed = _observed(path)
    if expected["status"] == "quarantined":
        outcome = _outcome(path)
        assert isinstance(outcome, BankFileError), (
            f"expected quarantine ({expected['reason']}), got {observed}"
        )
        assert expected["reason"] in outcome.reason
    else:
        assert observed == expected


def _write_expectations() -> None:
    """Regenerate ``bank_expectations.json`` from the parsers' current behaviour (review the diff!)."""
    observed = {str(p.relative_to(DATA)): _observed(p) for p in STATEMENT_FILES}
    EXPECTATIONS_FILE.write_text(json.dumps(observed, indent=1, ensure_ascii=False) + "\n")
    statuses = [o["status"] for o in observed.values()]
    print(
        f"{EXPECTATIONS_FILE}: {statuses.count('loaded')} loaded, {statuses.count('quarantined')} quarantined"
    )


@needs_data
def test_a_large_majority_of_the_real_statement_files_load() -> None:
    loaded = {
        folder: sum(
            isinstance(_outcome(p), ParsedBankFile)
            for p in STATEMENT_FILES
            if p.relative_to(DATA).parts[0] == folder
        )
        for folder in ("mt940", "camt053")
    }
    # 154 camt.053 files (124 Lithuanian dailies), 193 MT940 files of which many are
    # deliberately broken parser-test fragments or fixtures whose balances do not add up.
    assert loaded["camt053"] >= 135
    assert loaded["mt940"] >= 90


# --------------------------------------------------------------------------------------------------
# (2) Exact expectations for well-understood files
# --------------------------------------------------------------------------------------------------


@needs_data
def test_sparkasse_dr_is_debit_with_funds_code_r_not_a_reversal() -> None:
    parsed = _load("mt940/jejik-mt940/sparkasse_interim_balance.txt")
    assert parsed.format == "mt940"
    assert len(parsed.statements) == 3
    assert parsed.entry_count == 2
    assert parsed.credit_total == Decimal(0)
    assert parsed.debit_total == Decimal("40.00")
    first = parsed.statements[0]
    assert (first.opening_balance, first.closing_balance) == (Decimal("194.57"), Decimal("174.57"))
    entry = first.entries[0]
    assert (entry.direction, entry.is_reversal, entry.amount) == (DEBIT, False, Decimal("20.00"))
    assert entry.counterparty_name == "ARAL AG"
    assert entry.counterparty_account == "DE95430800830802029200"


@needs_data
def test_buxtehude_dr_lines_are_debits_but_the_fixture_does_not_add_up() -> None:
    # 13564.13 - 119.35 - 16.69 - 5.00 = 13423.09, the file says 13523.09; no reading of the
    # three DR lines (as debits or as reversals) reaches it, so the file is quarantined.
    reason = _reject("mt940/mt940-rs/sparkasse__buxtehude.sta")
    assert "debits 141.04" in reason
    assert "= 13423.09, but closing balance is 13523.09" in reason


@needs_data
def test_danske_bank_sweden_many_statements() -> None:
    parsed = _load("mt940/mt940-rs/danskebank__MT940_SE_Example.sta")
    assert len(parsed.statements) == 12
    assert parsed.entry_count == 103
    assert parsed.credit_total == Decimal("12171690.29")
    assert parsed.debit_total == Decimal("1643294.69")


@needs_data
def test_zenith_blank_statement_number_and_trailing_86() -> None:
    parsed = _load("mt940/php-mt940/zetb__sample.mt940")
    (statement,) = parsed.statements
    assert statement.sequence == "1"
    assert statement.currency == "NGN"
    assert len(statement.entries) == 8
    assert parsed.credit_total == Decimal("220000.00")
    assert parsed.debit_total == Decimal("223743.91")
    # the ":86:ZENITH BANK PLC" after :62F: is statement information, not the last entry's
    assert statement.entries[-1].remittance_info == "Acct Maint. Fee + VAT"


@needs_data
def test_asn_daily_statements_with_iban_in_customer_reference() -> None:
    parsed = _load("mt940/wolph-mt940/ASNB__mt940.txt")
    assert len(parsed.statements) == 31
    assert parsed.entry_count == 8
    assert (parsed.credit_total, parsed.debit_total) == (Decimal("2828.90"), Decimal("2771.96"))
    entry = parsed.statements[0].entries[0]
    assert entry.counterparty_account == "NL47INGB9999999999"
    assert entry.counterparty_name == "hr gjlm paulissen"


@needs_data
def test_multi_page_statement_pages_each_reconcile() -> None:
    parsed = _load("mt940/mt940-js/base-1.mta")
    assert len(parsed.statements) == 3
    assert parsed.entry_count == 9


@needs_data
def test_control_characters_are_removed_with_a_warning() -> None:
    parsed = _load("mt940/wolph-mt940/mBank__mt940.sta")
    assert any("control character" in w for w in parsed.warnings)
    assert parsed.entry_count == 3


@needs_data
def test_iso8859_file_is_decoded_then_rejected_for_its_invalid_date() -> None:
    # the umlauts are not UTF-8; decoding falls back and parsing reaches the 31 November
    reason = _reject("mt940/cmxl/mt940-iso8859-1.txt")
    assert "invalid date '021131'" in reason


@needs_data
@pytest.mark.parametrize(
    ("relative", "fragment"),
    [
        ("mt940/wolph-mt940/self-provided__february_30.sta", "invalid date '160230'"),
        ("mt940/wolph-mt940/self-provided__invalid_statement.sta", "not an MT940 or camt.053"),
        ("mt940/wolph-mt940/mBank__mt942.sta", "MT942"),
        ("mt940/cmxl/statement-mt940.txt", "no :20:"),
        ("mt940/mt940-rs/special-cases__unexpected_tag.sta", "no :25:"),
        ("mt940/wolph-mt940/self-provided__raphaelm.sta", "malformed balance"),
    ],
)
def test_broken_mt940_files_are_rejected_with_a_clear_reason(relative: str, fragment: str) -> None:
    assert fragment in _reject(relative)


@needs_data
def test_camt_reversal_keeps_cdtdbtind_as_effective_direction() -> None:
    parsed = _load("camt053/svapnil-iso20022js/ing__example_camt.xml")
    assert (parsed.format, parsed.version) == ("camt053", "camt.053.001.02")
    assert parsed.entry_count == 9
    assert (parsed.credit_total, parsed.debit_total) == (Decimal("990.00"), Decimal("385.00"))
    reversal = parsed.statements[0].entries[8]
    assert (reversal.is_reversal, reversal.direction) == (True, DEBIT)
    assert reversal.amount == Decimal("30.00")


@needs_data
def test_postfinance_v4_batches_and_two_reversals() -> None:
    parsed = _load("camt053/viafintech/053__valid_example_v4.xml")
    assert parsed.version == "camt.053.001.04"
    assert parsed.entry_count == 13  # 7 batch entries count once each
    assert (parsed.credit_total, parsed.debit_total) == (Decimal("1810.56"), Decimal("1272.95"))
    reversals = [e for e in parsed.statements[0].entries if e.is_reversal]
    assert [(e.direction, e.amount) for e in reversals] == [
        (DEBIT, Decimal("6.00")),
        (DEBIT, Decimal("15.53")),
    ]


@needs_data
def test_real_monthly_belgian_statement() -> None:
    parsed = _load("camt053/subite-anonymized/BE68793230773034-202411.xml")
    assert parsed.entry_count == 268
    assert (parsed.credit_total, parsed.debit_total) == (Decimal(180000), Decimal("151831.25"))
    assert parsed.warnings == ()


@needs_data
def test_lithuanian_daily_files_load_with_warning_about_missing_cdtdbtind() -> None:
    daily = sorted((DATA / "camt053/subite-anonymized/LT_daily_053_v08").glob("*.xml"))
    assert len(daily) == 124
    for path in daily:
        parsed = _outcome(path)
        assert isinstance(parsed, ParsedBankFile), f"{path.name}: {parsed}"
        assert any("CdtDbtInd" in w for w in parsed.warnings)
    first = _load("camt053/subite-anonymized/LT_daily_053_v08/2024-03-07.xml")
    assert first.version == "camt.053.001.08"
    assert len(first.statements) == 2
    assert first.entry_count == 3
    assert (first.credit_total, first.debit_total) == (Decimal("828531.98"), Decimal("5794.17"))
    assert first.statements[0].entries[0].booking_date.isoformat() == "2024-03-07"


@needs_data
def test_five_decimals_file_is_compared_exactly_and_does_not_reconcile() -> None:
    reason = _reject("camt053/genkgo/camt053.v2.five.decimals.xml")
    assert "opening 18.150 + credits 8.850 - debits 0 = 27.000" in reason
    assert "closing balance is 27.050" in reason


@needs_data
def test_datetime_dates_are_read() -> None:
    parsed = _load("camt053/viafintech/053__valid_example_with_datetime.xml")
    assert parsed.version == "camt.053.001.10"
    assert parsed.entry_count == 1
    assert any("no opening balance: cannot verify" in w for w in parsed.warnings)


@needs_data
@pytest.mark.parametrize(
    ("relative", "fragment"),
    [
        ("camt053/viafintech/053__valid_namespace.xml", "no BkToCstmrStmt"),
        ("camt053/genkgo/camt053.v2.wrong.xml", "no Stmt"),
        ("camt053/genkgo/camt053.v2.minimal.xml", "CLBD balance is in SEK"),
        ("camt054/viafintech/054__valid_example.xml", "camt.054 notifications are not statements"),
        ("camt052/viafintech/052__valid_example.xml", "camt.052 reports are not statements"),
        ("pain002/svapnil-iso20022js/nordea__pain_002_v3_txn_reject.xml", "pain.002"),
    ],
)
def test_non_statement_and_broken_xml_files_are_rejected(relative: str, fragment: str) -> None:
    assert fragment in _reject(relative)


OTHER_MESSAGES = sorted(
    p for folder in ("camt052", "camt054") for p in (DATA / folder).rglob("*") if p.is_file()
)


@needs_data
@pytest.mark.parametrize("path", OTHER_MESSAGES, ids=[str(p.relative_to(DATA)) for p in OTHER_MESSAGES])
def test_every_camt052_and_camt054_file_is_rejected_as_not_a_statement(path: Path) -> None:
    with pytest.raises(BankFileError, match=r"camt\.05[24] \w+ are not statements"):
        parse_bank_file(path)


# --------------------------------------------------------------------------------------------------
# (3) Synthetic files
# --------------------------------------------------------------------------------------------------

_MT940 = """:20:TEST
:25:NL91ABNA0417164300
:28C:1001/1
:60F:C240101EUR100,00
:61:2401020102C50,00NTRFINV-1//B1
:86:/EREF/INV-1/NAME/ACME BV/IBAN/DE89370400440532013000/REMI/Invoice 1
:61:2401020102DR20,00NTRFNONREF
:86:Card payment
:62F:C240102EUR{closing}
-
"""


def test_synthetic_mt940_off_by_one_cent_is_rejected_naming_the_closing_balance(
    tmp_path: Path,
) -> None:
    path = tmp_path / "off_by_a_cent.sta"
    path.write_text(_MT940.format(closing="130,01"))
    with pytest.raises(BankFileError) as caught:
        parse_bank_file(path)
    reason = caught.value.reason
    assert "closing" in reason
    assert "statement 1001/1 of account NL91ABNA0417164300" in reason
    assert "opening 100.00 + credits 50.00 - debits 20.00 = 130.00" in reason
    assert "closing balance is 130.01" in reason
    assert caught.value.file_name == "off_by_a_cent.sta"


def test_synthetic_mt940_that_adds_up() -> None:
    parsed = parse_bank_bytes(_MT940.format(closing="130,00").encode(), "ok.sta")
    credit, debit = parsed.statements[0].entries
    assert (credit.direction, credit.customer_reference, credit.bank_reference) == (
        CREDIT,
        "INV-1",
        "B1",
    )
    assert (credit.counterparty_name, credit.counterparty_account) == (
        "ACME BV",
        "DE89370400440532013000",
    )
    assert (debit.direction, debit.is_reversal, debit.customer_reference) == (DEBIT, False, None)


def test_mt940_rc_and_rd_marks_are_reversals_in_the_opposite_direction() -> None:
    text = (
        ":20:R\n:25:DE1\n:28C:1/1\n:60F:C240101EUR100,00\n"
        ":61:240102RC30,00NTRFNONREF\n:61:240102RD5,00NTRFNONREF\n:62F:C240102EUR75,00\n"
    )
    rc, rd = parse_bank_bytes(text.encode(), "rev.sta").statements[0].entries
    assert (rc.direction, rc.is_reversal) == (DEBIT, True)
    assert (rd.direction, rd.is_reversal) == (CREDIT, True)


def test_latin1_mt940_is_decoded_with_a_warning() -> None:
    text = _MT940.format(closing="130,00").replace("Card payment", "Kartenzahlung Straße")
    parsed = parse_bank_bytes(text.encode("latin-1"), "latin1.sta")
    assert any("not valid UTF-8" in w for w in parsed.warnings)
    assert parsed.statements[0].entries[1].remittance_info == "Kartenzahlung Straße"


_CAMT = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt>
<GrpHdr><MsgId>M</MsgId><CreDtTm>2024-01-02T10:00:00</CreDtTm></GrpHdr>
<Stmt><Id>S1</Id><Acct><Id><IBAN>DE89370400440532013000</IBAN></Id><Ccy>EUR</Ccy></Acct>
<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">{opening}</Amt>
{opening_sign}<Dt><Dt>2024-01-01</Dt></Dt></Bal>
<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">80.00</Amt>
<CdtDbtInd>CRDT</CdtDbtInd><Dt><DtTm>2024-01-02T23:59:59Z</DtTm></Dt></Bal>
<Ntry><Amt Ccy="EUR">20.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>
<BookgDt><DtTm>2024-01-02T08:00:00+01:00</DtTm></BookgDt></Ntry>
<Ntry><Amt Ccy="EUR">999.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>PDNG</Cd></Sts>
<BookgDt><Dt>2024-01-03</Dt></BookgDt></Ntry>
</Stmt></BkToCstmrStmt></Document>"""


def test_camt_pending_entries_are_skipped_with_a_warning() -> None:
    data = _CAMT.format(opening="100.00", opening_sign="<CdtDbtInd>CRDT</CdtDbtInd>").encode()
    parsed = parse_bank_bytes(data, "pending.xml")
    (entry,) = parsed.statements[0].entries
    assert (entry.direction, entry.amount, entry.booking_date.isoformat()) == (
        DEBIT,
        Decimal("20.00"),
        "2024-01-02",
    )
    assert any("PDNG" in w for w in parsed.warnings)


def test_camt_balance_without_sign_that_does_not_reconcile_is_ambiguous() -> None:
    # Taken as a credit, 100.00 - 20.00 = 80.00 reconciles; 60.00 - 20.00 != 80.00 does not.
    data = _CAMT.format(opening="100.00", opening_sign="").encode()
    assert isinstance(parse_bank_bytes(data, "x.xml"), ParsedBankFile)
    data = _CAMT.format(opening="60.00", opening_sign="").encode()
    with pytest.raises(BankFileError, match="ambiguous"):
        parse_bank_bytes(data, "ambiguous.xml")


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"", "empty"),
        (b"hello world", "not an MT940 or camt.053 file"),
        (b"<html><body/></html>", "not an MT940 or camt.053 file"),
        (b"<Document><BkToCstmrAcctRpt/></Document>", "camt.052"),
        (b"{1:F01X}{2:I942XN}{4:\n:20:X\n-}", "MT942"),
    ],
)
def test_detect_format_rejects_other_content(data: bytes, fragment: str) -> None:
    with pytest.raises(BankFileError, match=fragment):
        detect_format(data)


def test_detect_format_accepts_both_formats() -> None:
    assert detect_format(b"\xef\xbb\xbf:20:X\n:25:Y\n") == "mt940"
    assert detect_format(_CAMT.encode()) == "camt053"


@pytest.mark.parametrize(
    "data",
    [
        b"<?xml version='1.0'?><Document xmlns='urn:iso:std:iso:20022:tech:xsd:camt.053.001.02'>",
        b":20:X\n:25:Y\n:60F:C240101EUR1,00\n:61:24010",
        b"\x00\xff\xfe" * 100,
        b":20:X\n:25:Y\n:60F:C240101EUR1,00\n:61:2401010101C1.2.3NTRF\n:62F:C240101EUR2,00\n",
    ],
)
def test_bad_input_only_ever_raises_bank_file_error(data: bytes) -> None:
    with pytest.raises(BankFileError) as caught:
        parse_bank_bytes(data, "bad")
    assert caught.value.reason


def test_unreadable_path_is_a_bank_file_error(tmp_path: Path) -> None:
    with pytest.raises(BankFileError, match="cannot read file"):
        parse_bank_file(tmp_path / "missing.sta")


# --------------------------------------------------------------------------------------------------
# (4) A defect in a parser is not a data problem: it propagates, it never becomes a quarantine reason
# --------------------------------------------------------------------------------------------------


def _crash(*args: object, **kwargs: object) -> None:
    raise KeyError("a parser bug")


def test_a_crash_inside_the_mt940_parser_propagates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mt940_statements, "build_entry", _crash)
    with pytest.raises(KeyError, match="a parser bug"):
        parse_bank_bytes(_MT940.format(closing="130,00").encode(), "ok.sta")


def test_a_crash_inside_the_camt_parser_propagates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(camt053, "_statement", _crash)
    data = _CAMT.format(opening="100.00", opening_sign="<CdtDbtInd>CRDT</CdtDbtInd>").encode()
    with pytest.raises(KeyError, match="a parser bug"):
        parse_bank_bytes(data, "ok.xml")


def test_the_mt940_library_rejecting_text_is_a_quarantine_but_its_defects_propagate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = _MT940.format(closing="130,00").encode()

    def cannot_parse(text: str) -> None:
        raise RuntimeError("Unable to parse", "tag", text)

    monkeypatch.setattr(mt940_library, "_library_parse", cannot_parse)
    with pytest.raises(BankFileError, match="the mt940 library cannot parse"):
        parse_bank_bytes(data, "x.sta")

    def broken(text: str) -> None:
        raise AttributeError("'NoneType' object has no attribute 'amount'")

    monkeypatch.setattr(mt940_library, "_library_parse", broken)
    with pytest.raises(AttributeError):
        parse_bank_bytes(data, "x.sta")


if __name__ == "__main__":  # python -m tests.unit.test_bank_parsers: regenerate, then review the diff
    _write_expectations()


def test_a_nul_character_in_an_entry_is_bad_data_with_its_place_named() -> None:
    """PostgreSQL text cannot hold NUL: validation rejects it (quarantine), landing never sees it. (The
    MT940 reader drops NUL bytes and XML cannot carry one; this guards any other path to the model.)"""
    import dataclasses

    from o2c.sources.bank.parse import validate

    data = (
        b":20:NUL1\r\n:25:NL00TEST0123456789\r\n:28C:1/1\r\n:60F:C260301EUR100,00\r\n"
        b":61:2603010301C5,00NTRFNONREF\r\n:86:Invoice 31\r\n:62F:C260301EUR105,00\r\n-\r\n"
    )
    parsed = parse_bank_bytes(data, "nul.sta")
    statement = parsed.statements[0]
    poisoned = dataclasses.replace(statement.entries[0], remittance_info="Invoice\x0031")
    with pytest.raises(BankFileError) as caught:
        validate(
            dataclasses.replace(parsed, statements=(dataclasses.replace(statement, entries=(poisoned,)),))
        )
    assert "entry 1: remittance_info contains a NUL character" in str(caught.value)
    assert validate(parsed).statements == parsed.statements, "the clean file passes"
