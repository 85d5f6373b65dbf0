"""Bank intake end to end on a real PostgreSQL: the resolved path of each outcome of a file.

- bad data (a ``BankFileError``): the file is quarantined with a reason file, nothing of it is visible;
- a defect (any other exception, injected into the real parser): the run fails naming the file, nothing of
  it is landed or recorded, it stays in the inbox, the other files still land, and a retry after the fix
  loads it;
- the nightly's intake task lands the inbox for the latest night only; two intakes at once land each file
  once;
- files land through the landing layer (``land_batch``): a statement's identity is its key, so the same
  statement in another file, or the same file again, adds nothing; ``ops.load_log`` logs each file's
  batch; a file that fails half-way through landing leaves nothing landed; rows landed before statement
  keys existed are keyed at start-up like new ones.

Each test gets its own database on the session's server and its own inbox, so it neither sees nor leaves
rows for the other integration tests.
"""

from __future__ import annotations

import dataclasses
import hashlib
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from o2c import pipeline
from o2c.config import Settings
from o2c.sources.bank import ingest as bank_ingest
from o2c.sources.bank.ingest import BankIngest, BankIngestError, statement_key
from o2c.sources.bank.model import ParsedBankFile
from o2c.sources.bank.mt940 import statements as mt940_statements
from o2c.sources.bank.parse import parse_bank_file
from o2c.warehouse.bootstrap import ensure_schema

pytestmark = pytest.mark.integration

_MT940 = """:20:STMT{n}
:25:NL91ABNA0417164300
:28C:{n}/1
:60F:C240101EUR100,00
:61:2401020102C50,00NTRFINV-{n}//B{n}
:86:/EREF/INV-{n}/NAME/ACME BV/IBAN/DE89370400440532013000/REMI/Invoice {n}
:61:2401020102D20,00NTRFNONREF
:86:Card payment
:62F:C240102EUR{closing}
-
"""

_CAMT = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt>
<GrpHdr><MsgId>M1</MsgId><CreDtTm>2024-01-02T10:00:00</CreDtTm></GrpHdr>
<Stmt><Id>CAMT-1</Id><Acct><Id><IBAN>DE89370400440532013000</IBAN></Id><Ccy>EUR</Ccy></Acct>
<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">100.00</Amt>
<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2024-01-01</Dt></Dt></Bal>
<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">80.00</Amt>
<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2024-01-02</Dt></Dt></Bal>
<Ntry><Amt Ccy="EUR">20.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>
<BookgDt><Dt>2024-01-02</Dt></BookgDt></Ntry>
</Stmt></BkToCstmrStmt></Document>"""


def mt940(n: int, closing: str = "130,00") -> bytes:
    return _MT940.format(n=n, closing=closing).encode()


def drop(settings: Settings, name: str, content: bytes) -> Path:
    path = settings.bank_inbox / name
    path.write_bytes(content)
    return path


def landed(settings: Settings, name: str) -> dict[str, Any]:
    """What the warehouse holds of one file: rows per raw table, its ops.bank_files record."""
    assert settings.warehouse_url
    with psycopg.connect(settings.warehouse_url, autocommit=True) as conn:
        source = f"bank-file:{name}"
        rows = {
            table: conn.execute(
                f"select count(*) from raw_bank.{table} where _source = %s", (source,)
            ).fetchone()[0]
            for table in ("statements", "entries")
        }
        record = conn.execute(
            "select status, reason, first_seen_at from ops.bank_files where file_name = %s", (name,)
        ).fetchone()
    return {**rows, "record": record}


def test_a_malformed_file_is_quarantined_with_a_reason_and_the_others_load(bank: Settings) -> None:
    drop(bank, "bad.sta", mt940(1, closing="130,01"))
    drop(bank, "good.sta", mt940(2))
    before = datetime.now(UTC)

    result = pipeline.ingest_bank_inbox(bank)

    assert (result["files"], result["loaded"], result["quarantined"]) == (2, 1, 1)
    assert result["loaded_files"] == ["good.sta"]
    (bad,) = result["quarantined_files"]
    assert bad["file"] == "bad.sta" and "closing balance is 130.01" in bad["reason"]
    kept = bank.quarantine_dir / "bank" / "bad.sta"
    assert kept.exists() and "closing balance is 130.01" in kept.with_name("bad.sta.reason.txt").read_text()
    assert not any(bank.bank_inbox.iterdir()), "every inbox file is archived or quarantined"
    quarantined, loaded = landed(bank, "bad.sta"), landed(bank, "good.sta")
    assert (quarantined["statements"], quarantined["entries"]) == (0, 0), "nothing of it is visible"
    assert quarantined["record"][:1] == ("quarantined",) and "130.01" in quarantined["record"][1]
    assert (loaded["statements"], loaded["entries"]) == (1, 2)
    assert loaded["record"][0] == "loaded" and loaded["record"][2] >= before, "when it landed is recorded"


def test_a_parser_defect_fails_the_run_naming_the_file_and_a_retry_after_the_fix_loads_it(
    bank: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    drop(bank, "A_crashes.sta", mt940(1))
    drop(bank, "B_camt.xml", _CAMT.encode())

    def defect(*args: object, **kwargs: object) -> None:
        raise KeyError("swift_status")

    monkeypatch.setattr(mt940_statements, "build_entry", defect)  # deep inside the real MT940 parser
    with pytest.raises(BankIngestError) as caught:
        pipeline.ingest_bank_inbox(bank)

    message = str(caught.value)
    assert "A_crashes.sta: KeyError: 'swift_status'" in message and "not quarantined" in message
    assert [name for name, _ in caught.value.failures] == ["A_crashes.sta"]
    assert [r.file for r in caught.value.results if r.status == "loaded"] == ["B_camt.xml"], "others load"
    assert isinstance(caught.value.__cause__, KeyError)
    assert (bank.bank_inbox / "A_crashes.sta").exists(), "left in the inbox for a retry"
    assert not (bank.quarantine_dir / "bank" / "A_crashes.sta").exists(), "a defect is not bad data"
    assert landed(bank, "A_crashes.sta") == {"statements": 0, "entries": 0, "record": None}

    monkeypatch.undo()  # the fix
    retry = pipeline.ingest_bank_inbox(bank)

    assert (retry["files"], retry["loaded"], retry["loaded_files"]) == (1, 1, ["A_crashes.sta"])
    after = landed(bank, "A_crashes.sta")
    assert (after["statements"], after["entries"], after["record"][0]) == (1, 2, "loaded")
    assert not any(bank.bank_inbox.iterdir())


def test_the_nightly_intake_task_lands_the_inbox_for_the_latest_night_only(bank: Settings) -> None:
    drop(bank, "late.sta", mt940(3))
    night_ending = datetime(2026, 7, 21, 18, 0, tzinfo=UTC)  # 02:00 Shanghai

    backfill = pipeline.ingest_bank_inbox(
        bank, night_ending=night_ending, now=night_ending + timedelta(days=3)
    )

    assert backfill["files"] == 0 and "not the latest" in backfill["skipped"]
    assert (bank.bank_inbox / "late.sta").exists(), "a backfill leaves later files to the intake"
    assert landed(bank, "late.sta")["record"] is None

    latest = pipeline.ingest_bank_inbox(
        bank, night_ending=night_ending, now=night_ending + timedelta(hours=7)
    )

    assert latest["loaded_files"] == ["late.sta"]


def test_two_intakes_at_once_land_each_file_once(bank: Settings) -> None:
    for n in range(10, 16):
        drop(bank, f"S{n}.sta", mt940(n))
    results: list[dict[str, Any]] = []
    errors: list[BaseException] = []

    def intake() -> None:
        try:
            results.append(pipeline.ingest_bank_inbox(bank))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=intake) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    assert sorted(name for r in results for name in r.get("loaded_files", [])) == [
        f"S{n}.sta" for n in range(10, 16)
    ]
    assert all(landed(bank, f"S{n}.sta")["entries"] == 2 for n in range(10, 16))


def query(settings: Settings, statement: str, *params: object) -> list[tuple[Any, ...]]:
    assert settings.warehouse_url
    with psycopg.connect(settings.warehouse_url, autocommit=True) as conn:
        return conn.execute(statement, params).fetchall()


def raw_counts(settings: Settings) -> tuple[int, int]:
    ((statements, entries),) = query(
        settings, "select (select count(*) from raw_bank.statements), (select count(*) from raw_bank.entries)"
    )
    return statements, entries


def test_a_statement_in_two_files_lands_once(bank: Settings) -> None:
    drop(bank, "A.sta", mt940(20))
    assert pipeline.ingest_bank_inbox(bank)["loaded_files"] == ["A.sta"]
    drop(bank, "B.sta", mt940(20) + mt940(21))  # statement 20 again, and a new one
    drop(bank, "C.sta", mt940(20).replace(b"Card payment", b"Card payment (resent)"))  # other bytes
    expected_keys = [statement_key(s) for s in parse_bank_file(bank.bank_inbox / "B.sta").statements]

    ingest = BankIngest(str(bank.warehouse_url), bank)
    results = {r.file: r for r in ingest.ingest([bank.bank_inbox / "B.sta", bank.bank_inbox / "C.sta"])}

    b, c = results["B.sta"], results["C.sta"]
    assert (b.status, b.statements, b.entries, b.credit_total, b.debit_total) == (
        "loaded",
        1,
        2,
        "50.00",
        "20.00",
    )
    skipped = "statement 20/1 of account NL91ABNA0417164300 was already loaded from another file: skipped"
    assert skipped in b.warnings and skipped in c.warnings
    assert (c.status, c.reason) == ("duplicate", "every report in it was already loaded from another file")
    assert query(bank, "select statement_id, _source from raw_bank.statements order by statement_id") == [
        ("20", "bank-file:A.sta"),
        ("21", "bank-file:B.sta"),
    ]
    assert query(
        bank, "select statement_id, _source, count(*) from raw_bank.entries group by 1, 2 order by 1"
    ) == [("20", "bank-file:A.sta", 2), ("21", "bank-file:B.sta", 2)], "the resent entries add nothing"
    assert query(bank, "select file_name, status, statements from ops.bank_files order by 1") == [
        ("A.sta", "loaded", 1),
        ("B.sta", "loaded", 1),
    ]
    keys = query(bank, "select statement_key, _version_id from raw_bank.statements order by statement_id")
    assert [k for k, _ in keys] == expected_keys
    assert all(version for _, version in keys), "every landed row has its version identity"


def test_a_statement_repeated_within_a_file_lands_once(bank: Settings) -> None:
    drop(bank, "twice.sta", mt940(23) + mt940(23))

    (result,) = BankIngest(str(bank.warehouse_url), bank).ingest([bank.bank_inbox / "twice.sta"])

    assert (result.status, result.statements, result.entries) == ("loaded", 1, 2)
    assert "statement 23/1 of account NL91ABNA0417164300 repeats report 1 of the file: skipped" in (
        result.warnings
    )
    assert raw_counts(bank) == (1, 2)


def test_re_ingesting_a_file_adds_nothing_and_the_load_log_records_each_run(
    bank: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "statement.sta"  # named on the command line: stays where it is
    path.write_bytes(mt940(22))
    batch = "bank:" + hashlib.sha256(path.read_bytes()).hexdigest()[:20]
    ingest = BankIngest(str(bank.warehouse_url), bank)

    (first,) = ingest.ingest([path])
    (again,) = ingest.ingest([path])
    assert (first.status, again.status, again.reason) == (
        "loaded",
        "duplicate",
        "the same file was loaded before",
    )
    assert raw_counts(bank) == (1, 2)
    # even without its ops.bank_files record, landing the file again adds no row: its rows' keys are landed
    query(bank, "delete from ops.bank_files returning 1")
    (third,) = ingest.ingest([path])

    assert third.status == "duplicate" and raw_counts(bank) == (1, 2)
    assert query(
        bank,
        "select entity, rows_read, new_versions, tombstones, extracted_from, extracted_to, is_backfill,"
        " detail->>'file' from ops.load_log where batch_id = %s order by load_id",
        batch,
    ) == [
        ("entries", 2, 2, 0, None, None, False, "statement.sta"),
        ("statements", 1, 1, 0, None, None, False, "statement.sta"),
        ("entries", 2, 0, 0, None, None, False, "statement.sta"),
        ("statements", 1, 0, 0, None, None, False, "statement.sta"),
    ], "the first landing and the third (the second never reached landing: same bytes); entries stream first"
    assert query(bank, "select distinct source, _batch_id from ops.load_log, raw_bank.entries") == [
        ("bank", batch)
    ]
    assert query(bank, "select count(*) from ops.load_batches") == [(0,)], "a file has no window"


def test_a_file_that_fails_half_way_through_landing_leaves_nothing_landed(
    bank: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    drop(bank, "A_good.sta", mt940(32))
    drop(bank, "B_two.sta", mt940(30) + mt940(31))
    real_parse = bank_ingest.parse_bank_bytes

    def nul_in_second_statement(data: bytes, name: str) -> ParsedBankFile:
        """The second statement's first entry carries a NUL, which PostgreSQL text cannot hold (the parsers
        reject one; this one slips past them): landing its entries fails on that row."""
        parsed = real_parse(data, name)
        if len(parsed.statements) < 2:
            return parsed
        first, second = parsed.statements
        poisoned = dataclasses.replace(second.entries[0], remittance_info="Invoice\x0031")
        second = dataclasses.replace(second, entries=(poisoned, *second.entries[1:]))
        return dataclasses.replace(parsed, statements=(first, second))

    monkeypatch.setattr(bank_ingest, "parse_bank_bytes", nul_in_second_statement)
    with pytest.raises(BankIngestError) as caught:
        pipeline.ingest_bank_inbox(bank)

    assert [name for name, _ in caught.value.failures] == ["B_two.sta"]
    assert "B_two.sta: DataError" in str(caught.value) and "NUL" in str(caught.value), "a clear reason"
    assert [r.file for r in caught.value.results] == ["A_good.sta"], "the other file still landed"
    assert landed(bank, "B_two.sta") == {"statements": 0, "entries": 0, "record": None}, (
        "not even statement 30"
    )
    assert query(bank, "select count(*) from ops.load_log where detail->>'file' = 'B_two.sta'") == [(0,)]
    assert (bank.bank_inbox / "B_two.sta").exists(), "left in the inbox for a retry"

    monkeypatch.undo()  # the fix
    retry = pipeline.ingest_bank_inbox(bank)

    assert retry["loaded_files"] == ["B_two.sta"]
    after = landed(bank, "B_two.sta")
    assert (after["statements"], after["entries"], after["record"][0]) == (2, 4, "loaded")


def test_rows_landed_before_statement_keys_are_keyed_at_start_up(bank: Settings) -> None:
    """A warehouse from before: no statement_key, no version identity, ops.load_log.extracted_to not null."""
    assert bank.warehouse_url
    with psycopg.connect(bank.warehouse_url, autocommit=True) as conn:
        conn.execute("alter table raw_bank.statements drop column statement_key")
        conn.execute("alter table raw_bank.entries drop column statement_key")
        conn.execute("alter table ops.load_log alter column extracted_to set not null")
        # statement 40 as the old ingest landed it, its balances written with other scales than the file's
        conn.execute(
            "insert into raw_bank.statements (_batch_id, _loaded_at, _source, file_sha256, file_format,"
            " statement_seq, statement_id, sequence_number, account_id, currency, opening_balance,"
            " opening_date, closing_balance, closing_date, entry_count) values ('bank:old', now(),"
            " 'bank-file:old.sta', 'old', 'mt940', 1, '40', '1', 'NL91ABNA0417164300', 'EUR', 100.0,"
            " '2024-01-01', 130, '2024-01-02', 2)"
        )
        for seq, amount, direction in ((1, 50, "CRDT"), (2, 20, "DBIT")):
            conn.execute(
                "insert into raw_bank.entries (_batch_id, _loaded_at, _source, file_sha256, statement_seq,"
                " statement_id, account_id, entry_seq, booking_date, amount, currency, direction,"
                " is_reversal) values ('bank:old', now(), 'bank-file:old.sta', 'old', 1, '40',"
                " 'NL91ABNA0417164300', %s, '2024-01-02', %s, 'EUR', %s, false)",
                (seq, amount, direction),
            )
        ensure_schema(conn)  # every start-up
        ensure_schema(conn)  # idempotent
        nullable = conn.execute(
            "select is_nullable from information_schema.columns where table_schema = 'ops'"
            " and table_name = 'load_log' and column_name = 'extracted_to'"
        ).fetchone()
    assert nullable == ("YES",)
    drop(bank, "resent.sta", mt940(40))
    expected = statement_key(parse_bank_file(bank.bank_inbox / "resent.sta").statements[0])
    assert query(bank, "select distinct statement_key from raw_bank.entries") == [(expected,)]

    result = pipeline.ingest_bank_inbox(bank)

    assert result["duplicate"] == 1 and raw_counts(bank) == (1, 2), "the resent statement adds nothing"
    assert query(
        bank, "select statement_key, _source from raw_bank.statements where _version_id is not null"
    ) == [(expected, "bank-file:old.sta")]
