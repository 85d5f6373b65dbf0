"""Bank intake end to end on a real PostgreSQL: the resolved path of each outcome of a file.

- bad data (a ``BankFileError``): the file is quarantined with a reason file, nothing of it is visible;
- a defect (any other exception, injected into the real parser): the run fails naming the file, nothing of
  it is landed or recorded, it stays in the inbox, the other files still land, and a retry after the fix
  loads it;
- the nightly's intake task lands the inbox for the latest night only; two intakes at once land each file
  once.

Each test gets its own database on the session's server and its own inbox, so it neither sees nor leaves
rows for the other integration tests.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from o2c import pipeline
from o2c.config import Settings
from o2c.sources.bank.ingest import BankIngestError
from o2c.sources.bank.mt940 import statements as mt940_statements
from o2c.warehouse.db import ensure_database, warehouse_url, with_database

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


@pytest.fixture
def bank(o2c_home: Settings, tmp_path: Path) -> Iterator[Settings]:
    """Settings with a fresh database on the session's server and a fresh inbox/quarantine/archive."""
    database = f"o2c_bank_{tmp_path.name.lower().replace('-', '_')}"
    url = with_database(warehouse_url(o2c_home), database)
    ensure_database(url)
    settings = dataclasses.replace(
        o2c_home,
        warehouse_url=url,
        home=tmp_path / "home",
        bank_inbox=tmp_path / "inbox",
        quarantine_dir=tmp_path / "quarantine",
    )
    settings.bank_inbox.mkdir(parents=True)
    pipeline.prepare(settings)  # the landing/ops schemas in the new database
    yield settings
    with psycopg.connect(with_database(url, "postgres"), autocommit=True) as conn:
        conn.execute(
            psycopg.sql.SQL("drop database if exists {} with (force)").format(
                psycopg.sql.Identifier(database)
            )
        )


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
