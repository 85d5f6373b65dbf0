"""Tests of the streaming camt.052/053/054 parser (:mod:`o2c.sources.bank.camt`).

Expected values for the real files were worked out from the files themselves: read by eye, cross-checked
with regular expressions over the raw XML in the tests, and added up by hand (the sums are in comments).
They were not taken from the parser's output. The synthetic documents are built here, so what goes in is
what must come out; a hypothesis property does that for random camt.053 documents of every version.

Only :class:`BankFileError` may come out of bad input; anything else is a defect and must propagate.
"""

from __future__ import annotations

import dataclasses
import io
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from o2c.sources.bank.camt import entries as camt_entries
from o2c.sources.bank.camt import open_camt
from o2c.sources.bank.model import (
    CREDIT,
    DEBIT,
    REPORT_INTRADAY,
    REPORT_NOTIFICATION,
    REPORT_STATEMENT,
    BankFileError,
    BankFileStream,
    ParsedBankFile,
    StatedTotals,
    materialize,
)
from tests.conftest import shared_data

DATA = shared_data()
CAMT_FILES = sorted(
    p for folder in ("camt052", "camt053", "camt054") for p in (DATA / folder).rglob("*") if p.is_file()
)
needs_data = pytest.mark.skipif(not CAMT_FILES, reason=f"no shared test data in {DATA}")

POSTFINANCE_ESR = (
    "camt054/moov-iso20022/200519_camt054-ESR-ASR_P_CH2909000000250094239_1110092704_0_2019042500372179.xml"
)
POSTFINANCE_ES = "camt054/dvbern/camt.054-ES_P_CH0309000000250090342_38000000_0_2016052723011813.xml"
POSTFINANCE_RETURN = (
    "camt052/moov-iso20022/200519_camt054-returns_p_ch2909000000250094239_1109800798_0_2019052023472022.xml"
)
POSTFINANCE_V8 = "camt054/dvbern/camt.054_P_CH2909000000250094239_1111111112_0_2022031011011199_v2019.xml"
FINNISH_054 = "camt054/moov-iso20022/FI_camt_054_sample.xml.xml"
FINNISH_052 = "camt052/moov-iso20022/FI_camt_052_sample.xml.xml"


def _open(data: bytes, name: str = "test.xml") -> BankFileStream:
    return open_camt(io.BytesIO(data), name)


def _parse(data: bytes, name: str = "test.xml") -> ParsedBankFile:
    return materialize(_open(data, name))


def _load(relative: str) -> ParsedBankFile:
    with (DATA / relative).open("rb") as handle:
        return materialize(open_camt(handle, Path(relative).name))


def _raw(relative: str) -> str:
    return (DATA / relative).read_text(encoding="utf-8")


def _blocks(text: str, tag: str) -> list[str]:
    """The contents of every ``<tag>…</tag>`` (not nested in itself) in raw XML."""
    return re.findall(rf"<{tag}>(.*?)</{tag}>", text, re.S)


def _value(text: str, tag: str) -> str | None:
    """The text of the first ``<tag>`` (attributes allowed) in raw XML."""
    match = re.search(rf"<{tag}(?:\s[^>]*)?>\s*([^<]*?)\s*</{tag}>", text)
    return match.group(1) if match else None


# --------------------------------------------------------------------------------------------------
# (1) Every real camt file: a stream, or a BankFileError; the message is told by content
# --------------------------------------------------------------------------------------------------

_MESSAGE_IN_NAMESPACE = re.compile(r"urn:iso:std:iso:20022:tech:xsd:camt\.(05[234])\.001\.(\d\d)")
_KIND = {"052": REPORT_INTRADAY, "053": REPORT_STATEMENT, "054": REPORT_NOTIFICATION}


# Files the parser itself must reject, with why (checked in the files: grep counts in the comments).
_NO_DATE = "Ntry 1: no BookgDt, no ValDt and no balance date"  # grep -c BookgDt/ValDt/<Bal>: 0/0/0
_SEK_CLOSING = "CLBD balance is in SEK, but the account currency is EUR"  # Acct/Ccy EUR, CLBD Amt Ccy="SEK"
REJECTED = {
    "camt052/genkgo/camt052.v2.with-account-name.xml": _NO_DATE,
    "camt052/viafintech/052__valid_namespace.xml": "<Document> has no BkToCstmrAcctRpt element",  # empty
    "camt053/genkgo/camt053.v2.minimal.ultimate.xml": _SEK_CLOSING,
    "camt053/genkgo/camt053.v2.minimal.xml": _SEK_CLOSING,
    "camt053/genkgo/camt053.v2.with-party-ids.xml": _SEK_CLOSING,
    "camt053/genkgo/camt053.v2.wrong.xml": "BkToCstmrStmt contains no Stmt",  # GrpHdr only
    "camt053/genkgo/camt053.v3.xml": _SEK_CLOSING,
    "camt053/genkgo/camt053.v4.xml": _SEK_CLOSING,
    "camt053/genkgo/camt053.v8.xml": _SEK_CLOSING,
    "camt053/viafintech/053__valid_namespace.xml": "<Document> has no BkToCstmrStmt element",  # empty
    "camt054/genkgo/camt054.v2.with-account-name.xml": _NO_DATE,
    "camt054/genkgo/camt054.v8-with-UETR.xml": _NO_DATE,
    "camt054/genkgo/camt054.v8-with-financial-institution.xml": _NO_DATE,
}


@needs_data
def test_the_expected_rejections_are_shared_files() -> None:
    assert set(REJECTED) <= {str(p.relative_to(DATA)) for p in CAMT_FILES}
    assert len(CAMT_FILES) == 17 + 154 + 18


@needs_data
@pytest.mark.parametrize("path", CAMT_FILES, ids=[str(p.relative_to(DATA)) for p in CAMT_FILES])
def test_every_camt_file_streams_or_is_rejected_with_its_reason(path: Path) -> None:
    relative = str(path.relative_to(DATA))
    if relative in REJECTED:
        with pytest.raises(BankFileError) as caught:  # anything else fails the test
            _load(relative)
        assert REJECTED[relative] in caught.value.reason
        assert caught.value.file_name == path.name
        return
    parsed = _load(relative)
    match = _MESSAGE_IN_NAMESPACE.search(path.read_text(encoding="utf-8"))
    assert match is not None
    message, variant = match.groups()
    assert (parsed.format, parsed.version) == (f"camt{message}", f"camt.{message}.001.{variant}")
    assert parsed.report_kind == _KIND[message]
    assert parsed.statements
    for statement in parsed.statements:
        assert statement.report_kind == parsed.report_kind
        assert [e.entry_seq for e in statement.entries] == list(range(1, len(statement.entries) + 1))
        for entry in statement.entries:
            assert entry.amount >= 0 and entry.direction in (CREDIT, DEBIT)
            assert [t.tx_seq for t in entry.transactions] == list(range(1, len(entry.transactions) + 1))
            assert all(t.amount is None or t.amount >= 0 for t in entry.transactions)
            assert all(t.direction in (CREDIT, DEBIT) for t in entry.transactions)


@needs_data
def test_camt054_files_in_the_camt052_folder_are_told_by_their_content() -> None:
    folder = sorted((DATA / "camt052" / "moov-iso20022").glob("200519_camt054-*.xml"))
    assert len(folder) == 3
    for path in folder:
        parsed = _load(str(path.relative_to(DATA)))
        assert (parsed.format, parsed.version, parsed.report_kind) == (
            "camt054",
            "camt.054.001.04",
            REPORT_NOTIFICATION,
        )


# --------------------------------------------------------------------------------------------------
# (2) Real files, figures from the files
# --------------------------------------------------------------------------------------------------


@needs_data
def test_postfinance_esr_collective_credit_expands_into_its_five_payments() -> None:
    raw_entry = _blocks(_raw(POSTFINANCE_ESR), "Ntry")[0]
    raw_details = _blocks(raw_entry, "TxDtls")
    parsed = _load(POSTFINANCE_ESR)
    assert (parsed.format, parsed.version, parsed.report_kind) == (
        "camt054",
        "camt.054.001.04",
        "notification",
    )
    (notification,) = parsed.statements
    assert (notification.account_id, notification.currency) == ("CH2909000000250094239", "CHF")
    assert notification.stated_opening_balance is None and notification.stated_closing_balance is None
    entry = notification.entries[0]
    # 250.00 + 200.00 + 300.00 + 324.00 + 463.00 = 1537.00, the Ntry amount; Btch/NbOfTxs is 5
    amounts = [Decimal(a) for a in ("250.00", "200.00", "300.00", "324.00", "463.00")]
    assert [Decimal(_value(d, "Amt") or "") for d in raw_details] == amounts
    assert (entry.amount, entry.direction, entry.batch_count, entry.is_batch) == (
        Decimal("1537.00"),
        CREDIT,
        5,
        True,
    )
    assert [t.amount for t in entry.transactions] == amounts
    assert [t.tx_seq for t in entry.transactions] == [1, 2, 3, 4, 5]
    assert [t.end_to_end_id for t in entry.transactions] == [
        "EndToEndId-001-02-02",
        "EndToEndId-001-02-01",
        "EndToEndId-001-02-03",
        None,
        None,
    ]
    assert [t.account_servicer_reference for t in entry.transactions] == [
        _value(_value_block(d, "Refs"), "AcctSvcrRef") for d in raw_details
    ]
    assert [t.creditor_reference for t in entry.transactions] == [
        "120000000000234478943216899",
        "120000000000234478943216899",
        "120000000000234478943216899",
        "359335273113716998981168243",
        "684388397169969395754931859",
    ]
    assert {t.creditor_reference_type for t in entry.transactions} == {"ISR Reference"}
    assert {
        (t.counterparty_name, t.counterparty_account, t.counterparty_bic) for t in entry.transactions
    } == {("Bernasconi Maria", "CH5109000000250092291", "POFICHBEXXX")}
    assert [t.sub_family_code for t in entry.transactions] == ["AUTT", "AUTT", "AUTT", "DMCT", "DMCT"]
    # the entry keeps its summary: its own AcctSvcrRef, the common debtor, no common end-to-end id
    assert (entry.bank_reference, entry.customer_reference, entry.entry_reference) == (
        "07582000303KBMSU",
        None,
        "014295803",
    )
    assert (entry.counterparty_name, entry.transaction_code) == ("Bernasconi Maria", "PMNT/RCDT/VCOM")
    assert entry.additional_info is not None and entry.additional_info.startswith("SAMMELGUTSCHRIFT ESR")


def _value_block(text: str, tag: str) -> str:
    blocks = _blocks(text, tag)
    assert blocks, tag
    return blocks[0]


@needs_data
def test_postfinance_charges_billed_apart_are_not_deducted_from_the_payment() -> None:
    # The ASR debit of 147.00 has a charge record of 4.40 with ChrgInclInd false: billed on its own.
    raw_entry = _blocks(_raw(POSTFINANCE_ESR), "Ntry")[1]
    assert _value(raw_entry, "ChrgInclInd") == "false"
    entry = _load(POSTFINANCE_ESR).statements[0].entries[1]
    assert (entry.amount, entry.direction, entry.batch_count) == (Decimal("147.00"), DEBIT, 1)
    assert entry.charges is None
    (payment,) = entry.transactions
    assert (payment.amount, payment.charges, payment.creditor_reference) == (
        Decimal("147.00"),
        None,
        "100041698214115449371805270",
    )


@needs_data
def test_postfinance_es_batch_of_eight() -> None:
    raw_details = _blocks(_blocks(_raw(POSTFINANCE_ES), "Ntry")[0], "TxDtls")
    (entry,) = _load(POSTFINANCE_ES).statements[0].entries
    # 50 + 20 + 100 + 100 + 30 + 50 + 20 + 250 = 620.00
    expected = [
        Decimal(x) for x in ("50.00", "20.00", "100.00", "100.00", "30.00", "50.00", "20.00", "250.00")
    ]
    assert [Decimal(_value(d, "Amt") or "") for d in raw_details] == expected
    assert (entry.amount, entry.batch_count, len(entry.transactions)) == (Decimal("620.00"), 8, 8)
    assert [t.amount for t in entry.transactions] == expected
    assert sum(expected) == entry.amount


@needs_data
def test_a_return_carries_its_reason_and_text() -> None:
    (entry,) = _load(POSTFINANCE_RETURN).statements[0].entries
    (payment,) = entry.transactions
    assert (entry.amount, entry.direction, entry.transaction_code) == (
        Decimal("400.00"),
        CREDIT,
        "PMNT/ICDT/RRTN",
    )
    assert (payment.return_reason, payment.additional_info) == ("AC01", "Kontonummer falsch")
    assert payment.end_to_end_id == "EndToEndId-004-01-01"


@needs_data
def test_camt053_v14_returns_with_reason_codes_and_a_date_from_the_balance() -> None:
    parsed = _load("camt053/iso-business-samples/statement_ac04.xml")
    assert parsed.version == "camt.053.001.14"
    first, second, third = parsed.statements[0].entries
    assert (first.transactions[0].return_reason, first.transactions[0].additional_info) == (
        "AC04",
        "Beneficiary account closed",
    )
    assert (first.transactions[0].transaction_id, first.customer_reference) == ("TX-0001", "E2E-0001")
    # the second has no TxDtls/Amt: it books one payment, so the payment's amount is the entry's
    assert (second.transactions[0].return_reason, second.transactions[0].amount) == (
        "AC06",
        Decimal("980.50"),
    )
    # the third has neither BookgDt nor ValDt: the CLBD date, with a warning
    assert third.booking_date == date(2026, 6, 15)
    assert any("no BookgDt nor ValDt; used the balance date 2026-06-15" in w for w in parsed.warnings)


@needs_data
def test_finnish_notification_fx_charges_rf_references_and_skipped_info_entry() -> None:
    parsed = _load(FINNISH_054)
    (notification,) = parsed.statements
    # 6 Ntry in the file; the sixth is Sts INFO (not booked)
    assert len(_blocks(_raw(FINNISH_054), "Ntry")) == 6
    assert len(notification.entries) == 5
    assert any("skipped 1 entries with status INFO" in w for w in parsed.warnings)
    rf_entry = notification.entries[2]
    assert (
        rf_entry.transactions[0].creditor_reference,
        rf_entry.transactions[0].creditor_reference_type,
    ) == (
        "RF7812345",
        "SCOR",
    )
    assert rf_entry.transactions[1].ultimate_debtor == "AT-08 ULTIMATE DEBTOR NAME"
    international = notification.entries[4]
    usd, jpy = international.transactions
    assert (usd.amount, usd.instructed_amount, usd.instructed_currency, usd.exchange_rate) == (
        Decimal("500.00"),
        Decimal("750.00"),
        "USD",
        Decimal("0.666667"),
    )
    assert (jpy.amount, jpy.instructed_amount, jpy.instructed_currency, jpy.exchange_rate) == (
        Decimal("500.00"),
        Decimal("79255.00"),
        "JPY",
        Decimal("0.00630875"),
    )
    # v2 charges (Chrgs/Amt, no ChrgInclInd: included): 20.00 each, 40.00 for the entry
    assert (usd.charges, jpy.charges, international.charges) == (
        Decimal("20.00"),
        Decimal("20.00"),
        Decimal("40.00"),
    )
    assert (usd.counterparty_name, usd.counterparty_bic, usd.additional_info) == (
        "CREDITOR",
        "BOFAUS6H",
        "THIS AREA IS FOR BANK MESSAGE TO DEBTOR FOR REPORTING CHANGES MADE TO THE PAYMENT",
    )
    invoices = notification.entries[3].transactions[2]
    assert invoices.referred_documents == ("217827182718",)
    assert notification.totals == StatedTotals(entry_count=6, net_amount=Decimal("169.95"))


@needs_data
def test_camt054_v8_status_code_and_uetr() -> None:
    parsed = _load(POSTFINANCE_V8)
    assert parsed.version == "camt.054.001.08"
    assert re.search(r"<Sts>\s*<Cd>BOOK</Cd>\s*</Sts>", _raw(POSTFINANCE_V8))
    (entry,) = parsed.statements[0].entries
    (payment,) = entry.transactions
    assert (entry.amount, entry.status, payment.amount) == (Decimal("522.10"), "BOOK", Decimal("522.10"))
    assert payment.transaction_id == "b009c997-97b3-4a9c-803c-d645a7276bf0"  # Refs/UETR, there is no TxId
    assert parsed.warnings == ()


@needs_data
def test_camt053_v8_foreign_entry_amount_is_replaced_by_the_account_currency_amount() -> None:
    parsed = _load("camt053/viafintech/053__valid_example_v8.xml")
    third = parsed.statements[0].entries[2]
    # Ntry/Amt is EUR 20.97 on a CHF account; AmtDtls/InstdAmt is CHF 19.69
    assert (third.amount, third.currency, third.direction) == (Decimal("19.69"), "CHF", DEBIT)
    assert any("Ntry/Amt in a foreign currency; used the CHF amount" in w for w in parsed.warnings)
    assert third.transactions[0].exchange_rate == Decimal("0.9433")


@needs_data
def test_camt053_postfinance_v4_batches_charges_and_reversals() -> None:
    parsed = _load("camt053/viafintech/053__valid_example_v4.xml")
    entries = parsed.statements[0].entries
    assert len(entries) == 13
    # 1810.56 credits and 1272.95 debits, as the camt.053-only parser read them
    assert sum(e.amount for e in entries if e.direction == CREDIT) == Decimal("1810.56")
    assert sum(e.amount for e in entries if e.direction == DEBIT) == Decimal("1272.95")
    batch = entries[6]
    # Chrgs: 5.40 DBIT with ChrgInclInd false (billed apart), 0.20 CRDT DISC with ChrgInclInd true
    assert (batch.amount, batch.batch_count, batch.charges) == (Decimal("1000.00"), 10, Decimal("-0.20"))
    assert sum(t.amount or 0 for t in batch.transactions) == Decimal("1000.00")
    reversals = [(e.direction, e.amount) for e in entries if e.is_reversal]
    assert reversals == [(DEBIT, Decimal("6.00")), (DEBIT, Decimal("15.53"))]


@needs_data
def test_ing_reversal_counterparty_is_the_party_of_the_original_payment() -> None:
    entries = _load("camt053/svapnil-iso20022js/ing__example_camt.xml").statements[0].entries
    reversal = entries[8]
    # a returned direct debit: booked DBIT with RvslInd; the original was a credit, its debtor is not
    # given, the creditor (the account owner) is not the counterparty
    assert (reversal.direction, reversal.is_reversal, reversal.amount) == (DEBIT, True, Decimal("30.00"))
    assert reversal.counterparty_name is None
    assert reversal.transactions[0].return_reason == "MD06"


@needs_data
def test_lithuanian_balances_without_sign_and_entries_without_status() -> None:
    parsed = _load("camt053/subite-anonymized/LT_daily_053_v08/2024-03-07.xml")
    first = parsed.statements[0]
    assert (first.opening_balance, first.closing_balance) == (Decimal("21081222.58"), Decimal("21903960.39"))
    # 21081222.58 + 828531.98 - 0.2 - 5793.97 = 21903960.39
    assert first.opening_balance + first.credit_total - first.debit_total == first.closing_balance
    assert any("OPBD, CLBD without CdtDbtInd; assumed CRDT" in w for w in parsed.warnings)
    assert any("3 entries have no Sts; taken as booked" in w for w in parsed.warnings)
    batch = first.entries[0]
    assert (batch.batch_count, len(batch.transactions), batch.transactions[0].amount) == (
        86,
        1,
        Decimal("828531.98"),
    )


@needs_data
def test_camt052_intraday_report_with_previous_closing_and_closing_balance() -> None:
    parsed = _load("camt052/viafintech/052__valid_example.xml")
    assert (parsed.format, parsed.report_kind) == ("camt052", REPORT_INTRADAY)
    (report,) = parsed.statements
    assert report.label.startswith("intraday report 0352C5220131227110203/130000005")
    # PRCD 8.50 + 2.00 + 3.00 = CLBD 13.50
    assert (report.opening_balance, report.closing_balance) == (Decimal("8.50"), Decimal("13.50"))
    assert [(e.amount, e.direction) for e in report.entries] == [
        (Decimal("2.00"), CREDIT),
        (Decimal("3.00"), CREDIT),
    ]
    assert report.account_bic == "GENODEF1PFK"
    assert report.created_at == datetime(2013, 12, 27, 11, 1, 46, tzinfo=timezone(timedelta(hours=1)))


@needs_data
def test_camt052_closing_is_the_last_booked_interim_balance() -> None:
    relative = (
        "camt052/moov-iso20022/200519_camt.052_P_CH2909000000250094239_1110092686_0_2019042416072347.xml"
    )
    (report,) = _load(relative).statements
    assert (report.opening_balance, report.closing_balance) == (Decimal("208509.19"), Decimal("207596.19"))
    # the file's ITBD leaves out the first of its two debits: 208509.19 - 913.00 = 207596.19
    assert [e.amount for e in report.entries] == [Decimal("103.00"), Decimal("913.00")]


@needs_data
def test_camt052_totals_that_count_a_pending_entry_describe_the_booked_entries() -> None:
    parsed = _load(FINNISH_052)
    pending_only, booked = parsed.statements
    # Rpt 1: one PDNG entry of 2120.00, TxsSummry 1 entry, net 2120.00 CRDT: less the skipped entry
    assert pending_only.entries == ()
    assert pending_only.totals == StatedTotals(entry_count=0, net_amount=Decimal("0.00"))
    assert any("include the 1 entries that are not booked" in w for w in parsed.warnings)
    # Rpt 2: ITBD 1000.00 then ITBD 1100.00; one booked credit of 100.00
    assert (booked.stated_opening_balance, booked.closing_balance) == (None, Decimal("1100.00"))
    (entry,) = booked.entries
    assert (entry.amount, entry.customer_reference) == (Decimal("100.00"), "EndToEndIdSCT01")
    assert entry.transactions[0].creditor_reference == "RF98123456789012"
    assert booked.totals == StatedTotals(credit_count=1, credit_sum=Decimal("100.00"), entry_count=1)


@needs_data
def test_camt052_version_1_names_and_a_batch_without_details() -> None:
    parsed = _load("camt052/genkgo/camt052.v1.xml")
    assert parsed.version == "camt.052.001.01"
    (report,) = parsed.statements
    assert report.account_id == "CH2801234000123456789"  # Acct/Id/PrtryAcct/Id, v1 only
    (entry,) = report.entries
    # Btch/NbOfTxs 20, no TxDtls: one transaction, the entry itself
    assert (entry.batch_count, entry.customer_reference) == (20, "FINP-0055-001")
    (payment,) = entry.transactions
    assert (payment.amount, payment.direction, payment.account_servicer_reference) == (
        Decimal("200000"),
        DEBIT,
        "AAAASESS-FP-ACCR-01",
    )


@needs_data
def test_document_without_report_is_rejected_naming_the_container() -> None:
    with pytest.raises(BankFileError, match=r"<Document> has no BkToCstmrAcctRpt element: not a camt\.052"):
        _load("camt052/viafintech/052__valid_namespace.xml")
    stream = open_camt((DATA / "camt053/genkgo/camt053.v2.wrong.xml").open("rb"), "wrong.xml")
    with pytest.raises(BankFileError, match="BkToCstmrStmt contains no Stmt") as caught:
        materialize(stream)
    assert caught.value.file_name == "wrong.xml"


# --------------------------------------------------------------------------------------------------
# (3) Synthetic documents
# --------------------------------------------------------------------------------------------------


def _document(body: str, version: str = "camt.053.001.08", container: str = "BkToCstmrStmt") -> bytes:
    namespace = f' xmlns="urn:iso:std:iso:20022:tech:xsd:{version}"' if version else ""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><Document{namespace}><{container}>'
        f"<GrpHdr><MsgId>MSG-1</MsgId><CreDtTm>2024-01-02T10:00:00</CreDtTm></GrpHdr>{body}</{container}></Document>"
    ).encode()


def _balance(code: str, amount: str, sign: str | None = "CRDT", on: str = "2024-01-02") -> str:
    indicator = f"<CdtDbtInd>{sign}</CdtDbtInd>" if sign else ""
    return (
        f'<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">{amount}</Amt>{indicator}'
        f"<Dt><Dt>{on}</Dt></Dt></Bal>"
    )


def _entry(amount: str, sign: str = "CRDT", status: str = "<Sts><Cd>BOOK</Cd></Sts>", extra: str = "") -> str:
    return (
        f'<Ntry><Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>{sign}</CdtDbtInd>{status}'
        f"<BookgDt><Dt>2024-01-02</Dt></BookgDt>{extra}</Ntry>"
    )


def _statement(*parts: str, ident: str = "S1", tag: str = "Stmt") -> str:
    return (
        f"<{tag}><Id>{ident}</Id><ElctrncSeqNb>7</ElctrncSeqNb><LglSeqNb>3</LglSeqNb>"
        "<Acct><Id><IBAN>DE89370400440532013000</IBAN></Id><Ccy>EUR</Ccy>"
        "<Svcr><FinInstnId><BICFI>COBADEFFXXX</BICFI></FinInstnId></Svcr></Acct>"
        f"{''.join(parts)}</{tag}>"
    )


def test_head_fields() -> None:
    body = _statement(_balance("OPBD", "100.00"), _balance("CLBD", "150.00"), _entry("50.00"))
    parsed = _parse(_document(body))
    (statement,) = parsed.statements
    assert (statement.statement_id, statement.sequence, statement.legal_sequence) == ("S1", "7", "3")
    assert (statement.account_id, statement.account_bic, statement.currency) == (
        "DE89370400440532013000",
        "COBADEFFXXX",
        "EUR",
    )
    assert (statement.message_id, statement.created_at) == ("MSG-1", datetime(2024, 1, 2, 10, 0))
    assert (statement.opening_balance, statement.closing_balance) == (Decimal("100.00"), Decimal("150.00"))
    assert (statement.opening_date, statement.closing_date) == (date(2024, 1, 2), date(2024, 1, 2))
    assert parsed.warnings == ()


def test_document_without_namespace_is_read_by_element_names_with_a_warning() -> None:
    parsed = _parse(_document(_statement(_entry("1.00")), version=""))
    assert (parsed.format, parsed.version) == ("camt053", None)
    assert "no ISO 20022 namespace; parsed by element names" in parsed.warnings
    assert parsed.statements[0].entries[0].amount == Decimal("1.00")


def test_notification_without_namespace_is_told_by_its_container() -> None:
    body = _statement(_entry("1.00"), tag="Ntfctn")
    parsed = _parse(_document(body, version="", container="BkToCstmrDbtCdtNtfctn"))
    assert (parsed.format, parsed.report_kind) == ("camt054", REPORT_NOTIFICATION)


def test_unknown_version_is_read_with_a_warning() -> None:
    parsed = _parse(_document(_statement(_entry("1.00")), version="camt.053.001.15"))
    assert parsed.version == "camt.053.001.15"
    assert any("outside the known .01-.14" in w for w in parsed.warnings)


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"", "not well-formed XML"),
        (b"<html><body/></html>", "<html> is not a camt.052, camt.053 or camt.054 message"),
        (
            b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.03"><CstmrPmtStsRpt/></Document>',
            "is not a camt.052, camt.053 or camt.054 namespace",
        ),
        (
            b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrAcctRpt/></Document>',
            "<BkToCstmrAcctRpt> is a camt.052 message, but the namespace is",
        ),
    ],
)
def test_what_is_not_a_camt_message_is_rejected_when_opened(data: bytes, fragment: str) -> None:
    with pytest.raises(BankFileError, match=re.escape(fragment)) as caught:
        _open(data, "bad.xml")
    assert caught.value.file_name == "bad.xml"


def test_a_truncated_document_opens_and_fails_when_read() -> None:
    stream = _open(b"<Document><BkToCstmrStmt><Stmt><Id>S</Id>", "truncated.xml")
    assert stream.format == "camt053"
    with pytest.raises(BankFileError, match="not well-formed XML") as caught:
        materialize(stream)
    assert caught.value.file_name == "truncated.xml"


def test_malformed_xml_after_the_first_statement_fails_while_streaming() -> None:
    good = _statement(_entry("1.00"), ident="S1")
    data = _document(good + _statement(_entry("2.00"), ident="S2")).replace(
        b"</Stmt></BkToCstmrStmt>", b"</Ntry>"
    )
    stream = _open(data, "broken.xml")  # the head is fine
    first = next(stream.statements)
    assert [e.amount for e in first.entries()] == [Decimal("1.00")]
    with pytest.raises(BankFileError, match="not well-formed XML") as caught:
        for statement in stream.statements:
            list(statement.entries())
    assert caught.value.file_name == "broken.xml"


def test_entities_are_never_expanded_nor_fetched(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET")
    doctype = (
        f'<!DOCTYPE Document [<!ENTITY xxe SYSTEM "file://{secret}"><!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
    )
    extra = "<NtryDtls><TxDtls><RmtInf><Ustrd>A&xxe;B&lol2;C</Ustrd></RmtInf></TxDtls></NtryDtls>"
    data = _document(_statement(_entry("1.00", extra=extra))).replace(
        b"<Document", doctype.encode() + b"<Document", 1
    )
    parsed = _parse(data)
    text = parsed.statements[0].entries[0].remittance_info or ""
    assert "TOPSECRET" not in text and "lol" not in text
    assert text.startswith("A")


@pytest.mark.parametrize(
    ("entry", "fragment"),
    [
        (
            _entry("1,00"),
            "statement S1/7 of account DE89370400440532013000, Ntry 1, Amt: invalid amount '1,00'",
        ),
        (_entry("-1.00"), "Ntry 1, Amt: invalid amount '-1.00'"),
        (_entry("1.00", sign="CRED"), "Ntry 1: CdtDbtInd must be CRDT or DBIT, not 'CRED'"),
        (_entry("1.00").replace("2024-01-02", "2024-02-30"), "Ntry 1, BookgDt: invalid date '2024-02-30'"),
        (
            _entry("1.00", extra="<NtryDtls><TxDtls><CdtDbtInd>X</CdtDbtInd></TxDtls></NtryDtls>"),
            "Ntry 1, TxDtls 1: CdtDbtInd must be CRDT or DBIT, not 'X'",
        ),
        (
            _entry("1.00", extra="<NtryDtls><Btch><NbOfTxs>two</NbOfTxs></Btch></NtryDtls>"),
            "Ntry 1, Btch/NbOfTxs: invalid count 'two'",
        ),
        (_balance("CLBD", "1.0.0"), "balance CLBD, Amt: invalid amount '1.0.0'"),
        (
            _entry(
                "1.00",
                extra='<Chrgs><Rcrd><Amt Ccy="EUR">1</Amt><ChrgInclInd>yes</ChrgInclInd></Rcrd></Chrgs>',
            ),
            "Ntry 1, Chrgs/ChrgInclInd: invalid boolean 'yes'",
        ),
        (
            _entry(
                "1.00",
                extra="<AmtDtls><InstdAmt><CcyXchg><XchgRate>1,5</XchgRate></CcyXchg></InstdAmt></AmtDtls>",
            ),
            "Ntry 1, AmtDtls/InstdAmt/CcyXchg: invalid XchgRate '1,5'",
        ),
    ],
)
def test_unreadable_values_are_bank_file_errors_naming_report_entry_and_value(
    entry: str, fragment: str
) -> None:
    with pytest.raises(BankFileError) as caught:
        _parse(_document(_statement(entry)), "values.xml")
    assert fragment in caught.value.reason
    assert caught.value.file_name == "values.xml"


def test_missing_statement_id_and_account_are_errors() -> None:
    without_id = _statement(_entry("1.00")).replace("<Id>S1</Id>", "")
    with pytest.raises(BankFileError, match=r"Stmt #1: missing Stmt/Id"):
        _parse(_document(without_id))
    without_account = _statement(_entry("1.00")).replace("<IBAN>DE89370400440532013000</IBAN>", "")
    with pytest.raises(BankFileError, match="statement S1: missing Acct/Id"):
        _parse(_document(without_account))


def test_balance_in_another_currency_is_an_error() -> None:
    body = _statement(_balance("CLBD", "1.00").replace('Ccy="EUR"', 'Ccy="SEK"'), _entry("1.00"))
    with pytest.raises(BankFileError, match="CLBD balance is in SEK, but the account currency is EUR"):
        _parse(_document(body))


def test_pending_entries_are_skipped_and_missing_status_taken_as_booked() -> None:
    body = _statement(
        _entry("1.00", status="<Sts><Cd>PDNG</Cd></Sts>"),
        _entry("2.00", status=""),
        _entry("3.00", status="<Sts>book</Sts>"),
        _entry("4.00", status="<Sts>INFO</Sts>"),
        _entry("5.00", status="<Sts><Cd>PDNG</Cd></Sts>"),
    )
    parsed = _parse(_document(body))
    assert [(e.entry_seq, e.amount) for e in parsed.statements[0].entries] == [
        (1, Decimal("2.00")),
        (2, Decimal("3.00")),
    ]
    assert (
        "statement S1/7 of account DE89370400440532013000: 1 entries have no Sts; taken as booked"
        in parsed.warnings
    )
    assert any("skipped 2 entries with status PDNG (not booked)" in w for w in parsed.warnings)
    assert any("skipped 1 entries with status INFO (not booked)" in w for w in parsed.warnings)


def test_totals_that_count_only_booked_entries_are_kept_as_stated() -> None:
    summary = "<TxsSummry><TtlNtries><NbOfNtries>1</NbOfNtries></TtlNtries></TxsSummry>"
    body = _statement(summary, _entry("2.00"), _entry("1.00", status="<Sts><Cd>PDNG</Cd></Sts>"))
    parsed = _parse(_document(body))
    assert parsed.statements[0].totals == StatedTotals(entry_count=1)
    assert not any("include the" in w for w in parsed.warnings)


def test_stated_totals_v4_and_v2_forms() -> None:
    v4 = (
        "<TxsSummry><TtlNtries><NbOfNtries>2</NbOfNtries><Sum>3.00</Sum>"
        "<TtlNetNtry><Amt>1.00</Amt><CdtDbtInd>DBIT</CdtDbtInd></TtlNetNtry></TtlNtries>"
        "<TtlCdtNtries><NbOfNtries>1</NbOfNtries><Sum>1.00</Sum></TtlCdtNtries>"
        "<TtlDbtNtries><NbOfNtries>1</NbOfNtries><Sum>2.00</Sum></TtlDbtNtries></TxsSummry>"
    )
    expected = StatedTotals(1, Decimal("1.00"), 1, Decimal("2.00"), 2, Decimal("-1.00"))
    assert _parse(_document(_statement(v4))).statements[0].totals == expected
    v2 = (
        "<TxsSummry><TtlNtries><NbOfNtries>2</NbOfNtries><TtlNetNtryAmt>1.00</TtlNetNtryAmt>"
        "<CdtDbtInd>CRDT</CdtDbtInd></TtlNtries></TxsSummry>"
    )
    parsed = _parse(_document(_statement(v2), version="camt.053.001.02"))
    assert parsed.statements[0].totals == StatedTotals(entry_count=2, net_amount=Decimal("1.00"))
    unreadable = "<TxsSummry><TtlCdtNtries><NbOfNtries>x</NbOfNtries><Sum>-1</Sum></TtlCdtNtries></TxsSummry>"
    parsed = _parse(_document(_statement(unreadable)))
    assert parsed.statements[0].totals is None
    assert sum("unreadable TxsSummry" in w for w in parsed.warnings) == 2


def test_balance_without_sign_that_reconciles_loads_with_a_warning_else_is_ambiguous() -> None:
    def data(opening: str) -> bytes:
        return _document(
            _statement(
                _balance("OPBD", opening, sign=None), _balance("CLBD", "80.00"), _entry("20.00", "DBIT")
            )
        )

    parsed = _parse(data("100.00"))  # taken as a credit: 100.00 - 20.00 = 80.00
    assert any("balance OPBD without CdtDbtInd; assumed CRDT (positive)" in w for w in parsed.warnings)
    stream = _open(data("60.00"), "ambiguous.xml")  # 60.00 - 20.00 != 80.00
    statement = next(stream.statements)
    with pytest.raises(BankFileError, match="the sign is ambiguous because OPBD had no CdtDbtInd") as caught:
        list(statement.entries())
    assert (
        "opening 60.00 + credits 0 - debits 20.00 = 40.00, but closing balance is 80.00"
        in caught.value.reason
    )
    assert caught.value.file_name == "ambiguous.xml"


def test_opening_falls_back_to_the_previous_closing_and_dates_to_value_date() -> None:
    no_booking_date = (
        '<Ntry><Amt Ccy="EUR">5.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>'
        "<ValDt><DtTm>2024-01-03T23:30:00-05:00</DtTm></ValDt></Ntry>"
    )
    body = _statement(_balance("PRCD", "1.00", on="2024-01-01"), _balance("CLBD", "6.00"), no_booking_date)
    parsed = _parse(_document(body))
    (statement,) = parsed.statements
    assert (statement.opening_balance, statement.opening_date) == (Decimal("1.00"), date(2024, 1, 1))
    entry = statement.entries[0]
    assert (entry.booking_date, entry.value_date) == (date(2024, 1, 3), date(2024, 1, 3))  # as written
    assert any("1 entries have no BookgDt; used ValDt" in w for w in parsed.warnings)


def test_currency_from_the_first_entry_when_account_and_balances_have_none() -> None:
    body = _statement(_entry("1.00").replace("EUR", "CHF"), tag="Ntfctn").replace("<Ccy>EUR</Ccy>", "")
    (statement,) = _parse(
        _document(body, version="camt.054.001.08", container="BkToCstmrDbtCdtNtfctn")
    ).statements
    assert statement.currency == "CHF"
    assert statement.entries[0].currency == "CHF"


_DETAILED = """<Ntry><NtryRef>NR-1</NtryRef><Amt Ccy="EUR">300.00</Amt><CdtDbtInd>DBIT</CdtDbtInd>
<RvslInd>true</RvslInd><Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>2024-01-02</Dt></BookgDt>
<ValDt><Dt>2024-01-03</Dt></ValDt><AcctSvcrRef>ASR-1</AcctSvcrRef>
<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn>
<Prtry><Cd>NTRF+166</Cd></Prtry></BkTxCd>
<Chrgs><TtlChrgsAndTaxAmt Ccy="EUR">9.99</TtlChrgsAndTaxAmt>
 <Rcrd><Amt Ccy="EUR">2.50</Amt><CdtDbtInd>DBIT</CdtDbtInd><ChrgInclInd>true</ChrgInclInd><Br>SHAR</Br></Rcrd>
 <Rcrd><Amt Ccy="EUR">1.00</Amt></Rcrd>
 <Rcrd><Amt Ccy="EUR">0.50</Amt><CdtDbtInd>CRDT</CdtDbtInd></Rcrd>
 <Rcrd><Amt Ccy="EUR">7.00</Amt><ChrgInclInd>false</ChrgInclInd></Rcrd>
 <Rcrd><Amt Ccy="USD">3.00</Amt></Rcrd></Chrgs>
<NtryDtls><Btch><MsgId>B</MsgId><PmtInfId>PMT-INF</PmtInfId><NbOfTxs>2</NbOfTxs></Btch>
<TxDtls><Refs><InstrId>INSTR-1</InstrId><EndToEndId>E2E-1</EndToEndId><TxId>TX-1</TxId><MndtId>M-1</MndtId>
  <AcctSvcrRef>TX-ASR-1</AcctSvcrRef></Refs>
  <Amt Ccy="USD">330.00</Amt><CdtDbtInd>DBIT</CdtDbtInd>
  <AmtDtls><InstdAmt><Amt Ccy="USD">330.00</Amt><CcyXchg><SrcCcy>USD</SrcCcy><TrgtCcy>EUR</TrgtCcy>
   <XchgRate>0.6060606061</XchgRate></CcyXchg></InstdAmt><TxAmt><Amt Ccy="EUR">200.00</Amt></TxAmt></AmtDtls>
  <Chrgs><Rcrd><Amt Ccy="EUR">1.25</Amt><Br>DEBT</Br></Rcrd></Chrgs>
  <RltdPties><Dbtr><Pty><Nm>Debtor  One</Nm></Pty></Dbtr>
   <DbtrAcct><Id><IBAN>DE02100100109307118603</IBAN></Id></DbtrAcct>
   <UltmtDbtr><Pty><Nm>Ultimate Debtor</Nm></Pty></UltmtDbtr>
   <Cdtr><Pty><Nm>Creditor Two</Nm></Pty></Cdtr><CdtrAcct><Id><Othr><Id>ACC-2</Id></Othr></Id></CdtrAcct>
   <UltmtCdtr><Nm>Ultimate Creditor</Nm></UltmtCdtr></RltdPties>
  <RltdAgts><DbtrAgt><FinInstnId><BICFI>DEUTDEFFXXX</BICFI></FinInstnId></DbtrAgt></RltdAgts>
  <RmtInf><Ustrd>Invoice 1</Ustrd><Ustrd>and 2</Ustrd>
   <Strd><RfrdDocInf><Nb>INV-1</Nb></RfrdDocInf><RfrdDocInf><Nb>INV-2</Nb></RfrdDocInf>
    <CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry></Tp><Ref>RF18539007547034</Ref></CdtrRefInf></Strd></RmtInf>
  <RtrInf><Rsn><Prtry>X1</Prtry></Rsn><AddtlInf>returned</AddtlInf></RtrInf>
  <AddtlTxInf>tx info</AddtlTxInf></TxDtls>
<TxDtls><Refs><EndToEndId>NOTPROVIDED</EndToEndId></Refs><CdtDbtInd>DBIT</CdtDbtInd>
  <BkTxCd><Prtry><Cd>OWN</Cd></Prtry></BkTxCd></TxDtls></NtryDtls>
<AddtlNtryInf>entry info</AddtlNtryInf></Ntry>"""


def test_every_field_of_a_detailed_batch_entry() -> None:
    parsed = _parse(_document(_statement(_DETAILED)))
    (entry,) = parsed.statements[0].entries
    assert (entry.amount, entry.direction, entry.is_reversal) == (Decimal("300.00"), DEBIT, True)
    assert (entry.booking_date, entry.value_date) == (date(2024, 1, 2), date(2024, 1, 3))
    # the only end-to-end id among the payments (the second's is NOTPROVIDED), not the batch's PmtInfId
    assert (entry.bank_reference, entry.entry_reference, entry.customer_reference) == (
        "ASR-1",
        "NR-1",
        "E2E-1",
    )
    assert (entry.domain_code, entry.family_code, entry.sub_family_code, entry.proprietary_code) == (
        "PMNT",
        "RCDT",
        "ESCT",
        "NTRF+166",
    )
    assert entry.transaction_code == "PMNT/RCDT/ESCT"
    # included records: 2.50 + 1.00 (no indicator) - 0.50 (CRDT) = 3.00; 7.00 billed apart, USD 3.00 foreign
    assert entry.charges == Decimal("3.00")
    assert any("1 charge records are not in EUR" in w for w in parsed.warnings)
    assert (entry.batch_count, entry.additional_info, entry.status) == (2, "entry info", "BOOK")
    assert entry.remittance_info == "Invoice 1 and 2 RF18539007547034 INV-1 INV-2"  # AddtlTxInf only without
    # only the first payment names parties, so they are the entry's
    assert (entry.counterparty_name, entry.counterparty_account) == ("Debtor One", "DE02100100109307118603")
    first, second = entry.transactions
    # booked DBIT with RvslInd: it undoes a credit, whose counterparty is the debtor (name normalized)
    assert (first.counterparty_name, first.counterparty_account) == ("Debtor One", "DE02100100109307118603")
    assert first.counterparty_bic == "DEUTDEFFXXX"
    assert (first.ultimate_debtor, first.ultimate_creditor) == ("Ultimate Debtor", "Ultimate Creditor")
    assert (first.amount, first.direction) == (Decimal("200.00"), DEBIT)  # TxDtls/Amt is USD: TxAmt in EUR
    assert (first.instructed_amount, first.instructed_currency, first.exchange_rate) == (
        Decimal("330.00"),
        "USD",
        Decimal("0.6060606061"),
    )
    assert (first.end_to_end_id, first.instruction_id, first.transaction_id, first.mandate_id) == (
        "E2E-1",
        "INSTR-1",
        "TX-1",
        "M-1",
    )
    assert first.account_servicer_reference == "TX-ASR-1"
    assert (first.remittance_unstructured, first.creditor_reference, first.creditor_reference_type) == (
        "Invoice 1 and 2",
        "RF18539007547034",
        "SCOR",
    )
    assert first.referred_documents == ("INV-1", "INV-2")
    assert (first.charges, first.charge_bearer) == (Decimal("1.25"), "DEBT")
    assert (first.return_reason, first.additional_info) == ("X1", "tx info | returned")
    assert (first.domain_code, first.proprietary_code) == ("PMNT", "NTRF+166")  # inherited from the entry
    # the second detail has no amount (a batch: not the entry's), a placeholder reference, its own code
    assert (second.tx_seq, second.amount, second.end_to_end_id) == (2, None, None)
    assert (second.domain_code, second.proprietary_code) == (None, "OWN")


def test_counterparty_is_the_debtor_of_a_credit_and_the_creditor_of_a_debit() -> None:
    parties = (
        "<NtryDtls><TxDtls><RltdPties><Dbtr><Nm>Payer</Nm></Dbtr><Cdtr><Nm>Payee</Nm></Cdtr></RltdPties>"
        "</TxDtls></NtryDtls>"
    )
    reversal = "<RvslInd>true</RvslInd>"
    body = _statement(
        _entry("1.00", "CRDT", extra=parties),
        _entry("1.00", "DBIT", extra=parties),
        _entry("1.00", "CRDT", status=reversal + "<Sts>BOOK</Sts>", extra=parties),
        _entry("1.00", "DBIT", status=reversal + "<Sts>BOOK</Sts>", extra=parties),
    )
    entries = _parse(_document(body)).statements[0].entries
    assert [(e.direction, e.is_reversal, e.counterparty_name) for e in entries] == [
        (CREDIT, False, "Payer"),
        (DEBIT, False, "Payee"),
        (CREDIT, True, "Payee"),  # undoes a debit: the creditor of that debit
        (DEBIT, True, "Payer"),  # undoes a credit: its debtor
    ]
    assert [e.transactions[0].amount for e in entries] == [Decimal("1.00")] * 4  # one payment each


def test_entry_without_details_is_its_own_transaction() -> None:
    extra = (
        "<AcctSvcrRef>ASR</AcctSvcrRef><BkTxCd><Prtry><Cd>NMSC+051</Cd></Prtry></BkTxCd>"
        '<Chrgs><Rcrd><Amt Ccy="EUR">0.10</Amt><Br>CRED</Br></Rcrd></Chrgs>'
        '<AmtDtls><InstdAmt><Amt Ccy="GBP">8.00</Amt><CcyXchg><XchgRate>1.25</XchgRate></CcyXchg></InstdAmt></AmtDtls>'
        "<AddtlNtryInf>card payment</AddtlNtryInf>"
    )
    (entry,) = _parse(_document(_statement(_entry("10.00", "DBIT", extra=extra)))).statements[0].entries
    (payment,) = entry.transactions
    assert (payment.tx_seq, payment.amount, payment.direction) == (1, Decimal("10.00"), DEBIT)
    assert (payment.account_servicer_reference, payment.remittance_unstructured) == ("ASR", "card payment")
    assert (payment.proprietary_code, payment.charges, payment.charge_bearer) == (
        "NMSC+051",
        Decimal("0.10"),
        "CRED",
    )
    assert (payment.instructed_amount, payment.instructed_currency, payment.exchange_rate) == (
        Decimal("8.00"),
        "GBP",
        Decimal("1.25"),
    )
    assert (entry.remittance_info, entry.transaction_code, entry.charges) == (
        "card payment",
        "NMSC+051",
        Decimal("0.10"),
    )


def test_version_1_and_2_element_names() -> None:
    v1_entry = (
        '<Ntry><Amt Ccy="EUR">5.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>'
        "<BookgDt><Dt>2024-01-02</Dt></BookgDt><Btch><PmtInfId>P</PmtInfId><NbOfTxs>1</NbOfTxs></Btch>"
        '<TxDtls><AmtDtls><TxAmt><Amt Ccy="EUR">5.00</Amt></TxAmt></AmtDtls>'
        "<RltdPties><Dbtr><Nm>Old Payer</Nm></Dbtr><DbtrAcct><Id><BBAN>12345</BBAN></Id></DbtrAcct></RltdPties>"
        "<RltdAgts><DbtrAgt><FinInstnId><BIC>OLDBICXX</BIC></FinInstnId></DbtrAgt></RltdAgts>"
        "<RmtInf><Strd><RfrdDocInf><RfrdDocNb>DOC-9</RfrdDocNb></RfrdDocInf>"
        "<CdtrRefInf><CdtrRefTp><Cd>SCOR</Cd></CdtrRefTp><CdtrRef>RF47REF</CdtrRef></CdtrRefInf></Strd></RmtInf>"
        "<RtrInf><RtrRsn><Cd>AC06</Cd></RtrRsn><AddtlRtrRsnInf>blocked</AddtlRtrRsnInf></RtrInf></TxDtls></Ntry>"
    )
    balance = (
        '<Bal><Tp><Cd>CLBD</Cd></Tp><Amt Ccy="EUR">5.00</Amt><CdtDbtInd>CRDT</CdtDbtInd>'
        "<Dt><Dt>2024-01-02</Dt></Dt></Bal>"
    )
    body = _statement(balance, v1_entry).replace(
        "<IBAN>DE89370400440532013000</IBAN>", "<PrtryAcct><Id>P-1</Id></PrtryAcct>"
    )
    body = body.replace("<BICFI>COBADEFFXXX</BICFI>", "<BIC>COBADEFF</BIC>")
    parsed = _parse(_document(body, version="camt.053.001.01", container="BkToCstmrStmtV01"))
    (statement,) = parsed.statements
    assert (parsed.version, statement.account_id, statement.account_bic, statement.closing_balance) == (
        "camt.053.001.01",
        "P-1",
        "COBADEFF",
        Decimal("5.00"),
    )
    (entry,) = statement.entries
    (payment,) = entry.transactions
    assert (
        payment.amount,
        payment.counterparty_name,
        payment.counterparty_account,
        payment.counterparty_bic,
    ) == (
        Decimal("5.00"),
        "Old Payer",
        "12345",
        "OLDBICXX",
    )
    assert (payment.creditor_reference, payment.creditor_reference_type, payment.referred_documents) == (
        "RF47REF",
        "SCOR",
        ("DOC-9",),
    )
    assert (payment.return_reason, payment.additional_info) == ("AC06", "blocked")
    assert (entry.batch_count, entry.customer_reference) == (1, "P")


def test_reports_are_lazy_and_can_be_skipped() -> None:
    body = "".join(
        _statement(_balance("OPBD", "0.00"), _balance("CLBD", f"{i}.00"), _entry(f"{i}.00"), ident=f"S{i}")
        for i in (1, 2, 3)
    )
    stream = _open(_document(body))
    first = next(stream.statements)
    assert first.head.statement_id == "S1"
    assert first.tail.closing is not None and first.tail.closing.amount == Decimal("1.00")  # entries not read
    second = next(stream.statements)
    assert second.head.statement_id == "S2"
    third = next(stream.statements)  # the second's entries were never asked for
    assert [e.amount for e in third.entries()] == [Decimal("3.00")]
    assert third.tail.closing is not None and third.tail.closing.amount == Decimal("3.00")
    assert next(stream.statements, None) is None


def test_a_defect_in_the_parser_propagates(monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(*args: object, **kwargs: object) -> None:
        raise KeyError("a parser bug")

    monkeypatch.setattr(camt_entries, "build_entry", crash)
    stream = _open(_document(_statement(_entry("1.00"))))
    with pytest.raises(KeyError, match="a parser bug"):
        materialize(stream)


# --------------------------------------------------------------------------------------------------
# (4) Property: random camt.053 documents of every version give back what was put in
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Payment:
    amount: Decimal
    end_to_end: str | None
    payer: str
    payee: str
    remittance: str
    reference: str | None


@dataclass(frozen=True)
class _Entry:
    amount: Decimal
    credit: bool
    reversal: bool
    status: str | None
    payments: tuple[_Payment, ...]


_AMOUNTS = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999.99"), places=2)
_WORDS = st.from_regex(r"[A-Za-z0-9]{1,10}", fullmatch=True)
_PAYMENTS = st.builds(
    _Payment,
    amount=_AMOUNTS,
    end_to_end=st.one_of(st.none(), st.just("NOTPROVIDED"), _WORDS.map(lambda w: "E2E-" + w)),
    payer=_WORDS.map(lambda w: "Payer " + w),
    payee=_WORDS.map(lambda w: "Payee " + w),
    remittance=_WORDS,
    reference=st.one_of(st.none(), _WORDS.map(lambda w: "RF" + w)),
)
_ENTRIES = st.builds(
    _Entry,
    amount=_AMOUNTS,
    credit=st.booleans(),
    reversal=st.booleans(),
    status=st.sampled_from(["BOOK", "BOOK", "BOOK", "PDNG", None]),
    payments=st.lists(_PAYMENTS, max_size=3).map(tuple),
)


def _build(version: int, namespaced: bool, opening: Decimal, reports: list[list[_Entry]]) -> bytes:
    """A camt.053 document of one version, built element by element with lxml."""
    namespace = f"urn:iso:std:iso:20022:tech:xsd:camt.053.001.{version:02d}"

    def q(tag: str) -> str:
        return f"{{{namespace}}}{tag}" if namespaced else tag

    def add(parent: etree._Element, path: str, text: str | None = None, **attributes: str) -> etree._Element:
        element = parent
        for tag in path.split("/"):
            element = etree.SubElement(element, q(tag), attributes if tag == path.split("/")[-1] else {})
        element.text = text
        return element

    def party(parent: etree._Element, role: str, name: str) -> None:
        add(parent, f"{role}/Pty/Nm" if version >= 7 else f"{role}/Nm", name)

    root = etree.Element(q("Document"), nsmap={None: namespace} if namespaced else None)
    container = add(root, "BkToCstmrStmtV01" if version == 1 else "BkToCstmrStmt")
    add(container, "GrpHdr/MsgId", "M")
    for number, entries in enumerate(reports, start=1):
        statement = add(container, "Stmt")
        add(statement, "Id", f"S{number}")
        account = add(statement, "Acct")
        add(account, "Id/IBAN", "DE89370400440532013000")
        add(account, "Ccy", "EUR")
        booked = [e for e in entries if e.status != "PDNG"]
        closing = opening + sum((e.amount if e.credit else -e.amount for e in booked), Decimal(0))
        for code, value in (("OPBD", opening), ("CLBD", closing)):
            balance = add(statement, "Bal")
            add(balance, "Tp/Cd" if version == 1 else "Tp/CdOrPrtry/Cd", code)
            add(balance, "Amt", str(abs(value)), Ccy="EUR")
            add(balance, "CdtDbtInd", "CRDT" if value >= 0 else "DBIT")
            add(balance, "Dt/Dt", "2024-01-31")
        for entry in entries:
            ntry = add(statement, "Ntry")
            add(ntry, "Amt", str(entry.amount), Ccy="EUR")
            add(ntry, "CdtDbtInd", "CRDT" if entry.credit else "DBIT")
            if entry.reversal:
                add(ntry, "RvslInd", "true")
            if entry.status:
                add(ntry, "Sts/Cd" if version >= 7 else "Sts", entry.status)
            add(ntry, "BookgDt/Dt", "2024-01-15")
            holder = ntry if version == 1 else (add(ntry, "NtryDtls") if entry.payments else None)
            for payment in entry.payments:
                tx = add(holder, "TxDtls")  # type: ignore[arg-type]
                if payment.end_to_end is not None:
                    add(tx, "Refs/EndToEndId", payment.end_to_end)
                if version >= 3:
                    add(tx, "Amt", str(payment.amount), Ccy="EUR")
                else:
                    add(tx, "AmtDtls/TxAmt/Amt", str(payment.amount), Ccy="EUR")
                parties = add(tx, "RltdPties")
                party(parties, "Dbtr", payment.payer)
                party(parties, "Cdtr", payment.payee)
                remittance = add(tx, "RmtInf")
                add(remittance, "Ustrd", payment.remittance)
                if payment.reference:
                    credit_reference = add(remittance, "Strd/CdtrRefInf")
                    add(credit_reference, "CdtrRef" if version == 1 else "Ref", payment.reference)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    version=st.integers(min_value=1, max_value=14),
    namespaced=st.booleans(),
    opening=st.decimals(min_value=Decimal("-99999.99"), max_value=Decimal("99999.99"), places=2),
    reports=st.lists(st.lists(_ENTRIES, max_size=5), min_size=1, max_size=3),
)
def test_random_camt053_documents_give_back_what_was_put_in(
    version: int, namespaced: bool, opening: Decimal, reports: list[list[_Entry]]
) -> None:
    parsed = _parse(_build(version, namespaced, opening, reports))
    assert (parsed.format, parsed.version) == (
        "camt053",
        f"camt.053.001.{version:02d}" if namespaced else None,
    )
    assert len(parsed.statements) == len(reports)
    for statement, entries in zip(parsed.statements, reports, strict=True):
        booked = [e for e in entries if e.status != "PDNG"]
        assert statement.opening_balance == opening
        assert (
            statement.opening_balance + statement.credit_total - statement.debit_total
            == statement.closing_balance
        )
        assert [(e.amount, e.direction == CREDIT, e.is_reversal) for e in statement.entries] == [
            (e.amount, e.credit, e.reversal) for e in booked
        ]
        for got, put in zip(statement.entries, booked, strict=True):
            if not put.payments:
                assert [(t.amount, t.direction) for t in got.transactions] == [(got.amount, got.direction)]
                continue
            single = len(put.payments) == 1
            original_credit = put.credit != put.reversal
            assert [
                (
                    t.amount,
                    t.direction,
                    t.end_to_end_id,
                    t.counterparty_name,
                    t.remittance_unstructured,
                    t.creditor_reference,
                )
                for t in got.transactions
            ] == [
                (
                    p.amount,
                    CREDIT if put.credit else DEBIT,
                    None if p.end_to_end in (None, "NOTPROVIDED") else p.end_to_end,
                    p.payer if original_credit else p.payee,
                    p.remittance,
                    p.reference,
                )
                for p in put.payments
            ]
            if single:
                (p,) = put.payments
                assert got.counterparty_name == (p.payer if original_credit else p.payee)
    missing = sum(1 for entries in reports for e in entries if e.status is None)
    assert any("have no Sts" in w for w in parsed.warnings) == bool(missing)


@pytest.mark.parametrize(
    "relative", [POSTFINANCE_ES, POSTFINANCE_RETURN, POSTFINANCE_V8, FINNISH_054, FINNISH_052]
)
def test_entries_built_without_init_equal_those_built_by_the_model(relative: str) -> None:
    """Entries and transactions are filled through their instance dictionaries (``new_entry``,
    ``new_transaction``): rebuilt through the dataclasses' ``__init__`` they are the same objects, with no
    attribute more or less."""
    parsed = _load(relative)
    entries = [entry for statement in parsed.statements for entry in statement.entries]
    assert entries
    for entry in entries:
        rebuilt_txs = tuple(dataclasses.replace(tx) for tx in entry.transactions)
        for tx, rebuilt_tx in zip(entry.transactions, rebuilt_txs, strict=True):
            assert vars(tx) == vars(rebuilt_tx) and repr(tx) == repr(rebuilt_tx)
        rebuilt = dataclasses.replace(entry, transactions=rebuilt_txs)
        assert rebuilt == entry and hash(rebuilt) == hash(entry) and repr(rebuilt) == repr(entry)
        assert vars(rebuilt) == vars(entry)


def test_blank_texts_read_the_same_pretty_printed_or_not() -> None:
    """The streaming pass drops blank text between elements; a blank leaf keeps reading as absent and a
    value with its surrounding blanks as the stripped value, indented or not."""
    entry = _entry(
        "  50.00  ",
        extra=(
            "<NtryRef>   </NtryRef><AcctSvcrRef>\n  REF-1 \n</AcctSvcrRef>"
            "<AddtlNtryInf>  two   words </AddtlNtryInf>"
        ),
    )
    body = _statement(_balance("OPBD", "100.00"), _balance("CLBD", "150.00"), entry)
    flat = _parse(_document(body))
    indented = _parse(etree.tostring(etree.fromstring(_document(body)), pretty_print=True))
    (first,) = flat.statements[0].entries
    assert (first.amount, first.entry_reference, first.bank_reference, first.additional_info) == (
        Decimal("50.00"),
        None,
        "REF-1",
        "two words",
    )
    assert indented.statements == flat.statements and indented.warnings == flat.warnings
