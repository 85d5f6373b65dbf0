"""Land bank files into ``raw_bank``: each file loads whole, is a duplicate, or is quarantined.

This module reads files and lands their rows through the landing layer
(:func:`o2c.loading.land.land_batch`): a file is one batch (``bank:<sha256 prefix>``), logged in
``ops.load_log``, and a row's identity is its key, so nothing lands twice. Files are read as streams
(:func:`o2c.sources.bank.parse.open_bank_stream`): a file of any size lands in flat memory.

- **Archive.** Every file received is first archived immutably under its SHA-256
  (:mod:`o2c.sources.bank.archive`); ``ops.bank_files`` records its name, outcome and archive path.
- **Duplicates, at three levels.** The same bytes loaded before: ``duplicate``. The same report under
  another name (its key, :func:`o2c.sources.bank.rows.report_key`): skipped with a warning, and a file with
  nothing new is a ``duplicate``. The same entry in an intraday report, a notification and the final
  statement lands in each (they are different reports); staging counts it once.
- **Conflicts.** A final statement with the identity of one already loaded (account, statement id,
  sequence, opening and closing dates) but other figures is quarantined, naming the file loaded before:
  a bank's correction of a loaded statement is handled by hand, never by silently landing both.
- **Quarantine.** A file that cannot be read unambiguously or does not add up is ``quarantined``: moved
  (inbox files) or copied (files named on the command line) to the quarantine folder with a
  ``.reason.txt`` beside it; the other files still load. The reports it names are remembered, so a
  corrected re-delivery that loads marks it ``superseded_by`` (``o2c bank quarantine list``);
  :meth:`BankIngest.retry` tries a quarantined file again (after a fix).
- **Integrity across files** (:mod:`o2c.sources.bank.integrity`): a balance break or sequence gap is
  recorded and becomes a warning of the file, which still loads.
- A loaded file's reports, entries, integrity issues and ``ops.bank_files`` record land in one
  transaction; inbox files then leave the inbox (their bytes are in the archive).
- Any other exception while a file is handled (a parser defect, a value the warehouse rejects, a lost
  connection) is not a property of the file and never becomes a quarantine reason: that file's
  transaction rolls back (nothing of it is landed or recorded), the file stays where it is (in the inbox,
  for a retry), the other files are still handled, and the run then fails with :class:`BankIngestError`
  naming every such file.
- One inbox intake at a time (an advisory lock): the ``o2c_bank_intake`` DAG and the nightly's intake task
  may start together; the second waits and finds what the first left.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from o2c.config import Settings, load_settings
from o2c.loading.land import RawTable, ensure_table, land_batch
from o2c.sources.bank import integrity
from o2c.sources.bank.archive import archive, inside, set_aside, sha256_of
from o2c.sources.bank.model import (
    REPORT_STATEMENT,
    BankFileError,
    BankFileStream,
    ParsedBankFile,
    StatementStream,
)
from o2c.sources.bank.parse import open_bank_file, parse_bank_bytes
from o2c.sources.bank.rows import (
    ENTRY_COLUMNS,
    STATEMENT_COLUMNS,
    LandedReport,
    ReportRows,
    statement_key,
    stream_of,
)
from o2c.warehouse.locks import BANK_INBOX, lock_entity

__all__ = [
    "ENTRIES",
    "ENTRY_COLUMNS",
    "STATEMENTS",
    "STATEMENT_COLUMNS",
    "BankIngest",
    "BankIngestError",
    "FileResult",
    "statement_key",
]

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
    key_columns=("statement_key", "entry_seq", "tx_seq"),
    change_column=None,
    drift_type=None,
)


@dataclass
class FileResult:
    """What became of one file (``o2c ingest bank`` prints it as JSON)."""

    file: str
    format: str | None
    status: str  # loaded | duplicate | quarantined
    statements: int = 0
    entries: int = 0
    credit_total: str = "0"
    debit_total: str = "0"
    reason: str | None = None
    warnings: list[str] = field(default_factory=list)
    report_kind: str | None = None
    sha256: str | None = None
    archived_as: str | None = None
    quarantined_as: str | None = None

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


READ_AHEAD = 2
"""Files read (hashed, and parsed whole when small) ahead of the one landing (:meth:`BankIngest.ingest`)."""
WHOLE_FILE_BYTES = 1 << 20
"""A file up to this size is parsed whole by the reading thread; a larger one streams while it lands."""
Read = tuple[str, ParsedBankFile | Exception | None]
"""A file's SHA-256 and what parsing it gave: the reports, the exception it raised, or ``None`` when it is
large and streams while it lands."""


def _read(path: Path) -> Read | None:
    """Hash a file and, when small, parse it (``None``: the file is gone). A parse error is returned, not
    raised, so that it is handled in the file's turn: a duplicate is not parsed, a bad file is
    quarantined, a defect fails the file. An error reading the file raises (the file fails)."""
    if not path.is_file():
        return None
    sha = sha256_of(path)
    if path.stat().st_size > WHOLE_FILE_BYTES:
        return sha, None
    try:
        return sha, parse_bank_bytes(path.read_bytes(), path.name)
    except Exception as exc:  # handed to the landing thread, which raises it or quarantines the file
        return sha, exc


def _report_ids(path: Path) -> list[dict[str, str | None]]:
    """The reports a (quarantined) file names, as far as it can be read: so that a corrected re-delivery
    of them can be recognised."""
    found: list[dict[str, str | None]] = []
    try:
        with open_bank_file(path) as stream:
            for statement in stream.statements:
                head = statement.head
                found.append(
                    {
                        "account": head.account_id,
                        "id": head.statement_id,
                        "seq": head.sequence,
                        "kind": head.report_kind,
                    }
                )
                for _ in statement.entries():
                    pass
                statement.tail  # noqa: B018 - reads the report to its end (an error stops the list here)
    except BankFileError:
        pass
    return found


class BankIngest:
    """Lands bank files (see the module docstring); one connection per run."""

    def __init__(self, url: str, settings: Settings | None = None) -> None:
        self.url = url
        self.settings = settings or load_settings()
        self.archive = self.settings.home / "archive" / "bank"

    @property
    def quarantine(self) -> Path:
        return self.settings.quarantine_dir / "bank"

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
            in_inbox = all(inside(path, self.settings.bank_inbox) for path, _ in failures)
            where = f"in the inbox {self.settings.bank_inbox}" if in_inbox else "where they are"
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
            conn.execute(
                "create index if not exists statements__identity_idx"
                " on raw_bank.statements (account_id, statement_id)"
            )
            conn.execute(
                "create index if not exists statements__chain_idx on raw_bank.statements"
                " (account_id, currency, report_kind, (coalesce(closing_date, opening_date)))"
            )

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
        archived = archive(path, sha, self.archive)
        with conn.transaction():
            lock_entity(conn, "bank-file:" + sha)
            seen = conn.execute(
                "select status, format from ops.bank_files where file_sha256 = %s", (sha,)
            ).fetchone()
            if seen and seen[0] == "loaded":
                result = FileResult(
                    path.name,
                    seen[1],
                    "duplicate",
                    reason="the same file was loaded before",
                    sha256=sha,
                    archived_as=str(archived),
                )
                self._after(path, result)
                return result
            if isinstance(parsed, Exception) and not isinstance(parsed, BankFileError):
                raise parsed  # a defect of the parser: the file fails, named, and stays where it is
            try:
                with conn.transaction():
                    if isinstance(parsed, BankFileError):
                        raise parsed
                    result = self._land(conn, sha, path, parsed)
                    result.archived_as = str(archived)
                    if result.status == "loaded":
                        self._record(conn, sha, path, result)
            except BankFileError as exc:
                result = self._quarantined(conn, sha, path, exc, archived)
                return result
        self._after(path, result)
        return result

    def _quarantined(
        self, conn: psycopg.Connection, sha: str, path: Path, exc: BankFileError, archived: Path
    ) -> FileResult:
        """Record a file as quarantined (in the caller's transaction) and set it aside with its reason."""
        reason = exc.reason
        moved = inside(path, self.settings.bank_inbox) or inside(path, self.quarantine)
        target = set_aside(path, self.quarantine, move=moved, reason=reason)
        result = FileResult(
            path.name,
            None,
            "quarantined",
            reason=reason,
            sha256=sha,
            archived_as=str(archived),
            quarantined_as=str(target),
        )
        self._record(conn, sha, path, result, report_ids=_report_ids(target))
        return result

    def _after(self, path: Path, result: FileResult) -> None:
        """An inbox file leaves the inbox once handled (its bytes are archived); a retried quarantined
        file that loaded leaves the quarantine folder."""
        if inside(path, self.settings.bank_inbox) and path.exists():
            path.unlink()
        elif inside(path, self.quarantine) and path.exists() and result.status != "quarantined":
            path.unlink()
            path.with_name(path.name + ".reason.txt").unlink(missing_ok=True)

    def _record(
        self,
        conn: psycopg.Connection,
        sha: str,
        path: Path,
        result: FileResult,
        report_ids: list[dict[str, str | None]] | None = None,
    ) -> None:
        conn.execute(
            """
            insert into ops.bank_files (file_sha256, file_name, format, report_kind, status, reason, warnings,
                statements, entries, credit_total, debit_total, batch_id, archived_as, quarantined_as,
                statement_ids, last_tried_at)
            values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, now())
            on conflict (file_sha256) do update set status = excluded.status, reason = excluded.reason,
                warnings = excluded.warnings, statements = excluded.statements, entries = excluded.entries,
                credit_total = excluded.credit_total, debit_total = excluded.debit_total,
                batch_id = excluded.batch_id, file_name = excluded.file_name, format = excluded.format,
                report_kind = excluded.report_kind, archived_as = excluded.archived_as,
                quarantined_as = excluded.quarantined_as,
                statement_ids = case when excluded.status = 'quarantined' then excluded.statement_ids
                    else ops.bank_files.statement_ids end,
                tries = ops.bank_files.tries + 1, last_tried_at = now()
            """,
            (
                sha,
                path.name,
                result.format,
                result.report_kind,
                "quarantined" if result.status == "quarantined" else "loaded",
                result.reason,
                Jsonb(result.warnings),
                result.statements,
                result.entries,
                Decimal(result.credit_total),
                Decimal(result.debit_total),
                f"bank:{sha[:20]}" if result.status == "loaded" else None,
                result.archived_as,
                result.quarantined_as,
                Jsonb(report_ids or []),
            ),
        )

    @contextlib.contextmanager
    def _stream(self, path: Path, parsed: ParsedBankFile | None) -> Iterator[BankFileStream]:
        """The file as a stream: the reports read ahead, or the file itself read while it lands."""
        if parsed is not None:
            yield BankFileStream(
                parsed.format,
                parsed.version,
                parsed.report_kind,
                iter([stream_of(s) for s in parsed.statements]),
                list(parsed.warnings),
            )
            return
        with open_bank_file(path) as stream:
            yield stream

    def _land(
        self, conn: psycopg.Connection, sha: str, path: Path, parsed: ParsedBankFile | None
    ) -> FileResult:
        """Land the file's rows (inside the caller's transaction); raise BankFileError to quarantine it."""
        batch_id = f"bank:{sha[:20]}"
        source = f"bank-file:{path.name}"
        with self._stream(path, parsed) as stream:
            detail = {"file": path.name, "file_sha256": sha, "format": stream.format}
            rows = ReportRows(sha, stream.format, stream.version)
            entries = land_batch(
                conn,
                ENTRIES,
                batch_id,
                ENTRY_COLUMNS,
                rows=rows.entry_rows(_statements(stream)),
                source_label=source,
                detail=detail,
                ensure=False,
                prepare=functools.partial(_rekey, rows=rows),
            )
            self._check_conflicts(conn, rows, sha)
            statements = land_batch(
                conn,
                STATEMENTS,
                batch_id,
                STATEMENT_COLUMNS,
                rows=rows.statement_rows(),
                source_label=source,
                detail=detail,
                returning=("statement_seq",),
                ensure=False,
            )
            return self._result(conn, sha, path, stream, rows, statements.landed, entries.new_versions)

    def _result(
        self,
        conn: psycopg.Connection,
        sha: str,
        path: Path,
        stream: BankFileStream,
        rows: ReportRows,
        landed: list[tuple[object, ...]],
        new_entries: int,
    ) -> FileResult:
        landed_seqs = {seq for (seq,) in landed}
        keys = [r.key for r in rows.reports]
        warnings = list(stream.warnings)
        new = []
        for index, report in enumerate(rows.reports):
            if report.seq in landed_seqs:
                new.append(report)
            elif report.key in keys[:index]:
                warnings.append(
                    f"{report.label} repeats report {keys.index(report.key) + 1} of the file: skipped"
                )
            else:
                warnings.append(f"{report.label} was already loaded from another file: skipped")
        common = {
            "format": stream.format,
            "report_kind": stream.report_kind,
            "sha256": sha,
        }
        if not new:
            return FileResult(
                path.name,
                status="duplicate",
                statements=len(rows.reports),
                entries=sum(r.entry_count for r in rows.reports),
                credit_total=str(sum((r.credit_total for r in rows.reports), Decimal(0))),
                debit_total=str(sum((r.debit_total for r in rows.reports), Decimal(0))),
                reason="every report in it was already loaded from another file",
                warnings=warnings,
                **common,
            )
        warnings += integrity.check_landed(conn, new, sha, path.name)
        self._supersede(conn, new, path.name)
        return FileResult(
            path.name,
            status="loaded",
            statements=len(new),
            entries=sum(r.entry_count for r in new),
            credit_total=str(sum((r.credit_total for r in new), Decimal(0))),
            debit_total=str(sum((r.debit_total for r in new), Decimal(0))),
            warnings=warnings,
            **common,
        )

    @staticmethod
    def _check_conflicts(conn: psycopg.Connection, rows: ReportRows, sha: str) -> None:
        """A final statement already loaded with the same identity but other figures: quarantine."""
        for report in rows.reports:
            head, tail = report.head, report.tail
            if head.report_kind != REPORT_STATEMENT:
                continue
            clash = conn.execute(
                """
                select coalesce(f.file_name, s._source), s.opening_balance, s.closing_balance, s.entry_count
                from raw_bank.statements as s
                left join ops.bank_files as f on f.file_sha256 = s.file_sha256
                where s.account_id = %s and s.statement_id = %s and s.report_kind = 'statement'
                    and s.sequence_number is not distinct from %s
                    and s.opening_date is not distinct from %s and s.closing_date is not distinct from %s
                    and s.statement_key <> %s and s.file_sha256 <> %s
                limit 1
                """,
                (
                    head.account_id,
                    head.statement_id,
                    head.sequence,
                    head.opening.on if head.opening else None,
                    tail.closing.on if tail.closing else None,
                    report.key,
                    sha,
                ),
            ).fetchone()
            if clash:
                other, opening, closing, count = clash
                raise BankFileError(
                    f"{report.label} of {(tail.closing.on if tail.closing else None) or '?'} was already loaded"
                    f" from {other} with opening {opening}, closing {closing} and {count} entries; this file"
                    f" states opening {head.opening.amount if head.opening else None}, closing"
                    f" {tail.closing.amount if tail.closing else None} and {report.entry_count} entries"
                    " (a corrected statement for one already loaded: reverse the loaded one by hand"
                    " before loading the correction)"
                )

    @staticmethod
    def _supersede(conn: psycopg.Connection, new: list[LandedReport], file_name: str) -> None:
        """Mark quarantined files whose reports this file delivered (a corrected re-delivery)."""
        for report in new:
            head = report.head
            conn.execute(
                """
                update ops.bank_files set superseded_by = %s
                where status = 'quarantined' and superseded_by is null and statement_ids @> %s
                """,
                (
                    file_name,
                    Jsonb([{"account": head.account_id, "id": head.statement_id, "seq": head.sequence}]),
                ),
            )

    def retry(self, name: str) -> FileResult:
        """Try a quarantined file again (after a fix of the file, the parser or the configuration).

        ``name`` is the file's name in the quarantine folder, a path, or a prefix of its SHA-256. A file
        that loads leaves the quarantine folder; one that fails again stays, with the new reason.

        Raises:
            FileNotFoundError: No such quarantined file.
        """
        path = self._find_quarantined(name)
        return self.ingest([path])[0]

    def _find_quarantined(self, name: str) -> Path:
        candidate = Path(name)
        if candidate.is_file():
            return candidate
        if (self.quarantine / name).is_file():
            return self.quarantine / name
        with psycopg.connect(self.url) as conn:
            row = conn.execute(
                "select quarantined_as from ops.bank_files where status = 'quarantined'"
                " and (file_sha256 like %s or file_name = %s) order by last_tried_at desc limit 1",
                (name.lower() + "%", name),
            ).fetchone()
        if row and row[0] and Path(row[0]).is_file():
            return Path(row[0])
        raise FileNotFoundError(f"no quarantined bank file {name!r} in {self.quarantine}")

    def quarantined(self) -> list[dict[str, object]]:
        """Every file held in quarantine, newest first, with its reason, tries and whether a later file
        delivered its reports (``superseded_by``)."""
        with psycopg.connect(self.url) as conn:
            cursor = conn.execute(
                """
                select file_name, file_sha256, first_seen_at, last_tried_at, tries, reason, quarantined_as,
                    archived_as, superseded_by
                from ops.bank_files where status = 'quarantined'
                order by last_tried_at desc nulls last, file_name
                """
            )
            names = [c.name for c in cursor.description or ()]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _statements(stream: BankFileStream) -> Iterator[StatementStream]:
    return stream.statements


def _rekey(conn: psycopg.Connection, staged: sql.Identifier, rows: ReportRows) -> None:
    """Give the copied entry rows their report's key, known once its tail was read."""
    if not rows.reports:
        return
    conn.execute(
        sql.SQL(
            "update {} as e set statement_key = k.key from unnest(%s::text[], %s::text[]) as k(pending, key)"
            " where e.statement_key = k.pending"
        ).format(staged),
        (
            [f"pending:{rows.sha}:{r.seq}" for r in rows.reports],
            [r.key for r in rows.reports],
        ),
    )
