"""Tests of the bank file parsers (MT940/MT942, camt.052/053/054) and their validation (``parse.py``)
against the real shared test files under ``mt940/``, ``camt052/``, ``camt053/`` and ``camt054/``.

Section (1) keeps the outcome of *every* shared file in ``bank_expectations.json``. For a file that loads,
it records format, version, report kind, reports, entries, transactions (payments), credit and debit totals
and the number of warnings. For a quarantined file, it records the key phrase of the reason. A change of
outcome fails the test. After a deliberate change, regenerate with ``python -m tests.unit.test_bank_parsers``
and review every changed outcome against the file itself. Section (1) also checks every loaded file against
its raw bytes: entry counts and sums by regular expression over the ``:61:`` lines or ``Ntry`` elements,
independent of the parser. The figures in sections (2) and (3) were worked out from the files by hand
(the arithmetic is in the comments).

Outcomes on ``../shared/data`` (382 files), loaded / quarantined per folder:

- ``mt940``: 94 / 99 (193 files; two of the loaded ones are MT942 intraday reports);
- ``camt052``: 14 / 3 (17 files; three of the loaded ones are camt.054 notifications filed there);
- ``camt053``: 136 / 18 (154 files);
- ``camt054``: 14 / 4 (18 files).

Review of the outcomes that changed since MT942, camt.052 and camt.054 are read (old expectations: 347
MT940/camt.053 files, 229 loaded, 118 quarantined):

- ``mt940/cmxl/mt942.txt`` was quarantined as MT942 and now loads as 2 intraday reports (``:20:131110`` and
  ``:20:01ANWZTPJTYEGJWA``, both ``:28C:13/37``). Each has one ``:61:190109C9792,00`` (19584.00 in all),
  which matches its ``:90C:1EUR9792,00`` and ``:90D:0EUR0,00``. The outcome is right.
- ``mt940/wolph-mt940/mBank__mt942.sta`` was quarantined as MT942 and now loads as 1 intraday report: three
  ``:61:…CN0,01`` lines, which match ``:90C:3PLN0,03`` and ``:90D:0PLN0,00``. The outcome is right.
- ``mt940/wolph-mt940/self-provided__mt942.sta`` was quarantined as MT942 and is now quarantined because it
  does not add up: its one line ``:61:1610301031D0,42`` contradicts ``:90D:1EUR2,30``. The report has no
  balances, so the stated total is the only check. The count matches and the sum does not, and nothing in
  the file tells the cause. Right.
- ``mt940/cmxl/statement-details-mt942.txt`` was quarantined as MT942 and is now quarantined as a fragment:
  it holds ``:34F:``, ``:61:`` and ``:86:`` lines without ``:20:`` or ``:25:``. Right.
- ``mt940/cmxl/mt940-headers.txt``: the reason changed from "malformed balance" to "invalid date '362268'".
  The file has both defects: ``:61:3622687806…`` has month 22, and ``:62F:C141387INR11 27421,94`` has month
  13 and a blank in its amount. The streaming parser stops at the first one, in line 8. Right.
- ``mt940/php-mt940/rabo__sample2.mt940``: the reason changed from "no :25:" to a balance mismatch. The
  first statement has ``:60F:D…1000.12`` and ``:62F:C…2145.23`` and no ``:61:`` line, and −1000.12 is not
  2145.23. The second ``:20:`` without ``:25:`` comes after it, and the streaming parser now reports the
  first statement's failure. The file is a truncated sample. Right.
- ``mt940/wolph-mt940/self-provided__invalid_statement.sta`` (the lines "1" to "10") and
  ``camt053/genkgo/camt053.v2.with-account-name.xml`` keep their cause; only the wording changed. The
  second reason now names the statement in "amount in EUR, but the statement … is in JPY".
- ``camt053/iso-business-samples/statement_ac04.xml`` has 2 warnings instead of 3: version .14 is read
  without a warning now. Its figures are unchanged.
- ``camt053/viafintech/053__valid_example_with_datetime.xml`` loaded before and is now quarantined. That is
  right: the stated summary really contradicts the file. The statement covers 2022-07-07 to 2023-07-07 and
  has a ``CLBD`` of 606.80 but no opening balance, so its balances cannot verify it. Its ``TxsSummry``
  states 14 entries: 4 credits of 1115.92 in all and 10 debits written "-509.12", net 606.80 ``CRDT``. The
  summary is consistent in itself and with the balance: 1115.92 − 509.12 = 606.80, the closing balance
  reached from an opening of 0. But the file carries 1 entry, a credit of 195.86. So 13 entries were cut
  from this fixture, and loading it would land an incomplete statement. ``parse.py`` only warns about
  disagreeing totals when both balances are stated and reconcile, which is not the case here. Test (2) reads
  its dates from a copy without the summary.
- The 35 new camt.052/camt.054 files:
  - the 28 that load are intraday reports (camt.052) or notifications (camt.054). Their entries and sums
    match the raw ``Ntry`` elements (test below). Only viafintech ``052`` states both balances, and they
    reconcile: ``PRCD`` 8.50 + 5.00 = ``CLBD`` 13.50. The Finnish ``052`` has a last ``ITBD`` of 1100.00
    and no opening balance; its totals of 1 × 100.00 match once its pending entry is left out. The genkgo
    ``052`` v4/v6 files have an ``ITBD`` only, and their one entry is ``PDNG`` and skipped. The rest state
    no balance and no totals, so nothing inside the file can check them;
  - 4 genkgo files (``camt052.v2.with-account-name``, ``camt054.v2.with-account-name``,
    ``camt054.v8-with-UETR``, ``camt054.v8-with-financial-institution``) are quarantined. Each has an
    ``Ntry`` with no ``BookgDt`` or ``ValDt`` in a report with no balance, so there is no date to book it
    on. The report's ``CreDtTm`` is when the message was made, not a booking date. These are trimmed
    fixtures. Right;
  - ``camt052/viafintech/052__valid_namespace.xml`` is an empty ``<Document>``. Right;
  - the PostFinance ``camt.052`` (``moov-iso20022/200519_camt.052_P_…``) is quarantined. Its ``OPBD``
    208509.19 − 103.00 − 913.00 = 207493.19, but its ``ITBD`` is 207596.19 = 208509.19 − 913.00. The
    interim balance leaves out the 103.00 debit, and the reason names that entry. Right;
  - the Finnish ``camt054/moov-iso20022/FI_camt_054_sample.xml.xml`` is quarantined. Its ``TxsSummry``
    states 6 entries, net 169.95 ``CRDT``. It has 5 booked entries (2000.00 + 500.00 + 3000.00 −
    4230.05 − 1000.00 = 269.95) and one ``INFO`` entry, ``CRDT`` 100.00 with ``RvslInd`` true, which is
    skipped. The summary counts that entry and takes it as −100.00 (the file's comment calls it a
    "Reversal Credit"). The parser applies the ISO reading, in which ``CdtDbtInd`` is the effective
    direction. Under that reading the totals contradict the booked entries whether or not the skipped
    entry is counted as a +100.00 credit. This outcome is debatable: the summary is consistent under the
    Finnish reading, and the reason does not name that cause. The file stays quarantined, and the case
    is reported. Its booked entries still arrive with the day's statement, but without this
    notification's payment details.

A parser may only raise :class:`BankFileError`; anything else is a defect and must fail the test (and the
ingest), never pass for a quarantine reason.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from o2c.sources.bank.camt import entries as camt_entries
from o2c.sources.bank.model import (
    CREDIT,
    DEBIT,
    REPORT_INTRADAY,
    REPORT_NOTIFICATION,
    REPORT_STATEMENT,
    BankEntry,
    BankFileError,
    ParsedBankFile,
    StatedTotals,
)
from o2c.sources.bank.mt940 import statements as mt940_statements
from o2c.sources.bank.parse import detect_format, parse_bank_bytes, parse_bank_file
from tests.conftest import shared_data

DATA = shared_data()
FOLDERS = ("mt940", "camt052", "camt053", "camt054")
BANK_FILES = sorted(p for folder in FOLDERS for p in (DATA / folder).rglob("*") if p.is_file())
needs_data = pytest.mark.skipif(not BANK_FILES, reason=f"no shared test data in {DATA}")

REPORT_KIND_OF_FORMAT = {
    "mt940": REPORT_STATEMENT,
    "camt053": REPORT_STATEMENT,
    "mt942": REPORT_INTRADAY,
    "camt052": REPORT_INTRADAY,
    "camt054": REPORT_NOTIFICATION,
}
FORMATS_IN_FOLDER = {
    "mt940": {"mt940", "mt942"},
    "camt052": {"camt052", "camt054"},  # three PostFinance camt.054 files are filed under camt052
    "camt053": {"camt053"},
    "camt054": {"camt054"},
}
OUTCOME_COUNTS = {  # folder: (loaded, quarantined), as the module docstring says
    "mt940": (94, 99),
    "camt052": (14, 3),
    "camt053": (136, 18),
    "camt054": (14, 4),
}


def _relative(path: Path) -> str:
    return str(path.relative_to(DATA))


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


def _transactions(parsed: ParsedBankFile) -> int:
    """The payments of all entries (a batch's details, or the entry itself)."""
    return sum(len(entry.payments()) for s in parsed.statements for entry in s.entries)


# --------------------------------------------------------------------------------------------------
# (1) Every real file: loads and adds up, or is rejected with a reason; nothing else.
# --------------------------------------------------------------------------------------------------


@needs_data
@pytest.mark.parametrize("path", BANK_FILES, ids=[_relative(p) for p in BANK_FILES])
def test_every_file_loads_reconciled_or_is_rejected_with_reason(path: Path) -> None:
    outcome = _outcome(path)  # any exception other than BankFileError fails the test here
    if isinstance(outcome, BankFileError):
        assert outcome.reason.strip()
        assert outcome.file_name == path.name
        return
    assert outcome.format in FORMATS_IN_FOLDER[path.relative_to(DATA).parts[0]]
    assert outcome.report_kind == REPORT_KIND_OF_FORMAT[outcome.format]
    assert outcome.statements
    for statement in outcome.statements:
        assert statement.report_kind == outcome.report_kind
        assert all(e.amount >= 0 and e.direction in (CREDIT, DEBIT) for e in statement.entries)
        assert [e.entry_seq for e in statement.entries] == list(range(1, len(statement.entries) + 1))
        for entry in statement.entries:
            assert [t.tx_seq for t in entry.transactions] == list(range(1, len(entry.transactions) + 1))
            assert entry.transactions, "every entry has at least one transaction"
        counted = (
            sum(1 for e in statement.entries if e.direction == CREDIT),
            statement.credit_total,
            sum(1 for e in statement.entries if e.direction == DEBIT),
            statement.debit_total,
        )
        if statement.has_opening_balance and statement.has_closing_balance:
            computed = statement.opening_balance + statement.credit_total - statement.debit_total
            assert computed == statement.closing_balance
        elif statement.totals is not None:  # without both balances, the stated totals must hold
            assert statement.totals.mismatch(*counted) is None


EXPECTATIONS_FILE = Path(__file__).with_name("bank_expectations.json")

_KEY_PHRASES = (
    re.compile(r"= -?[\d.]+, but closing balance is -?[\d.]+"),
    re.compile(r"its entries do not add up to the totals it states: .+"),
    re.compile(r"invalid date '\d+'"),
    re.compile(r"malformed balance '[^']*'"),
    re.compile(r"no :25: account identification"),
    re.compile(r"no :20: transaction reference, only fragments \([^)]*\)"),
    re.compile(r"neither XML nor SWIFT MT tags"),
    re.compile(r"[A-Z]{4} balance is in [A-Z]{3}, but the account currency is [A-Z]{3}"),
    re.compile(r"amount in [A-Z]{3}, but the .+ is in [A-Z]{3}"),
    re.compile(r"BkToCstmrStmt contains no Stmt"),
    re.compile(r"has no BkToCstmr\w+ element"),
    re.compile(r"Ntry \d+: no BookgDt, no ValDt and no balance date"),
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
        "report_kind": outcome.report_kind,
        "statements": len(outcome.statements),
        "entries": outcome.entry_count,
        "transactions": _transactions(outcome),
        "credit_total": str(outcome.credit_total),
        "debit_total": str(outcome.debit_total),
        "warnings": len(outcome.warnings),
    }


def _expectations() -> dict[str, dict[str, Any]]:
    return json.loads(EXPECTATIONS_FILE.read_text()) if EXPECTATIONS_FILE.exists() else {}


@needs_data
def test_the_expectations_cover_exactly_the_shared_files() -> None:
    assert sorted(_expectations()) == [_relative(p) for p in BANK_FILES]


@needs_data
@pytest.mark.parametrize("path", BANK_FILES, ids=[_relative(p) for p in BANK_FILES])
def test_every_file_has_its_expected_outcome(path: Path) -> None:
    expected = _expectations().get(_relative(path))
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
    observed = {_relative(p): _observed(p) for p in BANK_FILES}
    EXPECTATIONS_FILE.write_text(json.dumps(observed, indent=1, ensure_ascii=False) + "\n")
    counts = Counter((name.split("/")[0], o["status"]) for name, o in observed.items())
    for folder in FOLDERS:
        print(f"{folder}: {counts[folder, 'loaded']} loaded, {counts[folder, 'quarantined']} quarantined")
    print(f"written to {EXPECTATIONS_FILE}")


@needs_data
def test_the_outcome_counts_per_folder_are_those_the_docstring_states() -> None:
    observed = Counter(
        (path.relative_to(DATA).parts[0], isinstance(_outcome(path), ParsedBankFile)) for path in BANK_FILES
    )
    recorded = Counter(
        (name.split("/")[0], expected["status"] == "loaded") for name, expected in _expectations().items()
    )
    for folder, (loaded, quarantined) in OUTCOME_COUNTS.items():
        assert (observed[folder, True], observed[folder, False]) == (loaded, quarantined), folder
        assert (recorded[folder, True], recorded[folder, False]) == (loaded, quarantined), folder


_MT_STATEMENT_LINE = re.compile(
    r"(?m)^:61:\d{6}(?:\d{4}| {4})?(RC|RD|C|D)[A-Z]?\n?(\d+(?:[,.]\d*)?)(?=[ NFS/]|$)"
)
_NTRY = re.compile(r"<Ntry>(.*?)</Ntry>", re.S)
_NTRY_AMOUNT = re.compile(r"<Amt Ccy=\"[A-Z]{3}\">\s*([\d.]+)\s*</Amt>")
_NTRY_SIGN = re.compile(r"<CdtDbtInd>\s*(CRDT|DBIT)\s*</CdtDbtInd>")
_NTRY_STATUS = re.compile(r"<Sts>\s*(?:<Cd>)?\s*([A-Z]+)")


def _raw_tally(path: Path) -> tuple[int, int, Decimal, Decimal]:
    """``(entries, transactions, credits, debits)`` of a file's booked entries, read from its raw text by
    regular expressions only: ``:61:`` lines (``C``/``RD`` credit, ``D``/``RC`` debit, then an optional
    funds code), or camt ``Ntry`` elements with status ``BOOK`` or none (one transaction per ``TxDtls``, at
    least one)."""
    text = path.read_bytes().decode("latin-1").replace("\r\n", "\n")
    entries = transactions = 0
    credits = debits = Decimal(0)
    if path.relative_to(DATA).parts[0].startswith("camt"):
        for block in _NTRY.findall(text):
            status = _NTRY_STATUS.search(block)
            if status is not None and status.group(1) != "BOOK":
                continue
            amount_match, sign = _NTRY_AMOUNT.search(block), _NTRY_SIGN.search(block)
            assert amount_match is not None and sign is not None, block[:200]
            amount = Decimal(amount_match.group(1))
            entries += 1
            transactions += max(1, block.count("<TxDtls>"))
            if sign.group(1) == "CRDT":
                credits += amount
            else:
                debits += amount
        return entries, transactions, credits, debits
    for mark, raw_amount in _MT_STATEMENT_LINE.findall(text):
        amount = Decimal(raw_amount.replace(",", ".").rstrip(".") or "0")
        entries += 1
        if mark in ("C", "RD"):
            credits += amount
        else:
            debits += amount
    return entries, entries, credits, debits


LOADED_FILES = [p for p in BANK_FILES if _expectations().get(_relative(p), {}).get("status") == "loaded"]


@needs_data
@pytest.mark.parametrize("path", LOADED_FILES, ids=[_relative(p) for p in LOADED_FILES])
def test_every_loaded_file_adds_up_to_its_raw_entries(path: Path) -> None:
    parsed = _load(_relative(path))
    assert (parsed.entry_count, _transactions(parsed), parsed.credit_total, parsed.debit_total) == (
        _raw_tally(path)
    )


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
        ("mt940/wolph-mt940/self-provided__invalid_statement.sta", "neither XML nor SWIFT MT tags"),
        # MT942 without balances: its one :61:…D0,42 against :90D:1EUR2,30
        ("mt940/wolph-mt940/self-provided__mt942.sta", "debit sum stated 2.30, counted 0.42"),
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
    assert parsed.entry_count == 13
    # the batches of 10, 8, 3 and 2 payments expand into their TxDtls: 6 + 10 + 8 + 3 + 2 + 3 × 1
    assert _transactions(parsed) == 32
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
@needs_data
def test_a_statement_without_opening_balance_whose_summary_contradicts_its_entries_is_quarantined() -> None:
    # CLBD 606.80 and no OPBD; TxsSummry: 14 entries, 4 credits 1115.92, net 606.80 CRDT (its debit sum
    # "-509.12" is signed, so unreadable); the file has one Ntry, a credit of 195.86
    reason = _reject("camt053/viafintech/053__valid_example_with_datetime.xml")
    assert reason.startswith("statement 7301750-38631543-1688639227213 of account 11111111:")
    for figures in (
        "credit entries stated 4, counted 1",
        "credit sum stated 1115.92, counted 195.86",
        "debit entries stated 10, counted 0",
        "entries stated 14, counted 1",
        "net amount stated 606.80, counted 195.86",
    ):
        assert figures in reason


@needs_data
def test_datetime_dates_are_read() -> None:
    raw = (DATA / "camt053/viafintech/053__valid_example_with_datetime.xml").read_bytes()
    without_summary, cut = re.subn(rb"<TxsSummry>.*?</TxsSummry>", b"", raw, flags=re.S)
    assert cut == 1
    parsed = parse_bank_bytes(without_summary, "053__valid_example_with_datetime.xml")
    assert parsed.version == "camt.053.001.10"
    (statement,) = parsed.statements
    # <CreDtTm>2023-07-06T10:27:07.213294607Z: nanoseconds cut to microseconds
    assert statement.created_at == datetime(2023, 7, 6, 10, 27, 7, 213294, tzinfo=UTC)
    # CLBD <DtTm>2023-07-07T00:00:00+02:00: the date as written, not converted to UTC (the 6th)
    assert (statement.closing_balance, statement.closing_date) == (Decimal("606.80"), date(2023, 7, 7))
    (entry,) = statement.entries
    # BookgDt <DtTm>2023-06-21T12:35:33.115965+00:00, no ValDt
    assert (entry.booking_date, entry.value_date) == (date(2023, 6, 21), None)
    assert (entry.amount, entry.direction, entry.charges) == (Decimal("195.86"), CREDIT, Decimal("4.14"))
    assert any("no opening balance: cannot verify" in w for w in parsed.warnings)


@needs_data
@pytest.mark.parametrize(
    ("relative", "fragment"),
    [
        ("camt053/viafintech/053__valid_namespace.xml", "<Document> has no BkToCstmrStmt element"),
        ("camt052/viafintech/052__valid_namespace.xml", "<Document> has no BkToCstmrAcctRpt element"),
        ("camt053/genkgo/camt053.v2.wrong.xml", "no Stmt"),
        ("camt053/genkgo/camt053.v2.minimal.xml", "CLBD balance is in SEK"),
        (
            "camt054/genkgo/camt054.v8-with-UETR.xml",
            "notification AAAASESS-FP-ACCR001 of account CH2801234000123456789, Ntry 1: no BookgDt, no ValDt",
        ),
        (
            "camt052/genkgo/camt052.v2.with-account-name.xml",
            "intraday report AAAASESS-FP-ACCR001 of account CH2801234000123456789, Ntry 1: no BookgDt",
        ),
        (
            "pain002/svapnil-iso20022js/nordea__pain_002_v3_txn_reject.xml",
            "pain.002 payment status reports are not account statements or reports",
        ),
    ],
)
def test_non_report_and_broken_xml_files_are_rejected(relative: str, fragment: str) -> None:
    assert fragment in _reject(relative)


# --------------------------------------------------------------------------------------------------
# (3) Intraday reports (MT942, camt.052) and notifications (camt.054) load, and must add up too
# --------------------------------------------------------------------------------------------------


@needs_data
def test_cmxl_mt942_loads_as_two_intraday_reports_matching_their_totals() -> None:
    parsed = _load("mt940/cmxl/mt942.txt")
    assert (parsed.format, parsed.version, parsed.report_kind) == ("mt942", None, REPORT_INTRADAY)
    assert [s.message_id for s in parsed.statements] == ["131110", "01ANWZTPJTYEGJWA"]
    for report in parsed.statements:
        # :61:190109C9792,00FTRFNONREF, :90D:0EUR0,00, :90C:1EUR9792,00; no balances
        assert not report.has_opening_balance and not report.has_closing_balance
        assert [(e.amount, e.direction) for e in report.entries] == [(Decimal("9792.00"), CREDIT)]
        assert report.totals == StatedTotals(
            credit_count=1, credit_sum=Decimal("9792.00"), debit_count=0, debit_sum=Decimal("0.00")
        )
    assert (parsed.credit_total, parsed.debit_total) == (Decimal("19584.00"), Decimal(0))
    assert parsed.warnings == (), "an intraday report without balances is not warned about"


@needs_data
def test_mbank_mt942_loads_as_one_intraday_report() -> None:
    parsed = _load("mt940/wolph-mt940/mBank__mt942.sta")
    assert (parsed.format, parsed.report_kind) == ("mt942", REPORT_INTRADAY)
    (report,) = parsed.statements
    # three :61:1701190119CN0,01 lines; :90C:3PLN0,03
    assert [(e.amount, e.direction) for e in report.entries] == [(Decimal("0.01"), CREDIT)] * 3
    assert (report.currency, parsed.credit_total) == ("PLN", Decimal("0.03"))
    assert [w for w in parsed.warnings if "control character" not in w] == []


@needs_data
def test_camt052_intraday_report_reconciles_its_previous_closing_to_its_closing() -> None:
    parsed = _load("camt052/viafintech/052__valid_example.xml")
    assert (parsed.format, parsed.version, parsed.report_kind) == (
        "camt052",
        "camt.052.001.02",
        REPORT_INTRADAY,
    )
    (report,) = parsed.statements
    # PRCD 8.50 + 2.00 + 3.00 = CLBD 13.50
    assert (report.opening_balance, report.closing_balance) == (Decimal("8.50"), Decimal("13.50"))
    assert [(e.amount, e.direction) for e in report.entries] == [
        (Decimal("2.00"), CREDIT),
        (Decimal("3.00"), CREDIT),
    ]
    assert parsed.warnings == ()


@needs_data
def test_camt052_whose_interim_balance_leaves_out_an_entry_is_quarantined_naming_it() -> None:
    reason = _reject(
        "camt052/moov-iso20022/200519_camt.052_P_CH2909000000250094239_1110092686_0_2019042416072347.xml"
    )
    # OPBD 208509.19 - 103.00 - 913.00 = 207493.19; ITBD 207596.19 = 208509.19 - 913.00
    assert reason.startswith("intraday report 20190424375204223062174/78 of account CH2909000000250094239")
    assert "opening 208509.19 + credits 0 - debits 1016.00 = 207493.19" in reason
    assert "but closing balance is 207596.19 (the difference 103.00 is exactly entry 1" in reason


@needs_data
def test_finnish_camt052_totals_are_compared_without_the_pending_entry() -> None:
    parsed = _load("camt052/moov-iso20022/FI_camt_052_sample.xml.xml")
    pending_only, booked = parsed.statements
    # Rpt 1: one PDNG entry of 2120.00, counted in its TxsSummry (1 entry, net 2120.00)
    assert pending_only.entries == ()
    # Rpt 2: ITBD 1000.00 (10:00) and 1100.00 (12:00), no OPBD; one booked credit of 100.00, totals 1 x 100.00
    assert (booked.has_opening_balance, booked.closing_balance) == (False, Decimal("1100.00"))
    assert [(e.amount, e.direction) for e in booked.entries] == [(Decimal("100.00"), CREDIT)]
    assert sum("not booked" in w for w in parsed.warnings) == 2
    assert not any("cannot verify" in w for w in parsed.warnings)


@needs_data
def test_camt054_notification_batches_expand_into_their_payments() -> None:
    parsed = _load("camt054/viafintech/054__valid_example.xml")
    assert (parsed.format, parsed.version, parsed.report_kind) == (
        "camt054",
        "camt.054.001.04",
        REPORT_NOTIFICATION,
    )
    (notification,) = parsed.statements
    assert not notification.has_opening_balance and not notification.has_closing_balance
    assert [(e.amount, e.direction, e.is_reversal, len(e.payments())) for e in notification.entries] == [
        (Decimal("24.00"), CREDIT, False, 2),  # TxDtls 15.00 + 9.00
        (Decimal("56.56"), CREDIT, False, 1),
        (Decimal("6.00"), DEBIT, True, 1),  # RvslInd true, CdtDbtInd DBIT
        (Decimal("15.53"), DEBIT, True, 1),
    ]
    assert [t.amount for t in notification.entries[0].transactions] == [Decimal("15.00"), Decimal("9.00")]
    # 24.00 + 56.56 = 80.56; 6.00 + 15.53 = 21.53
    assert (parsed.credit_total, parsed.debit_total) == (Decimal("80.56"), Decimal("21.53"))
    assert parsed.warnings == (), "a notification without balances is not warned about"


@needs_data
def test_postfinance_esr_notification_credits_five_payments() -> None:
    parsed = _load(
        "camt054/moov-iso20022/200519_camt054-ESR-ASR_P_CH2909000000250094239_1110092704_0_2019042500372179.xml"
    )
    credit, debit = parsed.statements[0].entries
    # 250.00 + 200.00 + 300.00 + 324.00 + 463.00 = 1537.00
    assert [t.amount for t in credit.transactions] == [
        Decimal(a) for a in ("250.00", "200.00", "300.00", "324.00", "463.00")
    ]
    assert (credit.amount, credit.direction, credit.batch_count) == (Decimal("1537.00"), CREDIT, 5)
    assert (debit.amount, debit.direction, len(debit.transactions)) == (Decimal("147.00"), DEBIT, 1)


@needs_data
@pytest.mark.parametrize(
    ("name", "amount", "direction", "payments"),
    [
        ("200519_camt054-chdd_p_ch2909000000250094239_1110097484_0_20190520700381159.xml", "4.50", CREDIT, 2),
        ("200519_camt054-epo_p_ch5109000000250092291_1110097605_0_2019052003522556.xml", "750.00", DEBIT, 3),
        (
            "200519_camt054-returns_p_ch2909000000250094239_1109800798_0_2019052023472022.xml",
            "400.00",
            CREDIT,
            1,
        ),
    ],
)
def test_camt054_files_in_the_camt052_folder_load_as_notifications(
    name: str, amount: str, direction: str, payments: int
) -> None:
    # chdd: 1.50 + 3.00; epo: 200.00 + 250.00 + 300.00; returns: one payment of 400.00
    parsed = _load(f"camt052/moov-iso20022/{name}")
    assert (parsed.format, parsed.report_kind) == ("camt054", REPORT_NOTIFICATION)
    (entry,) = parsed.statements[0].entries
    assert (entry.amount, entry.direction, len(entry.transactions)) == (Decimal(amount), direction, payments)
    assert sum(t.amount or 0 for t in entry.transactions) == Decimal(amount)


@needs_data
def test_finnish_camt054_whose_summary_counts_a_skipped_info_entry_is_quarantined() -> None:
    # TxsSummry: 6 entries, net 169.95 CRDT. Booked: 2000.00 + 500.00 + 3000.00 - 4230.05 - 1000.00 = 269.95;
    # the sixth, Sts INFO, CRDT 100.00 with RvslInd true, is skipped (the summary takes it as -100.00)
    reason = _reject("camt054/moov-iso20022/FI_camt_054_sample.xml.xml")
    assert reason.startswith("notification BANKFILEID00001NTR00001/96 of account FI7433010001222090")
    assert "entries stated 6, counted 5; net amount stated 169.95, counted 269.95" in reason


# --------------------------------------------------------------------------------------------------
# (4) Synthetic files
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
        (b"", "not a bank statement file: the file is empty"),
        (b"hello world", r"neither XML nor SWIFT MT tags \(starts with 'hello world'\)"),
        (b"1\n2\n3\n", r"\(starts with '1\\n2\\n3'\)"),  # the line breaks escaped once, by repr
        (b"<html><body/></html>", "XML document <html> has no camt.052/053/054 namespace"),
        (
            b"<Document xmlns='urn:iso:std:iso:20022:tech:xsd:pain.002.001.03'><CstmrPmtStsRpt/></Document>",
            "pain.002 payment status reports are not account statements or reports",
        ),
        (
            b"<Document xmlns='urn:iso:std:iso:20022:tech:xsd:camt.056.001.08'/>",
            "ISO 20022 camt.056 is not a camt.052, camt.053 or camt.054 message",
        ),
    ],
)
def test_detect_format_rejects_other_content(data: bytes, fragment: str) -> None:
    with pytest.raises(BankFileError, match=fragment):
        detect_format(data)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"\xef\xbb\xbf:20:X\n:25:Y\n", "mt940"),
        (_CAMT.encode(), "camt053"),
        (b"<Document><BkToCstmrAcctRpt/></Document>", "camt052"),  # told by its container
        (b"<Document xmlns='urn:iso:std:iso:20022:tech:xsd:camt.054.001.08'>", "camt054"),
        (b"{1:F01X}{2:I942XN}{4:\n:20:X\n-}", "mt942"),  # told by the SWIFT header
        (b":20:X\n:25:Y\n:28C:1/1\n:34F:EURC0,\n:13D:2403011215+0100\n", "mt942"),  # by its tags
        (b":20:X\n:25:Y\n:60F:C240101EUR1,00\n:34F:EURC0,\n", "mt940"),  # a balance: a statement
    ],
)
def test_detect_format_accepts_statements_intraday_reports_and_notifications(
    data: bytes, expected: str
) -> None:
    assert detect_format(data) == expected


_SUMMARY = "<TxsSummry><TtlNtries><NbOfNtries>{count}</NbOfNtries></TtlNtries></TxsSummry>"


def _camt_with_summary(count: int, *, opening: bool = True) -> bytes:
    """The synthetic statement (OPBD 100.00 - 20.00 = CLBD 80.00, plus a PDNG entry) with a TxsSummry."""
    text = _CAMT.format(opening="100.00", opening_sign="<CdtDbtInd>CRDT</CdtDbtInd>")
    text = text.replace("</Bal>\n<Ntry>", "</Bal>" + _SUMMARY.format(count=count) + "\n<Ntry>", 1)
    if not opening:
        text, cut = re.subn(r"<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd>.*?</Bal>", "", text, flags=re.S)
        assert cut == 1
    return text.encode()


def test_stated_totals_that_disagree_only_warn_when_the_balances_reconcile() -> None:
    parsed = parse_bank_bytes(_camt_with_summary(5), "summary.xml")
    assert parsed.entry_count == 1
    assert any(
        "the stated totals disagree with the entries (entries stated 5, counted 1); the balances reconcile"
        in w
        for w in parsed.warnings
    )


def test_stated_totals_that_disagree_quarantine_a_statement_without_opening_balance() -> None:
    with pytest.raises(BankFileError) as caught:
        parse_bank_bytes(_camt_with_summary(5, opening=False), "summary.xml")
    assert caught.value.reason == (
        "statement S1 of account DE89370400440532013000: its entries do not add up to the totals it states:"
        " entries stated 5, counted 1"
    )
    parsed = parse_bank_bytes(_camt_with_summary(1, opening=False), "summary.xml")
    assert parsed.entry_count == 1
    assert any("no opening balance: cannot verify" in w for w in parsed.warnings)


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
# (5) A defect in a parser is not a data problem: it propagates, it never becomes a quarantine reason
# --------------------------------------------------------------------------------------------------


def _crash(*args: object, **kwargs: object) -> None:
    raise KeyError("a parser bug")


def test_a_crash_inside_the_mt940_parser_propagates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mt940_statements, "build_entry", _crash)
    with pytest.raises(KeyError, match="a parser bug"):
        parse_bank_bytes(_MT940.format(closing="130,00").encode(), "ok.sta")


def test_a_crash_inside_the_camt_parser_propagates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(camt_entries, "build_entry", _crash)
    data = _CAMT.format(opening="100.00", opening_sign="<CdtDbtInd>CRDT</CdtDbtInd>").encode()
    with pytest.raises(KeyError, match="a parser bug"):
        parse_bank_bytes(data, "ok.xml")


def _poisoning(build: Callable[..., BankEntry], **fields: Any) -> Callable[..., BankEntry]:
    """A stand-in for a parser's ``build_entry`` that puts NUL characters into the entry it builds."""

    def poisoned(*args: object, **kwargs: object) -> BankEntry:
        entry = build(*args, **kwargs)
        transaction_fields: dict[str, Any] = {k[3:]: v for k, v in fields.items() if k.startswith("tx_")}
        entry_fields: dict[str, Any] = {k: v for k, v in fields.items() if not k.startswith("tx_")}
        transactions = tuple(dataclasses.replace(t, **transaction_fields) for t in entry.transactions)
        return dataclasses.replace(entry, transactions=transactions, **entry_fields)

    return poisoned


_NUL_MT940 = (
    b":20:NUL1\r\n:25:NL00TEST0123456789\r\n:28C:1/1\r\n:60F:C260301EUR100,00\r\n"
    b":61:2603010301C5,00NTRFNONREF\r\n:86:Invoice 31\r\n:62F:C260301EUR105,00\r\n-\r\n"
)


def test_a_nul_character_in_an_entry_is_bad_data_with_its_place_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """PostgreSQL text cannot hold NUL: validation rejects it (quarantine), landing never sees it. (The
    MT940 reader drops NUL bytes and XML cannot carry one; this guards any other path to the model.)"""
    assert parse_bank_bytes(_NUL_MT940, "nul.sta").entry_count == 1, "the clean file passes"
    build = mt940_statements.build_entry
    monkeypatch.setattr(mt940_statements, "build_entry", _poisoning(build, remittance_info="Invoice\x0031"))
    with pytest.raises(BankFileError) as caught:
        parse_bank_bytes(_NUL_MT940, "nul.sta")
    assert caught.value.reason == (
        "statement 1/1 of account NL00TEST0123456789, entry 1: remittance_info contains a NUL character"
    )
    assert caught.value.file_name == "nul.sta"


def test_a_nul_character_in_a_transaction_is_bad_data_with_its_place_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    build = camt_entries.build_entry
    monkeypatch.setattr(camt_entries, "build_entry", _poisoning(build, tx_end_to_end_id="E2E\x00"))
    data = _CAMT.format(opening="100.00", opening_sign="<CdtDbtInd>CRDT</CdtDbtInd>").encode()
    with pytest.raises(BankFileError, match="entry 1, transaction 1: end_to_end_id contains a NUL character"):
        parse_bank_bytes(data, "nul.xml")


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        (
            {"tx_amount": Decimal("-1.00"), "tx_end_to_end_id": "E2E\x00"},
            "entry 1, transaction 1: end_to_end_id contains a NUL character",
        ),
        (
            {"tx_amount": Decimal("-1.00"), "amount": Decimal("-5.00")},
            "entry 1, transaction 1: negative amount -1.00",
        ),
        ({"amount": Decimal("-5.00"), "direction": "XXXX"}, "entry 1: negative amount -5.00"),
        ({"direction": "XXXX", "currency": "CHF"}, "entry 1: unknown direction 'XXXX'"),
        (
            {"currency": "CHF", "additional_info": "A\x00"},
            "entry 1: additional_info contains a NUL character",
        ),
        ({"tx_referred_documents": ("INV-1", "INV\x002")}, "a referred document contains a NUL character"),
        ({"currency": "CHF"}, "entry 1: amount in CHF, but the statement"),
    ],
)
def test_the_first_failing_entry_check_names_the_error(
    monkeypatch: pytest.MonkeyPatch, fields: dict[str, Any], reason: str
) -> None:
    """The validation's fast pass over an entry hands any failure to the field-by-field checks, which
    report the first failing one in their fixed order (texts, then each transaction, then the entry)."""
    build = camt_entries.build_entry
    monkeypatch.setattr(camt_entries, "build_entry", _poisoning(build, **fields))
    data = _CAMT.format(opening="100.00", opening_sign="<CdtDbtInd>CRDT</CdtDbtInd>").encode()
    with pytest.raises(BankFileError, match=re.escape(reason)):
        parse_bank_bytes(data, "bad.xml")


if __name__ == "__main__":  # python -m tests.unit.test_bank_parsers: regenerate, then review the diff
    _write_expectations()
