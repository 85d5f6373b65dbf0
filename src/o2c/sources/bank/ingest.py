"""Land bank statement files into ``raw_bank``: each file loads whole, is a duplicate, or is quarantined.

This module reads and parses files and yields their rows; the landing layer lands them
(:func:`o2c.loading.land.land_batch`): a file is one batch (``bank:<sha256 prefix>``), logged in
``ops.load_log``, and a row's identity is its key, so nothing lands twice. A statement's key
(:func:`statement_key`) is what the bank says identifies it: account, statement id, sequence, opening and
closing date and balance, entry count; an entry's is its statement's key and its position in it.

- A file whose bytes were loaded before, or whose every statement is already landed (from another file),
  is a ``duplicate`` and adds nothing. A statement already landed is skipped with a warning, and the
  file's totals count only the statements it landed.
- A file that cannot be read unambiguously, or whose balances do not add up, is ``quarantined``: it is moved
  (inbox files) or copied (files named on the command line) to the quarantine folder with a
  ``.reason.txt`` beside it; the other files still load.
- A loaded file's statements, entries and ``ops.bank_files`` record land in one transaction; inbox files
  then move to the archive.
- Any other exception while a file is handled (a parser defect, a value the warehouse rejects while the
  file lands, a lost connection) is not a property of the file and never becomes a quarantine reason:
  that file's transaction rolls back (nothing of it is landed or recorded), the file stays where it is
  (in the inbox, for a retry), the other files are still handled, and the run then fails with
  :class:`BankIngestError` naming every such file.
- One inbox intake at a time (an advisory lock): the ``o2c_bank_intake`` DAG and the nightly's intake
  task may start together; the second waits and finds what the first left.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import psycopg
from psycopg.types.json import Jsonb

from o2c.config import Settings, load_settings
from o2c.loading.land import RawTable, ensure_table, land_batch
from o2c.sources.bank.model import BankFileError, BankStatement, ParsedBankFile
from o2c.sources.bank.parse import parse_bank_file
from o2c.warehouse.locks import BANK_INBOX, lock_entity

log = logging.getLogger(__name__)

STATEMENTS = RawTable(
    source="bank",
    entity="statements",
    schema="raw_bank",
    name="statements",
    key_columns=("statement_key",),
    change_column=None,
    drift_type=None,  # the layout is fixed (src/o2c/warehouse/schema.sql)
)
ENTRIES = RawTable(
    source="bank",
    entity="entries",
    schema="raw_bank",
    name="entries",
    key_columns=("statement_key", "entry_seq"),
    change_column=None,
    drift_type=None,
)
STATEMENT_COLUMNS = (
    "statement_key",
    "file_sha256",
    "file_format",
    "file_version",
    "statement_seq",
    "statement_id",
    "sequence_number",
    "account_id",
    "currency",
    "opening_balance",
    "opening_date",
    "closing_balance",
    "closing_date",
    "entry_count",
)
ENTRY_COLUMNS = (
    "statement_key",
    "file_sha256",
    "statement_seq",
    "statement_id",
    "account_id",
    "entry_seq",
    "booking_date",
    "value_date",
    "amount",
    "currency",
    "direction",
    "is_reversal",
    "bank_reference",
    "customer_reference",
    "counterparty_name",
    "counterparty_account",
    "remittance_info",
    "transaction_code",
)
_SEP = chr(31)


def _key_part(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):  # numerically equal balances are the same: 100, 100.0 and 100.00
        return "0" if value == 0 else format(value.normalize(), "f")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def statement_key(stmt: BankStatement) -> str:
    """A statement's identity, whatever file (or format) it came in: md5 of its account, statement id,
    sequence, opening date and balance, closing date and balance (as stated: ``None`` when the file has
    none) and entry count. ``schema.sql`` computes the same for rows landed before keys existed."""
    parts = (
        stmt.account_id,
        stmt.statement_id,
        stmt.sequence,
        stmt.opening_date,
        stmt.stated_opening_balance,
        stmt.closing_date,
        stmt.stated_closing_balance,
        len(stmt.entries),
    )
    return hashlib.md5(_SEP.join(map(_key_part, parts)).encode(), usedforsecurity=False).hexdigest()


def statement_rows(sha: str, parsed: ParsedBankFile, keys: list[str]) -> Iterator[tuple[object, ...]]:
    """The file's statements as rows of :data:`STATEMENT_COLUMNS`."""
    for seq, (stmt, key) in enumerate(zip(parsed.statements, keys, strict=True), start=1):
        yield (
            key,
            sha,
            parsed.format,
            parsed.version,
            seq,
            stmt.statement_id,
            stmt.sequence,
            stmt.account_id,
            stmt.currency,
            stmt.stated_opening_balance,
            stmt.opening_date,
            stmt.stated_closing_balance,
            stmt.closing_date,
            len(stmt.entries),
        )


def entry_rows(sha: str, parsed: ParsedBankFile, keys: list[str]) -> Iterator[tuple[object, ...]]:
    """The file's entries as rows of :data:`ENTRY_COLUMNS`."""
    for seq, (stmt, key) in enumerate(zip(parsed.statements, keys, strict=True), start=1):
        for e in stmt.entries:
            yield (
                key,
                sha,
                seq,
                stmt.statement_id,
                stmt.account_id,
                e.entry_seq,
                e.booking_date,
                e.value_date,
                e.amount,
                e.currency,
                e.direction,
                e.is_reversal,
                e.bank_reference,
                e.customer_reference,
                e.counterparty_name,
                e.counterparty_account,
                e.remittance_info,
                e.transaction_code,
            )


@dataclass
class FileResult:
    file: str
    format: str | None
    status: str  # loaded | duplicate | quarantined
    statements: int = 0
    entries: int = 0
    credit_total: str = "0"
    debit_total: str = "0"
    reason: str | None = None
    warnings: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        return asdict(self)


class BankIngestError(RuntimeError):
    """Files that failed with an unexpected error: a defect to fix, not bad data to quarantine.

    Attributes:
        failures: ``(file name, exception)`` per failed file. A failure inside a file's transaction
            rolled it back whole; one after its commit (archiving) left it landed once.
        results: The outcome of every other file of the run (they were handled normally).
    """

    def __init__(
        self, failures: list[tuple[str, BaseException]], results: list[FileResult], where: str
    ) -> None:
        self.failures = failures
        self.results = results
        listed = "; ".join(f"{name}: {type(exc).__name__}: {exc}" for name, exc in failures)
        super().__init__(
            f"bank ingest failed on {len(failures)} file(s) with an unexpected error (a defect, not a data"
            f" problem, so not quarantined); nothing of them is half-landed, and they were left {where}:"
            f" a retry once fixed lands each of them once: {listed}"
        )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


READ_AHEAD = 2
"""Files read and parsed ahead of the one landing (:meth:`BankIngest.ingest`)."""
Read = tuple[str, ParsedBankFile | Exception]
"""A file's SHA-256 and what parsing it gave: the statements, or the exception it raised."""


def _read(path: Path) -> Read | None:
    """Read and parse a file (``None``: it is gone). A parse error is returned, not raised, so that it is
    handled in the file's turn: a duplicate is not parsed at all, a bad file is quarantined, a defect fails
    the file. An error reading the file raises (the file fails)."""
    if not path.is_file():
        return None
    sha = _sha256(path)
    try:
        return sha, parse_bank_file(path)
    except Exception as exc:  # handed to the landing thread, which raises it or quarantines the file
        return sha, exc


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


class BankIngest:
    def __init__(self, url: str, settings: Settings | None = None) -> None:
        self.url = url
        self.settings = settings or load_settings()
        self.archive = self.settings.home / "archive" / "bank"

    def _set_aside(self, path: Path, folder: Path, reason: str | None = None) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / path.name
        if target.exists() and target.resolve() != path.resolve():
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
            target = folder / f"{path.stem}.{stamp}{path.suffix}"
        if _inside(path, self.settings.bank_inbox):
            shutil.move(str(path), target)
        else:
            shutil.copy2(path, target)
        if reason is not None:
            target.with_name(target.name + ".reason.txt").write_text(reason + "\n")
        return target

    def ingest(self, paths: list[Path]) -> list[FileResult]:
        """Handle each file in its own transaction; see the module docstring for the outcomes.

        Raises:
            BankIngestError: Some files failed with an unexpected error; they are named, nothing of
                them was landed, and the other files were handled.
        """
        results: list[FileResult] = []
        failures: list[tuple[Path, BaseException]] = []
        with (
            psycopg.connect(self.url) as conn,
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="bank-read") as reader,
        ):
            if paths:
                self._ensure_tables(conn)
            # a thread reads and parses the next files while this one lands (the server does that work)
            ahead = deque(reader.submit(_read, path) for path in paths[:READ_AHEAD])
            for index, path in enumerate(paths):
                read = ahead.popleft()
                if index + READ_AHEAD < len(paths):
                    ahead.append(reader.submit(_read, paths[index + READ_AHEAD]))
                try:
                    results.append(self._one(conn, path, read))
                except Exception as exc:  # any defect: name the file, keep it, go on, fail at the end
                    log.exception("bank file %s failed with an unexpected error; it is left in place", path)
                    failures.append((path, exc))
        if failures:
            inbox = all(_inside(path, self.settings.bank_inbox) for path, _ in failures)
            where = f"in the inbox {self.settings.bank_inbox}" if inbox else "where they are"
            named = [(path.name, exc) for path, exc in failures]
            raise BankIngestError(named, results, where) from failures[0][1]
        return results

    @staticmethod
    def _ensure_tables(conn: psycopg.Connection) -> None:
        """Create (or migrate) the raw tables once per run, committed, so that each file only lands rows."""
        with conn.transaction():
            for table, columns in ((STATEMENTS, STATEMENT_COLUMNS), (ENTRIES, ENTRY_COLUMNS)):
                lock_entity(conn, f"{table.source}:{table.entity}")
                ensure_table(conn, table, columns)

    def ingest_inbox(self) -> list[FileResult]:
        """Land every file waiting in the inbox (dot files, e.g. ``.x.part`` uploads, are skipped)."""
        inbox = self.settings.bank_inbox
        inbox.mkdir(parents=True, exist_ok=True)
        with psycopg.connect(self.url) as guard, guard.transaction():
            guard.execute("select pg_advisory_xact_lock(%s)", (BANK_INBOX,))
            files = sorted(p for p in inbox.iterdir() if p.is_file() and not p.name.startswith("."))
            return self.ingest(files)

    def _one(
        self, conn: psycopg.Connection, path: Path, read: Future[Read | None] | None = None
    ) -> FileResult:
        """Handle one file; ``read`` is its :func:`_read`, when done ahead by the reading thread."""
        prepared = read.result() if read is not None else _read(path)
        if prepared is None:
            return FileResult(str(path), None, "quarantined", reason=f"{path}: no such file")
        sha, parsed = prepared
        with conn.transaction():
            lock_entity(conn, "bank-file:" + sha)
            seen = conn.execute(
                "select status, format from ops.bank_files where file_sha256 = %s", (sha,)
            ).fetchone()
            if seen and seen[0] == "loaded":
                result = FileResult(path.name, seen[1], "duplicate", reason="the same file was loaded before")
                self._after(path, result)
                return result
            if isinstance(parsed, BankFileError):
                result = FileResult(path.name, None, "quarantined", reason=parsed.reason)
                self._record(conn, sha, path, None, result, None)
                self._set_aside(path, self.settings.quarantine_dir / "bank", parsed.reason)
                return result
            if isinstance(parsed, Exception):
                raise parsed  # a defect of the parser: the file fails, named, and stays where it is
            result = self._land(conn, sha, path, parsed)
        self._after(path, result)
        return result

    def _after(self, path: Path, result: FileResult) -> None:
        if _inside(path, self.settings.bank_inbox) and path.exists():
            self._set_aside(path, self.archive)

    def _record(
        self,
        conn: psycopg.Connection,
        sha: str,
        path: Path,
        fmt: str | None,
        result: FileResult,
        batch_id: str | None,
    ) -> None:
        conn.execute(
            """
            insert into ops.bank_files (file_sha256, file_name, format, status, reason, warnings, statements,
                entries, credit_total, debit_total, batch_id)
            values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
            on conflict (file_sha256) do update set status = excluded.status, reason = excluded.reason,
                warnings = excluded.warnings, statements = excluded.statements, entries = excluded.entries,
                credit_total = excluded.credit_total, debit_total = excluded.debit_total,
                batch_id = excluded.batch_id, file_name = excluded.file_name
            """,
            (
                sha,
                path.name,
                fmt,
                "quarantined" if result.status == "quarantined" else "loaded",
                result.reason,
                Jsonb(result.warnings),
                result.statements,
                result.entries,
                Decimal(result.credit_total),
                Decimal(result.debit_total),
                batch_id,
            ),
        )

    def _land(self, conn: psycopg.Connection, sha: str, path: Path, parsed: ParsedBankFile) -> FileResult:
        """Land the file's rows (inside the caller's transaction) and record it when anything was new."""
        batch_id = f"bank:{sha[:20]}"
        source = f"bank-file:{path.name}"
        detail = {"file": path.name, "file_sha256": sha, "format": parsed.format}
        keys = [statement_key(stmt) for stmt in parsed.statements]
        statements = land_batch(
            conn,
            STATEMENTS,
            batch_id,
            STATEMENT_COLUMNS,
            rows=statement_rows(sha, parsed, keys),
            source_label=source,
            detail=detail,
            returning=("statement_seq",),
            ensure=False,
        )
        # an entry of a statement landed before has its key already: only new statements' entries land
        entries = land_batch(
            conn,
            ENTRIES,
            batch_id,
            ENTRY_COLUMNS,
            rows=entry_rows(sha, parsed, keys),
            source_label=source,
            detail=detail,
            ensure=False,
        )
        landed_seqs = {seq for (seq,) in statements.landed}
        warnings = list(parsed.warnings)
        new_statements = []
        for seq, (stmt, key) in enumerate(zip(parsed.statements, keys, strict=True), start=1):
            if seq in landed_seqs:
                new_statements.append(stmt)
            elif key in keys[: seq - 1]:
                warnings.append(f"{stmt.label} repeats statement {keys.index(key) + 1} of the file: skipped")
            else:
                warnings.append(
                    f"statement {stmt.statement_id} of account {stmt.account_id} was already loaded "
                    "from another file: skipped"
                )
        if not new_statements:
            return FileResult(
                path.name,
                parsed.format,
                "duplicate",
                len(parsed.statements),
                parsed.entry_count,
                str(parsed.credit_total),
                str(parsed.debit_total),
                reason="every statement in it was already loaded from another file",
                warnings=warnings,
            )
        result = FileResult(
            path.name,
            parsed.format,
            "loaded",
            len(new_statements),
            entries.new_versions,
            str(sum((s.credit_total for s in new_statements), Decimal(0))),
            str(sum((s.debit_total for s in new_statements), Decimal(0))),
            warnings=warnings,
        )
        self._record(conn, sha, path, parsed.format, result, batch_id)
        return result
