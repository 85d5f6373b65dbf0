"""Bank files across files, on a real PostgreSQL: integrity per account (balance breaks and sequence gaps,
recorded in ``ops``, warned, never blocking), conflicting re-deliveries, corrected re-deliveries of a
quarantined file, the quarantine commands and the immutable archive.

Statements are written by hand here (MT940 of one account, one statement a day), so every expected figure
is in the test.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest

from o2c.config import Settings
from o2c.sources.bank.archive import sha256_of
from o2c.sources.bank.ingest import BankIngest

pytestmark = pytest.mark.integration

ACCOUNT = "NL91ABNA0417164300"
DAY = date(2024, 3, 4)


def _amount(value: Decimal) -> str:
    return f"{abs(value):.2f}".replace(".", ",")


def statement(number: int, opening: str, credits: list[str], closing: str | None = None) -> bytes:
    """An MT940 statement ``number`` of :data:`ACCOUNT`, dated ``number`` days after :data:`DAY`.

    ``closing`` defaults to what adds up; give another to make the file not add up.
    """
    day = DAY + timedelta(days=number)
    ymd = day.strftime("%y%m%d")
    start = Decimal(opening)
    end = start + sum((Decimal(c) for c in credits), Decimal(0))
    stated = Decimal(closing) if closing is not None else end
    lines = [
        f":20:STMT{number}",
        f":25:{ACCOUNT}",
        f":28C:{number}/1",
        f":60F:{'C' if start >= 0 else 'D'}{ymd}EUR{_amount(start)}",
    ]
    for index, credit in enumerate(credits, start=1):
        lines += [
            f":61:{ymd}{day:%m%d}C{_amount(Decimal(credit))}NTRFINV{number}{index}//B{number}-{index}",
            f":86:/EREF/INV{number}{index}/NAME/ACME BV/REMI/INVOICE {number}{index}",
        ]
    lines += [f":62F:{'C' if stated >= 0 else 'D'}{ymd}EUR{_amount(stated)}", "-"]
    return ("\r\n".join(lines) + "\r\n").encode()


def ingest(settings: Settings, name: str, content: bytes) -> dict[str, Any]:
    path = settings.bank_inbox / name
    path.write_bytes(content)
    assert settings.warehouse_url
    (result,) = BankIngest(settings.warehouse_url, settings).ingest([path])
    return result.as_json()


def issues(settings: Settings) -> list[dict[str, Any]]:
    assert settings.warehouse_url
    with psycopg.connect(settings.warehouse_url) as conn:
        cursor = conn.execute(
            "select kind, statement_id, previous_statement_id, expected_opening, stated_opening, difference,"
            " missing_sequences, resolved_at is not null as resolved, file_name, resolved_by_file"
            " from ops.bank_integrity_issues order by issue_id"
        )
        names = [c.name for c in cursor.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def test_a_balance_break_between_files_is_recorded_warned_and_the_file_loads(bank: Settings) -> None:
    assert ingest(bank, "d1.sta", statement(1, "100.00", ["30.00"]))["status"] == "loaded"
    second = ingest(bank, "d2.sta", statement(2, "100.00", ["5.00"]))  # should open at 130.00
    assert second["status"] == "loaded"
    (warning,) = [w for w in second["warnings"] if "closed at 130.00" in w]
    assert "opens at 100.00" in warning and "d1.sta" in warning and "-30.00" in warning
    (issue,) = issues(bank)
    assert issue["kind"] == "balance_break"
    assert (issue["statement_id"], issue["previous_statement_id"]) == ("2", "1")
    assert (issue["expected_opening"], issue["stated_opening"], issue["difference"]) == (
        Decimal("130.00"),
        Decimal("100.00"),
        Decimal("-30.00"),
    )
    assert not issue["resolved"] and issue["file_name"] == "d2.sta"


def test_a_chain_that_holds_records_nothing(bank: Settings) -> None:
    ingest(bank, "d1.sta", statement(1, "100.00", ["30.00"]))
    result = ingest(bank, "d2.sta", statement(2, "130.00", ["5.00"]))
    assert result["status"] == "loaded" and result["warnings"] == []
    assert issues(bank) == []


def test_a_gap_is_recorded_and_resolved_when_the_missing_statement_arrives_late(bank: Settings) -> None:
    ingest(bank, "d1.sta", statement(1, "100.00", ["30.00"]))
    third = ingest(bank, "d3.sta", statement(3, "160.00", ["1.00"]))
    assert third["status"] == "loaded"
    found = {i["kind"]: i for i in issues(bank)}
    assert set(found) == {"balance_break", "sequence_gap"}
    assert found["sequence_gap"]["missing_sequences"] == "2"
    assert found["balance_break"]["difference"] == Decimal("30.00")
    assert any("statement number(s) 2 missing" in w for w in third["warnings"])
    second = ingest(bank, "d2.sta", statement(2, "130.00", ["30.00"]))  # 130 -> 160: fills the gap
    assert second["status"] == "loaded" and second["warnings"] == []
    after = issues(bank)
    assert len(after) == 2 and all(i["resolved"] and i["resolved_by_file"] == "d2.sta" for i in after)


def test_a_conflicting_redelivery_of_a_loaded_statement_is_quarantined_naming_the_first(
    bank: Settings,
) -> None:
    ingest(bank, "d1.sta", statement(1, "100.00", ["30.00"]))
    other = ingest(bank, "d1-bis.sta", statement(1, "100.00", ["30.00", "2.00"]))
    assert other["status"] == "quarantined"
    assert "already loaded from d1.sta" in other["reason"] and "closing 130.00" in other["reason"]
    assert "132.00" in other["reason"]
    assert bank.warehouse_url
    with psycopg.connect(bank.warehouse_url) as conn:
        count = conn.execute("select count(*) from raw_bank.entries").fetchone()
    assert count == (1,), "nothing of the quarantined file is landed"


def test_a_corrected_redelivery_loads_once_and_supersedes_the_quarantined_file(bank: Settings) -> None:
    bad = ingest(bank, "d1.sta", statement(1, "100.00", ["30.00"], closing="130.01"))
    assert bad["status"] == "quarantined"
    assert "130.00" in bad["reason"] and "130.01" in bad["reason"]
    fixed = ingest(bank, "d1_R1.sta", statement(1, "100.00", ["30.00"]))
    assert fixed["status"] == "loaded"
    assert ingest(bank, "d1_R1_again.sta", statement(1, "100.00", ["30.00"]))["status"] == "duplicate"
    assert bank.warehouse_url
    (held,) = BankIngest(bank.warehouse_url, bank).quarantined()
    assert held["file_name"] == "d1.sta" and held["superseded_by"] == "d1_R1.sta"
    with psycopg.connect(bank.warehouse_url) as conn:
        assert conn.execute("select count(*) from raw_bank.entries").fetchone() == (1,)


def _o2c(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "O2C_WAREHOUSE_URL": settings.warehouse_url or "", "O2C_HOME": str(settings.home)}
    env["O2C_QUARANTINE_DIR"] = str(settings.quarantine_dir)
    env["O2C_BANK_INBOX"] = str(settings.bank_inbox)
    return subprocess.run(
        [sys.executable, "-m", "o2c.cli", *args], env=env, capture_output=True, text=True, check=False
    )


def test_quarantine_list_and_retry_after_the_file_is_fixed(bank: Settings) -> None:
    ingest(bank, "d1.sta", statement(1, "100.00", ["30.00"], closing="131.00"))
    listed = _o2c(bank, "bank", "quarantine", "list")
    assert listed.returncode == 0, listed.stderr
    (held,) = json.loads(listed.stdout)["quarantined"]
    assert held["file_name"] == "d1.sta" and "131.00" in held["reason"]
    quarantined = Path(held["quarantined_as"])
    still_bad = _o2c(bank, "bank", "quarantine", "retry", "d1.sta")
    assert still_bad.returncode == 1 and json.loads(still_bad.stdout)["status"] == "quarantined"
    quarantined.chmod(0o644)
    quarantined.write_bytes(statement(1, "100.00", ["30.00"]))  # the operator corrects the file
    retried = _o2c(bank, "bank", "quarantine", "retry", "d1.sta")
    assert retried.returncode == 0, retried.stdout + retried.stderr
    assert json.loads(retried.stdout)["status"] == "loaded"
    assert not quarantined.exists()
    (left,) = json.loads(_o2c(bank, "bank", "quarantine", "list").stdout)["quarantined"]
    assert left["superseded_by"] == "d1.sta", "the original bytes stay on record, delivered by the fix"
    assert _o2c(bank, "bank", "quarantine", "retry", "nope.sta").returncode == 2


def test_every_received_file_is_archived_read_only_under_its_sha256(bank: Settings) -> None:
    content = statement(1, "100.00", ["30.00"], closing="1.00")
    path = bank.bank_inbox / "x.sta"
    path.write_bytes(content)
    sha = sha256_of(path)
    result = ingest(bank, "x.sta", content)
    archived = Path(result["archived_as"])
    assert archived == bank.home / "archive" / "bank" / sha[:2] / sha
    assert archived.read_bytes() == content
    assert not archived.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    assert result["status"] == "quarantined" and not path.exists()
