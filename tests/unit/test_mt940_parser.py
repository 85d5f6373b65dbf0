"""Tests of the streaming MT940/MT942 parser (:func:`o2c.sources.bank.mt940.open_mt`).

Expected values were worked out from the files' bytes or by hand (comments say how), never by running the
parser. The maintained ``mt-940`` library is the independent reference: every real sample both can read must
give the same value dates, entry dates, marks and amounts (section 6).
"""

from __future__ import annotations

import dataclasses
import io
import re
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import mt940
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from o2c.sources.bank.model import (
    CREDIT,
    DEBIT,
    REPORT_INTRADAY,
    BankFileError,
    BankFileStream,
    ParsedBankFile,
    StatedTotals,
    materialize,
)
from o2c.sources.bank.mt940 import entries as mt940_entries
from o2c.sources.bank.mt940 import open_mt
from o2c.sources.bank.mt940 import statements as mt940_statements
from o2c.sources.bank.mt940.lines import BLOCK_BYTES
from o2c.sources.bank.parse import parse_bank_bytes, parse_bank_file
from tests.conftest import shared_data

DATA = shared_data() / "mt940"
MT_FILES = sorted(p for p in DATA.rglob("*") if p.is_file()) if DATA.is_dir() else []
needs_data = pytest.mark.skipif(not MT_FILES, reason=f"no shared MT940 samples in {DATA}")


def _stream(data: bytes, name: str = "test.sta") -> BankFileStream:
    return open_mt(io.BytesIO(data), name)


def _read(data: bytes, name: str = "test.sta") -> ParsedBankFile:
    return materialize(_stream(data, name))


def _read_file(relative: str) -> ParsedBankFile:
    with (DATA / relative).open("rb") as source:
        return materialize(open_mt(source, Path(relative).name))


def _mt940(*entries: str, opening: str = "C240101EUR100,00", closing: str = "C240131EUR100,00") -> bytes:
    """A one-statement MT940 file around the given ``:61:``/``:86:`` lines."""
    body = "".join(f"{line}\r\n" for line in entries)
    return (
        f":20:REF1\r\n:25:NL91ABNA0417164300\r\n:28C:7/1\r\n:60F:{opening}\r\n{body}:62F:{closing}\r\n-\r\n"
    ).encode()


# --------------------------------------------------------------------------------------------------
# (1) MT942 interim reports: real samples, totals, created_at, and files mixing 940 and 942
# --------------------------------------------------------------------------------------------------

_CET = timezone(timedelta(hours=1))


@needs_data
def test_cmxl_mt942_two_reports_with_totals_and_creation_time() -> None:
    parsed = _read_file("cmxl/mt942.txt")
    assert (parsed.format, parsed.version, parsed.report_kind) == ("mt942", None, REPORT_INTRADAY)
    assert [s.message_id for s in parsed.statements] == ["131110", "01ANWZTPJTYEGJWA"]
    for report in parsed.statements:
        # :28C:13/37, :34F:EURD12345,67, :13D:1901091733+0100, no balances
        assert (report.statement_id, report.sequence, report.account_id) == ("13", "37", "45050050/76198810")
        assert (report.currency, report.report_kind) == ("EUR", REPORT_INTRADAY)
        assert report.created_at == datetime(2019, 1, 9, 17, 33, tzinfo=_CET)
        assert not report.has_opening_balance and not report.has_closing_balance
        # :90D:0EUR0,00 and :90C:1EUR9792,00
        assert report.totals == StatedTotals(
            credit_count=1, credit_sum=Decimal("9792.00"), debit_count=0, debit_sum=Decimal("0.00")
        )
        (entry,) = report.entries
        # :61:190109C9792,00FTRFNONREF
        assert (entry.value_date, entry.booking_date) == (date(2019, 1, 9), date(2019, 1, 9))
        assert (entry.amount, entry.direction, entry.is_reversal) == (Decimal("9792.00"), CREDIT, False)
        assert (entry.customer_reference, entry.transaction_code) == (None, "FTRF")
        # :86:008?00DAUERAUFTRAG?100599?20Miete Dezember?3010020030?31234567?32MUELLER?34339
        (tx,) = entry.transactions
        assert (tx.remittance_unstructured, tx.counterparty_name, tx.counterparty_account) == (
            "Miete Dezember",
            "MUELLER",
            "234567",
        )
        assert (tx.proprietary_code, tx.additional_info, tx.counterparty_bic) == ("008", "DAUERAUFTRAG", None)
        assert report.totals.mismatch(1, entry.amount, 0, Decimal(0)) is None


@needs_data
def test_mbank_mt942_three_credits_match_their_totals() -> None:
    parsed = _read_file("wolph-mt940/mBank__mt942.sta")
    assert parsed.format == "mt942"
    (report,) = parsed.statements
    assert (report.message_id, report.account_id, report.currency) == (
        "ST170119CYC/0001",
        "PL29114010810000267002001002",
        "PLN",  # from :34F:PLN0
    )
    assert report.created_at == datetime(2017, 1, 19, 18, 15, tzinfo=_CET)
    # :61:1701190119CN0,01NTRFNONREF//MB1701190120.. : credit, funds code N, three times 0.01
    assert [(e.amount, e.direction, e.bank_reference) for e in report.entries] == [
        (Decimal("0.01"), CREDIT, "MB170119012058"),
        (Decimal("0.01"), CREDIT, "MB170119012085"),
        (Decimal("0.01"), CREDIT, "MB170119012121"),
    ]
    assert report.totals == StatedTotals(
        credit_count=3, credit_sum=Decimal("0.03"), debit_count=0, debit_sum=Decimal("0.00")
    )
    assert report.totals.mismatch(3, Decimal("0.03"), 0, Decimal(0)) is None
    assert any("control character" in w for w in parsed.warnings)  # SOH before, ETX after the message


@needs_data
def test_mt942_whose_debit_total_disagrees_exposes_the_stated_total() -> None:
    parsed = _read_file("wolph-mt940/self-provided__mt942.sta")
    (report,) = parsed.statements
    assert report.created_at == datetime(2016, 10, 30, 17, 30, tzinfo=UTC)  # :13D:1610301730+0000
    (entry,) = report.entries
    # :61:1610301031D0,42MCI0NONREF//055001022000001: value 30 October, entry 31 October 2016
    assert (entry.value_date, entry.booking_date) == (date(2016, 10, 30), date(2016, 10, 31))
    assert (entry.amount, entry.direction, entry.transaction_code) == (Decimal("0.42"), DEBIT, "MCI0")
    assert entry.additional_info == "YAY MT942 CHG"
    assert entry.remittance_info == "REMIT:Costs to MT940 Parsing. This is Somuchfun."
    # :90D:1EUR2,30, no :90C:
    assert report.totals == StatedTotals(debit_count=1, debit_sum=Decimal("2.30"))
    assert report.totals.mismatch(0, Decimal(0), 1, entry.amount) == "debit sum stated 2.30, counted 0.42"
    with pytest.raises(BankFileError, match="do not add up to the totals"):
        parse_bank_file(DATA / "wolph-mt940/self-provided__mt942.sta")


@needs_data
def test_mt942_fragment_without_20_is_rejected() -> None:
    with pytest.raises(
        BankFileError, match=r"no :20: transaction reference, only fragments \(:34F:, :61:, :86:\)"
    ):
        _read_file("cmxl/statement-details-mt942.txt")


_MT942 = (
    "{1:F01BANKDEFFAXXX0000000000}{2:O942BANKDEFFXXXXN}{4:\r\n"
    ":20:INTRA1\r\n:25:DE89370400440532013000\r\n:28C:12/1\r\n:34F:EURC0,\r\n:13D:2403011215-0500\r\n"
    ":61:2403010301C100,00NTRFE2E-1//B1\r\n:86:/EREF/E2E-1/REMI/first\r\n"
    ":61:2403010301C25,50NTRFE2E-2//B2\r\n:86:/EREF/E2E-2/REMI/second\r\n"
    ":90C:2EUR<credit sum>\r\n-}{5:{CHK:0123456789AB}}\r\n"
)


def _mt942(credit_sum: str) -> bytes:
    return _MT942.replace("<credit sum>", credit_sum).encode()


def test_synthetic_mt942_whose_credit_sum_disagrees() -> None:
    data = _mt942("125,00")  # the entries add up to 100.00 + 25.50 = 125.50
    parsed = _read(data)
    assert (parsed.format, parsed.report_kind) == ("mt942", REPORT_INTRADAY)
    (report,) = parsed.statements
    assert report.created_at == datetime(2024, 3, 1, 12, 15, tzinfo=timezone(-timedelta(hours=5)))
    assert report.totals == StatedTotals(credit_count=2, credit_sum=Decimal("125.00"))
    assert [e.transactions[0].end_to_end_id for e in report.entries] == ["E2E-1", "E2E-2"]
    mismatch = report.totals.mismatch(2, Decimal("125.50"), 0, Decimal(0))
    assert mismatch == "credit sum stated 125.00, counted 125.50"
    with pytest.raises(BankFileError, match=r"credit sum stated 125\.00, counted 125\.50"):
        parse_bank_bytes(data, "intraday.sta")
    assert parse_bank_bytes(_mt942("125,50"), "ok.sta").entry_count == 2


def test_a_file_mixing_mt940_and_mt942_is_rejected() -> None:
    statement = _mt940(":61:240102C5,00NTRFA1", closing="C240131EUR105,00").decode()
    interim = _mt942("125,50").decode()
    with pytest.raises(BankFileError, match="mixes MT940 statements and MT942 interim reports") as caught:
        _read((statement + interim).encode())
    assert "SWIFT header says MT942" in caught.value.reason
    # without headers, the tags tell: :34F:/:13D: and no opening balance
    headerless = ":20:I2\r\n:25:X\r\n:34F:EUR0,\r\n:13D:2403011215+0100\r\n:61:240301C1,00NTRFR\r\n"
    with pytest.raises(BankFileError, match="mixes MT940 statements and MT942 interim reports"):
        _read((statement + headerless).encode())


# --------------------------------------------------------------------------------------------------
# (2) Encodings
# --------------------------------------------------------------------------------------------------


@needs_data
def test_raiffeisen_hungarian_cp852_words() -> None:
    # bytes of the :61: supplementary lines, read as CP852: 0xA0 á, 0xA1 í, 0xA2 ó, 0x81 ü, 0x82 é, 0x94 ö
    # 'Csoportos \xa0tutal\xa0s j\xa2v\xa0\xa1r\xa0sa', 'Bankon bel\x81li \xa0tutal\xa0s', 'D\xa1j, jutal\x82k'
    with (DATA / "wolph-mt940/self-provided__raiffeisen-cmi.sta").open("rb") as source:
        stream = open_mt(source, "raiffeisen-cmi.sta")
        report = next(stream.statements)
        entries = list(report.entries())
    assert any("CP852" in w and "not valid UTF-8" in w for w in stream.warnings)
    assert [e.additional_info for e in entries[:4]] == [
        "Csoportos átutalás jóváírása",
        "Bankon belüli átutalás",
        "Deviza átutalás",
        "Díj, jutalék",
    ]
    assert "napi összevont utánvét" in (entries[0].remittance_info or "")  # 'napi \x94sszevont ut\xa0nv\x82t'
    assert (report.head.currency, len(entries)) == ("HUF", 7)


@needs_data
def test_iso8859_german_umlauts_then_the_31_november_closing_balance() -> None:
    # ':86:051?00\xdcBERWEISUNG...?21Firma\nM\xfcstermann\nGmbH...?32M\xdcLLER': 0xDC Ü, 0xFC ü
    with (DATA / "cmxl/mt940-iso8859-1.txt").open("rb") as source:
        stream = open_mt(source, "mt940-iso8859-1.txt")
        report = next(stream.statements)
        _, transfer = list(report.entries())
        with pytest.raises(BankFileError, match="invalid date '021131'"):
            report.tail  # noqa: B018 - :62F:C021131: 31 November
    assert any("cp1252" in w and "not valid UTF-8" in w for w in stream.warnings)
    assert transfer.counterparty_name == "MÜLLER"
    assert transfer.transactions[0].additional_info == "ÜBERWEISUNG"
    assert "FirmaMüstermannGmbH" in (transfer.remittance_info or "")  # ?21 sub-field lines joined as wrapped


@pytest.mark.parametrize(
    ("text", "encoding", "named"),
    [
        ("Zapłata za fakturę 7/2024, Łódź, ŚWIĘTOKRZYSKA", "cp852", "CP852"),
        ("Přeplatek za zboží, Šárka Dvořáková", "cp852", "CP852"),
        ("Kartenzahlung Straße, Größe Müller, Ölfeld", "cp1252", "cp1252"),
        ("Paiement facture été, Hélène Côté", "cp1252", "cp1252"),
    ],
)
def test_single_byte_encodings_are_told_apart_by_their_letters(text: str, encoding: str, named: str) -> None:
    data = _mt940(":61:240102C5,00NTRFA1", f":86:{text}", closing="C240131EUR105,00")
    parsed = _read(data.decode().encode(encoding))
    assert parsed.statements[0].entries[0].remittance_info == text
    assert any(named in w and "not valid UTF-8" in w for w in parsed.warnings)


def test_utf8_with_and_without_bom_needs_no_warning() -> None:
    data = _mt940(":61:240102C5,00NTRFA1", ":86:Zażółć gęślą jaźń, Straße", closing="C240131EUR105,00")
    for raw in (data, b"\xef\xbb\xbf" + data):
        parsed = _read(raw)
        assert parsed.statements[0].entries[0].remittance_info == "Zażółć gęślą jaźń, Straße"
        assert parsed.warnings == ()


def test_utf16_with_byte_order_mark() -> None:
    data = _mt940(":61:240102C5,00NTRFA1", ":86:Grüße aus Łódź", closing="C240131EUR105,00")
    parsed = _read(data.decode().encode("utf-16"))
    assert parsed.statements[0].entries[0].remittance_info == "Grüße aus Łódź"
    assert parsed.warnings == ()


def test_utf8_that_fails_after_the_first_megabyte_switches_at_the_failing_line() -> None:
    filler = [f":61:240102C1,00NTRFREF{n}\r\n:86:{'plain ascii text ' * 9}{n}\r\n" for n in range(6000)]
    head = ":20:BIG\r\n:25:NL91ABNA0417164300\r\n:28C:1/1\r\n:60F:C240101EUR0,00\r\n" + "".join(filler)
    assert len(head) > BLOCK_BYTES
    tail = ":61:240103D1,00NTRFLATE\r\n:86:Überweisung Straße\r\n:62F:C240103EUR5999,00\r\n"
    data = head.encode("ascii") + tail.encode("cp1252")
    line = head.count("\r\n") + 2  # the ':86:' line of the last entry
    parsed = _read(data)
    entries = parsed.statements[0].entries
    assert len(entries) == 6001
    assert entries[0].remittance_info == ("plain ascii text " * 9).strip() + " 0"
    assert entries[-1].remittance_info == "Überweisung Straße"
    assert any(f"not valid UTF-8 from line {line} on" in w and "cp1252" in w for w in parsed.warnings)


# --------------------------------------------------------------------------------------------------
# (3) Structured :86: details
# --------------------------------------------------------------------------------------------------


@needs_data
def test_ing_structured_details() -> None:
    parsed = _read_file("libmt94x-ing/ibp-structured-ing-provided-example.txt")
    first = parsed.statements[0].entries[0]
    # :61:120130D1,45N038MARF ; :86:/RTRN/MS03//BUSP/Europese Incasso/eenmalig//BENM/NL50INGB00012345
    # 67/INGBNL2A/ING Bank N.V. inzake WeB///CSID/NL32ZZZ999999991234//MARF/EV45451//EREF/EV45451REP170112
    # T1106//REMI///EV45451REP170112T1106/   (the lines join without a blank: hard-wrapped sub-fields)
    assert (first.amount, first.direction, first.transaction_code) == (Decimal("1.45"), DEBIT, "N038")
    assert first.customer_reference == "EV45451"  # 'MARF' in :61: points to /MARF/
    (tx,) = first.transactions
    assert (tx.return_reason, tx.mandate_id, tx.end_to_end_id) == ("MS03", "EV45451", "EV45451REP170112T1106")
    assert (tx.counterparty_account, tx.counterparty_bic, tx.counterparty_name) == (
        "NL50INGB0001234567",
        "INGBNL2A",
        "ING Bank N.V. inzake WeB",
    )
    assert (tx.remittance_unstructured, tx.additional_info) == (
        "EV45451REP170112T1106",
        "Europese Incasso/eenmalig",
    )
    # :61:120130D2,57N036PREF ; :86:/BUSP/Verzamel Eurobetaling///PREF/M000000002222222//REMI///TOTAAL 1 POSTEN/
    third = parsed.statements[0].entries[2]
    assert third.customer_reference == "M000000002222222"
    assert third.transactions[0].remittance_unstructured == "TOTAAL 1 POSTEN"


@needs_data
def test_ing_structured_creditor_reference_and_counterparty() -> None:
    parsed = _read_file("libmt94x-ing/ming-from-spec.txt")
    entry = parsed.statements[0].entries[6]
    # :61:1402200220C32,00NTRF9001123412341234//00000000001011
    # :86:/EREF/15814016000676480//CNTP/NL32INGB0000012345/INGBNL2A/J.Janssen///REMI/STRD/CUR/9001123412341234/
    assert (entry.amount, entry.customer_reference, entry.bank_reference) == (
        Decimal("32.00"),
        "9001123412341234",
        "00000000001011",
    )
    (tx,) = entry.transactions
    assert (tx.end_to_end_id, tx.creditor_reference, tx.creditor_reference_type) == (
        "15814016000676480",
        "9001123412341234",
        "SCOR",
    )
    assert (tx.counterparty_name, tx.counterparty_account, tx.counterparty_bic) == (
        "J.Janssen",
        "NL32INGB0000012345",
        "INGBNL2A",
    )
    assert tx.remittance_unstructured is None


@needs_data
def test_german_return_with_original_amount_and_charges() -> None:
    parsed = _read_file("jejik-mt940/deutschebank.txt")
    (entry,) = parsed.statements[0].entries
    # :61:2006080608D12,35 NRTIKREF+//2016021783252833 / supplementary /OCMT/EUR11,85//CHGS/EUR0,50/
    assert (entry.amount, entry.direction, entry.transaction_code) == (Decimal("12.35"), DEBIT, "NRTI")
    assert (entry.bank_reference, entry.customer_reference) == (
        "2016021783252833",
        "SEPA-DA20200601221740-34972000-P1",  # 'KREF+' in :61: points to KREF+ in :86:
    )
    (tx,) = entry.transactions
    # ?20EREF+A1.200080779.|400143254?21.4961336 KREF+SEPA-DA202006?2201221740-34972000-P1 MR|EF+2
    # ?230852HW2723821 CRED+DE41EON0?240000129793 OAMT+11,85 SVWZ+|?25SONSTIGE GRUENDE ENDABRECHN
    # ?26UNG NR. 500106875 ZU VERTRA?2740|0143254, KUNDENNUM MER 2?2802227779?30CSDBDE71XXX
    # ?31DE50712345600|200691329?32TESTER?33EL   ('|' marks a line break, joined without a blank)
    assert (tx.end_to_end_id, tx.instruction_id, tx.mandate_id) == (
        "A1.200080779.400143254.4961336",
        "SEPA-DA20200601221740-34972000-P1",
        "20852HW2723821",
    )
    assert tx.remittance_unstructured == (
        "SONSTIGE GRUENDE ENDABRECHNUNG NR. 500106875 ZU VERTRA400143254, KUNDENNUM MER 202227779"
    )
    assert (tx.counterparty_name, tx.counterparty_account, tx.counterparty_bic) == (
        "TESTEREL",
        "DE50712345600200691329",
        "CSDBDE71XXX",
    )
    assert (tx.proprietary_code, tx.additional_info) == ("109", "SEPA-LASTSCHR. RETOURE CORE")
    assert (tx.instructed_amount, tx.instructed_currency, tx.charges) == (
        Decimal("11.85"),
        "EUR",
        Decimal("0.50"),
    )
    assert entry.charges == Decimal("0.50")


@needs_data
def test_german_returned_transfer_with_reason_and_message() -> None:
    parsed = _read_file("wolph-mt940/betterplace__sepa_snippet.sta")
    returned = parsed.statements[1].entries[0]
    # :61:0709040904DR0,08NTRFTFNr 40001 MSGID//0724710345316116
    # :86:159?00RETOURE?100399?20EREF+TFNR 40001 00005?21MTLG:Grund nicht s|pezifizie?22rt Reject aus
    # SEPA-Ueberwei?23sungsauftrag?34914 : the reference ends with its sub-field, the message is text
    (tx,) = returned.transactions
    assert (tx.proprietary_code, tx.return_reason, tx.additional_info) == ("159", "914", "RETOURE")
    assert tx.end_to_end_id == "TFNR 40001 00005"
    assert tx.remittance_unstructured == "MTLG:Grund nicht spezifiziert Reject aus SEPA-Ueberweisungsauftrag"
    assert (returned.customer_reference, returned.direction) == (
        "TFNr 40001 MSGID",
        DEBIT,
    )  # DR: funds code R


def test_synthetic_structured_fields() -> None:
    data = _mt940(
        ":61:2401020102C100,00NTRFNONREF//B1",
        ":86:/EREF/E2E-9/IREF/INSTR-9/MARF/MANDATE-1/ULTD/Ultimate Debtor GmbH/DE123/NAME/ACME BV/IBAN/NL91ABNA",
        "0417164300/BIC/ABNANL2A/REMI/Invoice 42/CHGS/USD15,00/OCMT/USD110,00/EXCH/0,9091/",
        ":61:2401020102D7,50NTRFNONREF",
        ":86:Payment RF18 5390 0754 7034 thanks",
        ":61:2401020102C2,50NTRFNONREF",
        ":86:EREF+E2E-7 MREF+M-7 ABWA+Someone Else SVWZ+Rechnung 7",
        closing="C240131EUR195,00",
    )
    first, second, third = (e.transactions[0] for e in _read(data).statements[0].entries)
    assert (first.end_to_end_id, first.instruction_id, first.mandate_id) == ("E2E-9", "INSTR-9", "MANDATE-1")
    assert (first.ultimate_debtor, first.remittance_unstructured) == ("Ultimate Debtor GmbH", "Invoice 42")
    assert (first.counterparty_name, first.counterparty_account, first.counterparty_bic) == (
        "ACME BV",
        "NL91ABNA0417164300",
        "ABNANL2A",
    )
    assert (first.instructed_amount, first.instructed_currency, first.exchange_rate) == (
        Decimal("110.00"),
        "USD",
        Decimal("0.9091"),
    )
    # the account is in EUR: USD charges cannot be stated in the account currency
    assert first.charges is None and "charges USD 15.00" in (first.additional_info or "")
    assert (second.creditor_reference, second.creditor_reference_type) == ("RF18539007547034", "SCOR")
    assert (second.remittance_unstructured, second.proprietary_code) == (
        "Payment RF18 5390 0754 7034 thanks",
        "NTRF",
    )
    assert (third.end_to_end_id, third.mandate_id, third.ultimate_debtor) == ("E2E-7", "M-7", "Someone Else")
    assert third.remittance_unstructured == "Rechnung 7"


def test_an_rf_reference_with_wrong_check_digits_is_not_a_creditor_reference() -> None:
    data = _mt940(":61:240102C5,00NTRFA1", ":86:Payment RF19539007547034", closing="C240131EUR105,00")
    assert _read(data).statements[0].entries[0].transactions[0].creditor_reference is None


# --------------------------------------------------------------------------------------------------
# (4) The rules kept from the previous parser
# --------------------------------------------------------------------------------------------------


def test_marks_reversals_and_funds_codes() -> None:
    data = _mt940(
        ":61:240102RC30,00NTRFNONREF",  # reversal of a credit: a debit
        ":61:240102RD5,00NTRFNONREF",  # reversal of a debit: a credit
        ":61:240102DR20,00NTRFNONREF",  # debit with funds code R
        ":61:240102CR1,00NTRFNONREF",  # credit with funds code R
        closing="C240131EUR56,00",
    )
    marks = [(e.direction, e.is_reversal, e.amount) for e in _read(data).statements[0].entries]
    assert marks == [
        (DEBIT, True, Decimal("30.00")),
        (CREDIT, True, Decimal("5.00")),
        (DEBIT, False, Decimal("20.00")),
        (CREDIT, False, Decimal("1.00")),
    ]


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        (":61:160230C1,00NTRFX", "invalid date '160230'"),  # 30 February
        (":61:2401021131C1,00NTRFX", "invalid entry date '1131'"),  # 31 November
        (":61:240102C1.234,56NTRFX", "amount '1.234,56' must have exactly one decimal comma"),
        (":61:240102X1,00NTRFX", "malformed statement line"),
    ],
)
def test_strict_statement_lines(line: str, fragment: str) -> None:
    with pytest.raises(BankFileError, match=re.escape(fragment)) as caught:
        _read(_mt940(line))
    assert ":61: (line 5)" in caught.value.reason


def test_decimal_point_and_whole_unit_amounts_are_read_with_a_warning() -> None:
    data = _mt940(
        ":61:240102C300.50NTRFA", ":61:240102C500NTRFB", opening="C240101EUR0.", closing="C240131EUR800,50"
    )
    parsed = _read(data)
    assert [e.amount for e in parsed.statements[0].entries] == [Decimal("300.50"), Decimal("500")]
    assert "amounts use '.' as decimal separator instead of ','; read as decimal point" in parsed.warnings
    assert "amounts without decimal comma; read as whole units" in parsed.warnings


def test_statement_number_forms_and_bank_header_lines() -> None:
    text = (
        "0000 01INGBNL2AXXXX00001\r\n940 00\r\n:940:\r\n"
        ":20:A\r\n:25:ACC\r\n:28C:00001/001\r\n:60F:C240101EUR0,\r\n:62F:C240101EUR0,\r\n-\r\nABNANL2A\r\n940\r\n"
        ":20:B\r\n:25:ACC\r\n:28C: /1\r\n:60F:C240101EUR0,\r\n:62F:C240101EUR0,\r\n"
        ":20:C\r\n:25:ACC\r\n:28:0072\r\n:60M:C240101EUR0,\r\n:62M:C240101EUR0,\r\n"
    )
    parsed = _read(text.encode())
    assert [(s.statement_id, s.sequence) for s in parsed.statements] == [
        ("00001", "001"),
        ("B", "1"),
        ("0072", None),
    ]
    assert parsed.warnings == ()


def test_multi_page_statement_pages_are_separate_reports() -> None:
    text = (
        ":20:P\r\n:25:ACC\r\n:28C:5/1\r\n:60F:C240101EUR10,00\r\n:61:240101C1,00NTRFA\r\n:62M:C240101EUR11,00\r\n"
        ":20:P\r\n:25:ACC\r\n:28C:5/2\r\n:60M:C240101EUR11,00\r\n:61:240101D2,00NTRFB\r\n:62F:C240101EUR9,00\r\n"
    )
    pages = _read(text.encode()).statements
    assert [(p.sequence, p.opening_balance, p.closing_balance, len(p.entries)) for p in pages] == [
        ("1", Decimal("10.00"), Decimal("11.00"), 1),
        ("2", Decimal("11.00"), Decimal("9.00"), 1),
    ]


def test_control_characters_and_nul_are_removed_with_a_warning() -> None:
    data = (
        b"\x01"
        + _mt940(":61:240102C5,00NTRFA1", ":86:Invoice\x0031", closing="C240131EUR105,00")
        + b"\x03\x1a"
    )
    parsed = _read(data)
    assert parsed.statements[0].entries[0].remittance_info == "Invoice31"
    assert parsed.warnings == ("removed 4 control character(s) (ETX, NUL, SOH, SUB)",)


def test_swift_envelope_lone_colon_and_amount_on_the_next_line() -> None:
    # the lines of wolph-mt940/self-provided__sparkassen.sta (a fragment) inside a statement and an envelope
    text = (
        "{1:F01SPKADE2HAXXX0000000000}{2:O940SPKADE2HXXXXN}{3:{108:MT940 001 OF 001}}{4:\r\n"
        ":20:S\r\n:25:ACC\r\n:60F:C181125EUR0,\r\n"
        ":61:1811261126CR\r\n30,00N062NONREF\r\n:\r\n86:166?00GUTSCHR. UEBERWEISUNG?081542?20SVWZ+Test\r\n"
        ":62F:C181126EUR30,00\r\n-}{5:{CHK:ABC}}\r\n"
    )
    parsed = _read(text.encode())
    (entry,) = parsed.statements[0].entries
    assert (entry.amount, entry.direction, entry.transaction_code) == (Decimal("30.00"), CREDIT, "N062")
    assert entry.remittance_info == "166?00GUTSCHR. UEBERWEISUNG?081542?20SVWZ+Test"
    assert entry.transactions[0].remittance_unstructured == "Test"
    assert parsed.warnings == ()


def test_statement_level_86_after_the_closing_balance_is_ignored() -> None:
    data = (
        _mt940(":61:240102C5,00NTRFA1", ":86:For the entry", closing="C240131EUR105,00")
        + b":86:/SUM/1/0/5,00/0/\r\n"
    )
    assert _read(data).statements[0].entries[0].remittance_info == "For the entry"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (":61:240102C1,00NTRFX\r\n:86:x\r\n", "no :20: transaction reference, only fragments (:61:, :86:)"),
        ("hello\r\n", "no MT940/MT942 tags found"),
        (":20:X\r\n:60F:C240101EUR1,00\r\n", "no :25: account identification"),
        (":20:X\r\n:25:A\r\n:25:B\r\n:60F:C240101EUR1,00\r\n", "second account identification :25: (line 3)"),
        (":20:X\r\n:25:A\r\n:61:240101C1,00NTRFX\r\n", "no :60: opening and no :62: closing balance"),
        (":20:X\r\n:25:A\r\n:60F:C240101EUR1,00\r\n:62F:C240101USD1,00\r\n", "opening balance currency EUR"),
        (":20:X\r\n:25:A\r\n:60F:C240101EUR1,00\r\n:62F:C240101EUR11 1,00\r\n", "malformed balance"),
        (
            ":20:X\r\n:25:A\r\n:60F:C240101EUR1,00\r\n:62F:C240101EUR1,00\r\n:61:240101C1,00NTRFX\r\n",
            "statement line :61: (line 5) after the closing balance :62F: (line 4)",
        ),
    ],
)
def test_broken_files_are_rejected_naming_what_and_where(text: str, fragment: str) -> None:
    with pytest.raises(BankFileError) as caught:
        _read(text.encode())
    assert fragment in caught.value.reason


def test_currency_of_a_statement_without_opening_balance_comes_from_its_closing_balance() -> None:
    text = ":20:X\r\n:25:A\r\n:61:240101C1,00NTRFX\r\n:86:text\r\n:62F:C240101CHF1,00\r\n"
    (statement,) = _read(text.encode()).statements
    assert (statement.currency, statement.has_opening_balance, statement.entries[0].currency) == (
        "CHF",
        False,
        "CHF",
    )


def test_account_bic_from_25p() -> None:
    text = ":20:X\r\n:25P:NL91ABNA0417164300\r\nABNANL2A\r\n:60F:C240101EUR1,00\r\n:62F:C240101EUR1,00\r\n"
    (statement,) = _read(text.encode()).statements
    assert (statement.account_id, statement.account_bic) == ("NL91ABNA0417164300", "ABNANL2A")


def test_an_error_of_the_first_head_names_the_file() -> None:
    with pytest.raises(BankFileError) as caught:
        _stream(b":20:X\r\n:60F:C240101EUR1,00\r\n", "head.sta")
    assert caught.value.file_name == "head.sta"


# --------------------------------------------------------------------------------------------------
# (5) Streaming: the file is read a block at a time, entries as the caller asks for them
# --------------------------------------------------------------------------------------------------


class _Spy(io.BytesIO):
    """A file that records the largest read."""

    largest = 0

    def read(self, size: int | None = -1) -> bytes:
        self.largest = max(self.largest, size if size is not None and size >= 0 else len(self.getvalue()))
        return super().read(size)


def test_the_file_is_read_lazily_in_blocks() -> None:
    lines = [f":61:240102C1,00NTRFREF{n}\r\n:86:{'details ' * 12}{n}\r\n" for n in range(30_000)]
    data = (
        ":20:BIG\r\n:25:ACC\r\n:60F:C240101EUR0,00\r\n" + "".join(lines) + ":62F:C240102EUR30000,00\r\n"
    ).encode()
    assert len(data) > 3 * BLOCK_BYTES
    source = _Spy(data)
    stream = open_mt(source, "big.sta")
    statement = next(stream.statements)
    first = next(statement.entries())  # the generator is dropped at once: the caller stops reading
    assert first.customer_reference == "REF0"
    assert source.tell() <= 2 * BLOCK_BYTES, "only the sniffed prefix and the first block were read"
    assert source.largest <= BLOCK_BYTES
    assert statement.tail.closing is not None and statement.tail.closing.amount == Decimal("30000.00")


def test_entries_built_without_init_equal_those_built_by_the_model() -> None:
    data = _mt940(
        ":61:2401020102C100,00NTRFINV-1//B1",
        ":86:/EREF/INV-1/NAME/ACME BV/IBAN/DE89370400440532013000/REMI/Invoice 1",
        closing="C240131EUR200,00",
    )
    (entry,) = _read(data).statements[0].entries
    (tx,) = entry.transactions
    rebuilt_tx = dataclasses.replace(tx)
    rebuilt = dataclasses.replace(entry, transactions=(rebuilt_tx,))
    assert rebuilt == entry and hash(rebuilt) == hash(entry) and repr(rebuilt) == repr(entry)
    assert (entry.customer_reference, entry.bank_reference, tx.end_to_end_id) == ("INV-1", "B1", "INV-1")


def test_a_defect_inside_the_parser_propagates(monkeypatch: pytest.MonkeyPatch) -> None:
    data = _mt940(":61:240102C5,00NTRFA1", closing="C240131EUR105,00")

    def crash(*args: object, **kwargs: object) -> None:
        raise KeyError("a parser bug")

    monkeypatch.setattr(mt940_entries, "parse_statement_line", crash)
    with pytest.raises(KeyError, match="a parser bug"):
        _read(data)
    monkeypatch.undo()
    monkeypatch.setattr(mt940_statements, "build_entry", crash)
    with pytest.raises(KeyError, match="a parser bug"):
        parse_bank_bytes(data, "x.sta")


# --------------------------------------------------------------------------------------------------
# (6) Properties, and the mt-940 library as an independent reference
# --------------------------------------------------------------------------------------------------

_IBAN = re.compile(r"[A-Z]{2}\d{2}[A-Z0-9]{10,30}")
_REFERENCES = st.from_regex(r"[A-Z]{0,4}[0-9][A-Z0-9./-]{0,10}[A-Z0-9]?", fullmatch=True).filter(
    lambda r: not _IBAN.fullmatch(r) and "//" not in r and not r.endswith("/")  # 'A/' + '//B' reads 'A', '/B'
)
_TEXT = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 ,.", max_size=120)


@st.composite
def _entries(draw: st.DrawFn) -> dict[str, object]:
    value = draw(st.dates(date(2000, 1, 15), date(2099, 12, 15)))
    booking = value + timedelta(days=draw(st.integers(-20, 20))) if draw(st.booleans()) else None
    return {
        "value": value,
        "booking": booking,
        "mark": draw(st.sampled_from(["C", "D", "RC", "RD"])),
        "funds": draw(st.sampled_from(["", "R", "N"])),
        "amount": Decimal(draw(st.integers(0, 10**13))).scaleb(-2),
        "type": draw(st.sampled_from(["NTRF", "NMSC", "FCHG", "S103", "N527"])),
        "reference": draw(st.one_of(st.just("NONREF"), _REFERENCES)),
        "bank": draw(st.one_of(st.just(""), st.from_regex(r"[A-Z0-9]{1,16}", fullmatch=True))),
        "details": draw(
            st.one_of(st.none(), st.lists(_TEXT.map(str.strip).filter(bool), min_size=1, max_size=4))
        ),
    }


def _render(entry: dict[str, object]) -> str:
    value, booking = entry["value"], entry["booking"]
    assert isinstance(value, date)
    entry_date = f"{booking:%m%d}" if isinstance(booking, date) else ""
    amount = str(entry["amount"]).replace(".", ",")
    bank = f"//{entry['bank']}" if entry["bank"] else ""
    head = f"{value:%y%m%d}{entry_date}{entry['mark']}{entry['funds']}{amount}"
    text = f":61:{head}{entry['type']}{entry['reference']}{bank}\r\n"
    details = entry["details"]
    if isinstance(details, list):
        text += ":86:" + "\r\n".join(details) + "\r\n"
    return text


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(_entries(), max_size=12), min_size=1, max_size=3))
def test_property_amounts_dates_marks_and_references_in_equal_out(
    statements: list[list[dict[str, object]]],
) -> None:
    text = "".join(
        f":20:S{n}\r\n:25:NL91ABNA0417164300\r\n:28C:{n}/1\r\n:60F:C240101EUR0,00\r\n"
        + "".join(_render(entry) for entry in entries)
        + ":62F:D240101EUR1,00\r\n-\r\n"
        for n, entries in enumerate(statements, start=1)
    )
    parsed = _read(text.encode())
    assert len(parsed.statements) == len(statements)
    directions = {"C": (CREDIT, False), "D": (DEBIT, False), "RC": (DEBIT, True), "RD": (CREDIT, True)}
    for statement, expected_entries in zip(parsed.statements, statements, strict=True):
        assert statement.closing_balance == Decimal("-1.00")
        assert len(statement.entries) == len(expected_entries)
        for entry, expected in zip(statement.entries, expected_entries, strict=True):
            assert entry.value_date == expected["value"]
            assert entry.booking_date == (expected["booking"] or expected["value"])
            assert entry.amount == expected["amount"]
            assert (entry.direction, entry.is_reversal) == directions[str(expected["mark"])]
            assert entry.transaction_code == expected["type"]
            assert entry.customer_reference == (
                None if expected["reference"] == "NONREF" else expected["reference"]
            )
            assert entry.bank_reference == (expected["bank"] or None)
            details = expected["details"]
            joined = " ".join(" ".join(details).split()) if isinstance(details, list) else None
            assert entry.remittance_info == joined


_VALID = _mt940(
    ":61:2401020102C50,00NTRFINV-1//B1",
    ":86:/EREF/INV-1/NAME/ACME BV/REMI/Invoice 1",
    ":61:2401020102D20,00NTRFNONREF",
    ":86:166?00GUTSCHRIFT?20EREF+X SVWZ+Y?32NAME",
    closing="C240131EUR130,00",
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(_VALID) - 1), st.binary(max_size=3)), min_size=1, max_size=4))
def test_property_damaged_files_only_ever_raise_bank_file_error(edits: list[tuple[int, bytes]]) -> None:
    data = bytearray(_VALID)
    for position, replacement in edits:
        data[position : position + 1] = replacement
    try:
        _read(bytes(data))
    except BankFileError as exc:
        assert exc.reason


_LIBRARY_DISAGREES = {
    "php-mt940/rabo__sample.mt940": "amounts with a decimal point: the library reads one entry of 39",
}


def _library_entries(raw: bytes) -> list[tuple[date, date, str, Decimal]] | None:
    """Value date, entry date, mark and amount of each entry as the bare mt-940 library reads them."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")  # the money fields are ASCII
    try:
        transactions = mt940.parse(text)
    except Exception:  # whatever the library cannot read is not compared
        return None
    result = []
    for transaction in transactions.transactions:
        data = transaction.data
        value = data["date"]
        booking = data.get("entry_date") or value
        result.append(
            (
                date(value.year, value.month, value.day),
                date(booking.year, booking.month, booking.day),
                data["status"],
                abs(data["amount"].amount),
            )
        )
    return result


def _our_entries(raw: bytes) -> list[tuple[date, date, str, Decimal]] | None:
    marks = {(CREDIT, False): "C", (DEBIT, False): "D", (DEBIT, True): "RC", (CREDIT, True): "RD"}
    try:
        parsed = _read(raw)
    except BankFileError:
        return None
    return [
        (e.value_date or e.booking_date, e.booking_date, marks[(e.direction, e.is_reversal)], e.amount)
        for s in parsed.statements
        for e in s.entries
    ]


@needs_data
def test_every_sample_both_can_read_agrees_with_the_mt940_library() -> None:
    compared, disagree = 0, {}
    for path in MT_FILES:
        raw = path.read_bytes()
        theirs, ours = _library_entries(raw), _our_entries(raw)
        if theirs is None or ours is None:
            continue
        compared += 1
        if theirs != ours:
            first = next((t, o) for t, o in zip([*theirs, None], [*ours, None], strict=False) if t != o)
            disagree[str(path.relative_to(DATA))] = first
    assert sorted(disagree) == sorted(_LIBRARY_DISAGREES), disagree
    assert compared >= 140, f"only {compared} samples compared"
