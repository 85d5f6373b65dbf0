"""The landing layer: every source's rows reach ``raw_*`` through this module, and only through it.

Sources only read and yield rows (or COPY chunks); this module owns the rest. Two kinds of source land
through the same core (temp-table COPY, row hash, version identity, insert-on-conflict, load log):

- **interval sources** (ERP, logistics) with :func:`land`: rows changed in a change-time window
  (:class:`Window`), with deletions and a watermark;
- **file sources** (bank statement files) with :func:`land_batch`: a file is a batch, given by the
  caller, with no window, watermark or deletions. Its rows are facts, not versions of a changing row:
  their table has no change column and a row is identified by its key alone, so the same row read from
  another file (or the same file again) adds nothing; the insert returns which rows were new.

- **Versions are immutable.** A landed row is a *version* of a source row, identified by its key, its
  change time and a hash of its content (``_version_id``). Landing inserts the versions it has not seen
  and ignores the others, so a re-run, a backfill or an overlapping window adds what is missing and never
  deletes or duplicates what was landed.
- **The first load** of an entity reads the source's current state; its versions are marked
  ``_is_initial``: a row that changed before o2c first read it has no earlier version, and staging lets
  such a row stand for the dates before its change (business dates then decide what existed).
- **Deletions are tombstones**: a version with ``_is_deleted`` set, the key filled in, the other columns
  empty and the deletion time as its change time. Staging drops a key as of its deletion time. A
  tombstone from key reconciliation (``_source`` ``tombstone:reconciliation``) only says the key was
  absent when the source was read; a version landed later with an older change time (a late commit)
  proves otherwise, and staging then ignores that tombstone (macro ``void_reconciliation_tombstone``).
- **Windows** read ``(watermark − lookback, interval end]``: the overlap catches rows committed late with
  an older change time; version identity removes the overlap's repeats.
- **Schema drift**: a new source column is added to the raw table; a column that disappeared or changed
  type stops that table with :class:`SchemaDriftError` naming table and column, and nothing of it lands.
- **Load log**: ``ops.load_batches`` keeps each (entity, interval) window, ``ops.load_log`` every run of it,
  ``ops.watermarks`` how far each entity has been read, ``ops.source_columns`` the columns seen. A file
  batch has no window: it gets an ``ops.load_log`` row per table and run, with no ``extracted_from``/
  ``extracted_to``; the file source keeps its own ledger of files (``ops.bank_files``).

Everything for one entity happens in one transaction under the entity's advisory lock; when the caller
is already in a transaction (a bank file lands its statements, its entries and its ``ops.bank_files``
record together), it is a savepoint of the caller's, which commits or rolls back everything together.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from o2c.warehouse.locks import lock_entity

META_COLUMNS: tuple[tuple[str, str], ...] = (
    ("_batch_id", "text not null"),
    ("_loaded_at", "timestamptz not null"),
    ("_source", "text not null"),
    ("_row_hash", "text"),
    ("_version_id", "text"),
    ("_is_deleted", "boolean not null default false"),
    ("_is_initial", "boolean not null default false"),
)
META_NAMES = tuple(name for name, _ in META_COLUMNS)
_SEP = chr(31)  # unit separator: joins key parts for hashing without ambiguity
_COPY_BLOCK = 1 << 20


class LandingError(RuntimeError):
    """Rows could not be landed; the message names the table and the reason."""


class SchemaDriftError(LandingError):
    """A source column disappeared or changed type: the table stops, nothing of it is landed."""


@dataclass(frozen=True)
class RawTable:
    """Where one source entity lands and how its versions are identified."""

    source: str
    """source system, e.g. ``erp``"""
    entity: str
    """the source's name for it, e.g. ``VBAP``"""
    schema: str
    name: str
    key_columns: tuple[str, ...]
    change_column: str | None
    """the column holding each version's change time (text or timestamptz); ``None`` for a file source's
    table, whose rows are facts identified by their key alone (landed with :func:`land_batch`)"""
    drift_type: str | None = "text"
    """type given to a column the source grows later; ``None``: the layout is fixed"""
    fixed_columns: tuple[tuple[str, str], ...] = ()
    """data columns created with the table (name, type); others arrive by drift"""

    @property
    def qualified(self) -> sql.Composed:
        return sql.SQL("{}.{}").format(sql.Identifier(self.schema), sql.Identifier(self.name))

    @property
    def label(self) -> str:
        return f"{self.schema}.{self.name} ({self.source} {self.entity})"

    @property
    def identity_columns(self) -> tuple[str, ...]:
        """The columns that, with the row's hash when there is a change column, identify a version."""
        return self.key_columns if self.change_column is None else (*self.key_columns, self.change_column)

    def versioned_change_column(self) -> str:
        """The change column of an interval source's table; raises for a file source's."""
        if self.change_column is None:
            raise LandingError(f"{self.label} has no change column: land its files with land_batch()")
        return self.change_column


@dataclass(frozen=True)
class Window:
    """The change-time window one batch reads: ``(extracted_from, extracted_to]``."""

    batch_id: str
    extracted_from: datetime | None
    """exclusive lower bound, lookback included; ``None`` = from the beginning"""
    extracted_to: datetime
    """inclusive upper bound: the interval's end"""
    is_backfill: bool
    """the interval ends before the entity's watermark: an older night re-read after newer ones"""


@dataclass(frozen=True)
class Tombstone:
    """A source row deleted at ``deleted_at`` (key values in ``RawTable.key_columns`` order)."""

    key: tuple[str, ...]
    deleted_at: datetime


@dataclass(frozen=True)
class Reconciliation:
    """Key reconciliation for a table without change documents: every key the source holds in ``scope``
    now; keys alive in the warehouse within the same scope but absent here were deleted."""

    keys: Iterable[Sequence[str]]
    deleted_at: datetime
    scope: sql.Composable | None = None
    """a condition on the raw table's columns limiting what is compared (e.g. recent clearing dates)"""


@dataclass
class LandResult:
    table: str
    batch_id: str
    read: int
    new_versions: int
    tombstones: int
    extracted_from: datetime | None
    extracted_to: datetime | None
    """the window's end; ``None`` for a file batch (:func:`land_batch`)"""
    warnings: list[str] = field(default_factory=list)
    landed: list[tuple[Any, ...]] = field(default_factory=list)
    """the ``returning`` columns of each row inserted (:func:`land_batch`)"""


def batch_id_for(source: str, entity: str, interval_end: datetime) -> str:
    return f"{source}:{entity}:{interval_end.strftime('%Y%m%dT%H%M%SZ')}"


def resolve_window(
    conn: psycopg.Connection,
    table: RawTable,
    interval_start: datetime,
    interval_end: datetime,
    lookback: timedelta,
) -> Window:
    """This interval's window: the stored one on a re-run, else (watermark − lookback, interval end].

    The first run ever reads everything up to the interval's end. A backfill of an interval older than
    the watermark reads (interval start − lookback, interval end].
    """
    batch_id = batch_id_for(table.source, table.entity, interval_end)
    mark_row = conn.execute(
        "select high_water from ops.watermarks where source = %s and entity = %s",
        (table.source, table.entity),
    ).fetchone()
    mark = mark_row[0] if mark_row else None
    is_backfill = mark is not None and interval_end < mark
    stored = conn.execute(
        "select extracted_from, extracted_to from ops.load_batches where batch_id = %s", (batch_id,)
    ).fetchone()
    if stored:
        return Window(batch_id, stored[0], stored[1], is_backfill)
    if mark is None:
        lower = None
    elif mark < interval_end:
        lower = mark - lookback
    else:
        lower = interval_start - lookback
    return Window(batch_id, lower, interval_end, is_backfill)


def check_source_schema(
    conn: psycopg.Connection, table: RawTable, columns: Sequence[tuple[str, str]]
) -> list[str]:
    """Compare the source's columns (name, type) with those seen before; return the new ones' names.

    Raises :class:`SchemaDriftError` when a column seen before is gone or has another type.
    """
    seen: dict[str, str] = dict(
        conn.execute(
            "select column_name, data_type from ops.source_columns where source = %s and entity = %s",
            (table.source, table.entity),
        ).fetchall()
    )
    current = {name.lower(): kind for name, kind in columns}
    problems = []
    for name, kind in sorted(seen.items()):
        if name not in current:
            problems.append(f"column {name.upper()} ({kind}) is gone from the source (dropped or renamed)")
        elif current[name] != kind:
            problems.append(f"column {name.upper()} changed type from {kind} to {current[name]}")
    if problems:
        raise SchemaDriftError(
            f"{table.source} table {table.entity}: "
            + "; ".join(problems)
            + f". Nothing of {table.entity} was "
            f"loaded (the other tables were); adapt the staging model, then record the change with "
            f"`o2c source accept-schema {table.source} {table.entity}`."
        )
    conn.execute(
        """insert into ops.source_columns (source, entity, column_name, data_type)
           select %s, %s, name, kind from unnest(%s::text[], %s::text[]) as c(name, kind)
           on conflict (source, entity, column_name) do update set last_seen_at = now()""",
        (table.source, table.entity, list(current), list(current.values())),
    )
    return [name for name in current if name not in seen]


def accept_source_schema(conn: psycopg.Connection, source: str, entity: str) -> int:
    """Forget the recorded columns of one source table, so the next load records its current layout."""
    with conn.transaction():
        return conn.execute(
            "delete from ops.source_columns where source = %s and entity = %s", (source, entity)
        ).rowcount


def _raw_columns(conn: psycopg.Connection, table: RawTable) -> dict[str, str]:
    return dict(
        conn.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = %s and table_name = %s",
            (table.schema, table.name),
        ).fetchall()
    )


def ensure_table(conn: psycopg.Connection, table: RawTable, data_columns: Sequence[str] = ()) -> None:
    """Create the raw table (or migrate an older layout) and add any new data columns."""
    conn.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(table.schema)))
    existing = _raw_columns(conn, table)
    if not existing:
        definitions = [sql.SQL("{} {}").format(sql.Identifier(n), sql.SQL(t)) for n, t in META_COLUMNS]
        definitions += [
            sql.SQL("{} {}").format(sql.Identifier(n), sql.SQL(t)) for n, t in table.fixed_columns
        ]
        conn.execute(sql.SQL("create table {} ({})").format(table.qualified, sql.SQL(", ").join(definitions)))
        existing = _raw_columns(conn, table)
    for name, kind in META_COLUMNS:
        if name not in existing:  # a table landed before versions had identities
            conn.execute(
                sql.SQL("alter table {} add column {} {}").format(
                    table.qualified, sql.Identifier(name), sql.SQL(kind)
                )
            )
    for name in data_columns:
        if name not in existing:
            if table.drift_type is None:
                raise SchemaDriftError(f"{table.label}: unexpected column {name} in a fixed layout")
            conn.execute(
                sql.SQL("alter table {} add column {} {}").format(
                    table.qualified, sql.Identifier(name), sql.SQL(table.drift_type)
                )
            )
    _identify_legacy_rows(conn, table)
    conn.execute(
        sql.SQL("create unique index if not exists {} on {} (_version_id)").format(
            sql.Identifier(f"{table.name}__version_uq"), table.qualified
        )
    )
    conn.execute(
        sql.SQL("create index if not exists {} on {} ({})").format(
            sql.Identifier(f"{table.name}__key_idx"),
            table.qualified,
            sql.SQL(", ").join(sql.Identifier(c) for c in table.identity_columns),
        )
    )
    conn.execute(
        sql.SQL("create index if not exists {} on {} (_batch_id)").format(
            sql.Identifier(f"{table.name}__batch_idx"), table.qualified
        )
    )


def _data_json(alias: str) -> sql.Composed:
    """The row's data as canonical JSON (meta columns and nulls removed): the basis of its hash."""
    return sql.SQL("jsonb_strip_nulls(to_jsonb({}) - {})").format(
        sql.Identifier(alias), sql.SQL("array[{}]").format(sql.SQL(", ").join(map(sql.Literal, META_NAMES)))
    )


def _version_id(table: RawTable, alias: str, row_hash: sql.Composable) -> sql.Composed:
    """key | change time | row hash; a file source's row (no change column): its key alone."""
    parts: list[sql.Composable] = [
        sql.SQL("{}.{}::text").format(sql.Identifier(alias), sql.Identifier(c))
        for c in table.identity_columns
    ]
    if table.change_column is not None:
        parts.append(row_hash)
    return sql.SQL("md5(concat_ws({}, {}))").format(sql.Literal(_SEP), sql.SQL(", ").join(parts))


def _identify_legacy_rows(conn: psycopg.Connection, table: RawTable) -> None:
    """Give rows landed before version identities existed their identity; drop their exact repeats."""
    missing = conn.execute(
        sql.SQL("select exists (select 1 from {} where _version_id is null)").format(table.qualified)
    ).fetchone()
    if not missing or not missing[0]:
        return
    row_hash = sql.SQL("md5({}::text)").format(_data_json("legacy"))
    conn.execute(
        sql.SQL("update {} as legacy set _row_hash = {} where _row_hash is null").format(
            table.qualified, row_hash
        )
    )
    conn.execute(
        sql.SQL("update {} as legacy set _version_id = {} where _version_id is null").format(
            table.qualified, _version_id(table, "legacy", sql.SQL("legacy._row_hash"))
        )
    )
    conn.execute(
        sql.SQL(
            "delete from {} as later using {} as earlier where later._version_id = earlier._version_id "
            "and (later._loaded_at, later.ctid) > (earlier._loaded_at, earlier.ctid)"
        ).format(table.qualified, table.qualified)
    )


def _change_ts(table: RawTable, alias: str) -> sql.Composed:
    return sql.SQL("cast({}.{} as timestamptz)").format(
        sql.Identifier(alias), sql.Identifier(table.versioned_change_column())
    )


def _check_columns(table: RawTable, columns: Sequence[str]) -> None:
    missing = [c for c in table.identity_columns if c not in columns]
    if missing:
        raise LandingError(f"{table.label}: the rows lack the key/change column(s) {', '.join(missing)}")


def _insert_versions(
    conn: psycopg.Connection,
    table: RawTable,
    batch_id: str,
    loaded_at: datetime,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]] | None,
    chunks: Iterable[bytes] | None,
    *,
    source_label: str,
    is_initial: bool,
    returning: Sequence[str] = (),
    prepare: Callable[[psycopg.Connection, sql.Identifier], None] | None = None,
) -> tuple[int, int, list[tuple[Any, ...]]]:
    """COPY the rows into a temp table, then insert the versions ``table`` does not hold yet.

    The temp table (columns and types of ``table``'s ``columns``) belongs to the session and is reused by
    every landing of the same table and columns: emptied after each use, it costs a fraction of creating
    and dropping one per landing (a bank file lands two tables; three years of history are 3,000 files).
    Rolled back with the transaction that created it, it is simply created again.

    ``prepare`` runs between the COPY and the insert, given the temp table: a file source whose rows' key
    is known only once they are all read (a bank statement's closing balance follows its entries) fills it
    in there.

    Returns (rows read, versions inserted, the ``returning`` columns of each inserted row).
    """
    column_list = sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    layout = _SEP.join([table.schema, table.name, *columns])
    staged = sql.Identifier("_land_" + hashlib.md5(layout.encode(), usedforsecurity=False).hexdigest()[:16])
    conn.execute(
        sql.SQL("create temp table if not exists {} as select {} from {} with no data").format(
            staged, column_list, table.qualified
        )
    )
    written = 0
    with conn.cursor().copy(sql.SQL("copy {} ({}) from stdin").format(staged, column_list)) as copy:
        if chunks is not None:
            # a source's COPY yields a chunk per row: pass them on in blocks of about 1 MB, not one by one
            block = bytearray()
            for chunk in chunks:
                block += chunk
                if len(block) >= _COPY_BLOCK:
                    copy.write(bytes(block))
                    block.clear()
            if block:
                copy.write(bytes(block))
        for row in rows or ():
            copy.write_row(row)
            written += 1
    if chunks is not None:
        read = conn.execute(sql.SQL("select count(*) from {}").format(staged)).fetchone()[0]  # type: ignore[index]
    else:
        read = written
    if prepare is not None:
        prepare(conn, staged)
    row_hash = sql.SQL("md5({}::text)").format(_data_json("_land"))
    statement = sql.SQL(
        "insert into {target} ({cols}, _batch_id, _loaded_at, _source, _row_hash, _version_id, "
        "_is_initial) "
        "select {cols}, %(batch)s, %(loaded_at)s, %(source)s, hashed._row_hash, {version}, "
        "%(initial)s "
        "from (select _land.*, {row_hash} as _row_hash from {staged} as _land) as hashed "
        "on conflict (_version_id) do nothing"
    ).format(
        target=table.qualified,
        cols=column_list,
        row_hash=row_hash,
        staged=staged,
        version=_version_id(table, "hashed", sql.SQL("hashed._row_hash")),
    )
    if returning:
        statement = sql.SQL("{} returning {}").format(
            statement, sql.SQL(", ").join(sql.Identifier(c) for c in returning)
        )
    cursor = conn.execute(
        statement,
        {"batch": batch_id, "loaded_at": loaded_at, "source": source_label, "initial": is_initial},
    )
    inserted = cursor.rowcount
    landed = [tuple(row) for row in cursor.fetchall()] if returning else []
    # a few rows (a bank file): delete them; many (a table's first load): truncate, a flat few milliseconds
    conn.execute(sql.SQL("delete from {}" if read < 1000 else "truncate {}").format(staged))
    _analyze_if_grown(conn, table, inserted)
    return read, inserted, landed


ANALYZE_MIN_ROWS = 1000
"""Rows a landing must add (and a tenth of the table's size) for the table to be analyzed at once."""


def _analyze_if_grown(conn: psycopg.Connection, table: RawTable, inserted: int) -> None:
    """ANALYZE the raw table when this landing added at least a tenth of it (and ANALYZE_MIN_ROWS rows).

    Autovacuum analyzes such a table too, but only when it next comes round (its naptime is a minute), and a
    nightly build starts seconds after the extract: the staging views over a table without statistics were
    planned blind (a clean clone's first load once spent 15 minutes in ``fct_receivables_daily``, 20 s
    otherwise). A bank file's few rows never trigger it once the table holds more than ten files' worth."""
    if inserted < ANALYZE_MIN_ROWS:
        return
    estimated = conn.execute(
        "select greatest(reltuples, 0) from pg_class where oid = %s::regclass",
        (table.qualified.as_string(conn),),
    ).fetchone()
    if estimated is None or inserted >= 0.1 * float(estimated[0]):
        conn.execute(sql.SQL("analyze {}").format(table.qualified))


def land(
    conn: psycopg.Connection,
    table: RawTable,
    window: Window,
    interval: tuple[datetime, datetime],
    columns: Sequence[str],
    *,
    rows: Iterable[Sequence[Any]] | None = None,
    chunks: Iterable[bytes] | None = None,
    tombstones: Iterable[Tombstone] = (),
    reconciliation: Reconciliation | None = None,
    source_schema: Sequence[tuple[str, str]] | None = None,
    source_label: str | None = None,
    detail: dict[str, Any] | None = None,
) -> LandResult:
    """Land one window of an interval source's ``table`` in one transaction: new versions, tombstones,
    the window, the load log and the watermark.

    ``columns`` names the data columns in the order ``rows`` (tuples) or ``chunks`` (COPY text format)
    provide them; it must include the key and change columns. ``source_schema`` (name, type) is checked
    against the columns seen before (:func:`check_source_schema`) inside the same transaction.
    """
    table.versioned_change_column()  # raises for a file source's table
    _check_columns(table, columns)
    with conn.transaction():
        lock_entity(conn, f"{table.source}:{table.entity}")
        if source_schema is not None:
            check_source_schema(conn, table, source_schema)
        ensure_table(conn, table, columns)
        loaded_at = conn.execute("select now()").fetchone()[0]  # type: ignore[index]
        read, inserted, _ = _insert_versions(
            conn,
            table,
            window.batch_id,
            loaded_at,
            columns,
            rows,
            chunks,
            source_label=source_label or table.label,
            is_initial=window.extracted_from is None,
        )
        deleted = _land_tombstones(conn, table, window.batch_id, loaded_at, list(tombstones))
        if reconciliation is not None:
            deleted += _reconcile(conn, table, window.batch_id, loaded_at, reconciliation)
        result = LandResult(
            table.entity, window.batch_id, read, inserted, deleted, window.extracted_from, window.extracted_to
        )
        _record_window(conn, table, window, interval, result, detail or {})
        _log_run(conn, table, result, window.is_backfill, detail or {})
    return result


def land_batch(
    conn: psycopg.Connection,
    table: RawTable,
    batch_id: str,
    columns: Sequence[str],
    *,
    rows: Iterable[Sequence[Any]] | None = None,
    chunks: Iterable[bytes] | None = None,
    source_label: str | None = None,
    detail: dict[str, Any] | None = None,
    returning: Sequence[str] = (),
    ensure: bool = True,
    prepare: Callable[[psycopg.Connection, sql.Identifier], None] | None = None,
) -> LandResult:
    """Land one file (a batch with no change-time window) of a file source's ``table``.

    The rows whose key ``table`` does not hold yet are inserted under ``batch_id``; a row landed before,
    from this file or another, adds nothing. ``returning`` names columns to report for each inserted row
    (:attr:`LandResult.landed`), so that the source can tell which of its rows were new. The run is
    logged in ``ops.load_log`` (no window, no watermark). One transaction under the entity's lock: a
    savepoint when the caller is in a transaction, so that a file's tables and the caller's record of it
    commit or roll back together.

    ``prepare`` (see :func:`_insert_versions`) completes the copied rows before they are inserted.

    ``ensure=False`` skips :func:`ensure_table`: for a caller that ensured the table (committed) before
    landing many files with a fixed layout, the bank intake.
    """
    if table.change_column is not None:
        raise LandingError(f"{table.label} has a change column: land its windows with land()")
    _check_columns(table, columns)
    with conn.transaction():
        lock_entity(conn, f"{table.source}:{table.entity}")
        if ensure:
            ensure_table(conn, table, columns)
        loaded_at = conn.execute("select now()").fetchone()[0]  # type: ignore[index]
        read, inserted, landed = _insert_versions(
            conn,
            table,
            batch_id,
            loaded_at,
            columns,
            rows,
            chunks,
            source_label=source_label or table.label,
            is_initial=False,
            returning=returning,
            prepare=prepare,
        )
        result = LandResult(table.entity, batch_id, read, inserted, 0, None, None, landed=landed)
        _log_run(conn, table, result, False, detail or {})
    return result


def _insert_tombstones_from(
    conn: psycopg.Connection,
    table: RawTable,
    batch_id: str,
    loaded_at: datetime,
    select: sql.Composable,
    skip_if_deleted: bool,
) -> int:
    origin = "tombstone:reconciliation" if skip_if_deleted else "tombstone:change-document"
    """Insert tombstones for ``select`` (key columns then ``deleted_at``); with ``skip_if_deleted``, not for
    keys whose latest version is a tombstone already (reconciliation repeats itself every night)."""
    keys = sql.SQL(", ").join(sql.Identifier(c) for c in table.key_columns)
    latest_deleted = sql.SQL(
        "(select latest._is_deleted from {target} as latest where {match} "
        "order by {change} desc, latest._loaded_at desc limit 1)"
    ).format(
        target=table.qualified,
        match=sql.SQL(" and ").join(
            sql.SQL("latest.{c} = dead.{c}").format(c=sql.Identifier(c)) for c in table.key_columns
        ),
        change=_change_ts(table, "latest"),
    )
    change_type = _raw_columns(conn, table)[table.versioned_change_column()]
    change_value = (
        sql.SQL("to_char(dead.deleted_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US+00')")
        if change_type == "text"
        else sql.SQL("dead.deleted_at")
    )
    tomb_hash = sql.SQL("md5('deleted')")
    statement = sql.SQL(
        "insert into {target} ({keys}, {change}, _batch_id, _loaded_at, _source, _row_hash, _version_id, "
        "_is_deleted) "
        "select {dead_keys}, {change_value}, %(batch)s, %(loaded_at)s, %(origin)s, {tomb_hash}, "
        "md5(concat_ws({sep}, {dead_key_text}, {change_value}, {tomb_hash})), true "
        "from ({select}) as dead where {condition} "
        "on conflict (_version_id) do nothing"
    ).format(
        target=table.qualified,
        keys=keys,
        change=sql.Identifier(table.versioned_change_column()),
        dead_keys=sql.SQL(", ").join(sql.SQL("dead.{}").format(sql.Identifier(c)) for c in table.key_columns),
        change_value=change_value,
        tomb_hash=tomb_hash,
        sep=sql.Literal(_SEP),
        dead_key_text=sql.SQL(", ").join(
            sql.SQL("dead.{}::text").format(sql.Identifier(c)) for c in table.key_columns
        ),
        select=select,
        condition=sql.SQL("coalesce({}, false) = false").format(latest_deleted)
        if skip_if_deleted
        else sql.SQL("true"),
    )
    return conn.execute(statement, {"batch": batch_id, "loaded_at": loaded_at, "origin": origin}).rowcount


def _land_tombstones(
    conn: psycopg.Connection, table: RawTable, batch_id: str, loaded_at: datetime, tombstones: list[Tombstone]
) -> int:
    if not tombstones:
        return 0
    key_defs = sql.SQL(", ").join(sql.SQL("{} text").format(sql.Identifier(c)) for c in table.key_columns)
    conn.execute(
        sql.SQL("create temp table _tomb ({}, deleted_at timestamptz) on commit drop").format(key_defs)
    )
    names = sql.SQL(", ").join(sql.Identifier(c) for c in [*table.key_columns, "deleted_at"])
    with conn.cursor().copy(sql.SQL("copy _tomb ({}) from stdin").format(names)) as copy:
        for tomb in tombstones:
            if len(tomb.key) != len(table.key_columns):
                raise LandingError(
                    f"{table.label}: tombstone key {tomb.key} does not match {table.key_columns}"
                )
            copy.write_row([*tomb.key, tomb.deleted_at])
    # every deletion is a version of its own (a key may be deleted, re-created and deleted again)
    select = sql.SQL("select distinct {keys}, deleted_at from _tomb").format(
        keys=sql.SQL(", ").join(sql.Identifier(c) for c in table.key_columns)
    )
    count = _insert_tombstones_from(conn, table, batch_id, loaded_at, select, skip_if_deleted=False)
    conn.execute("drop table _tomb")
    return count


def _reconcile(
    conn: psycopg.Connection, table: RawTable, batch_id: str, loaded_at: datetime, rec: Reconciliation
) -> int:
    key_defs = sql.SQL(", ").join(sql.SQL("{} text").format(sql.Identifier(c)) for c in table.key_columns)
    conn.execute(sql.SQL("create temp table _keys ({}) on commit drop").format(key_defs))
    names = sql.SQL(", ").join(sql.Identifier(c) for c in table.key_columns)
    with conn.cursor().copy(sql.SQL("copy _keys ({}) from stdin").format(names)) as copy:
        for key in rec.keys:
            copy.write_row(key)
    conn.execute("analyze _keys")
    keys = sql.SQL(", ").join(sql.Identifier(c) for c in table.key_columns)
    # The deletion is dated at the window's end, never before the version it deletes, and never at or
    # before the end of an interval read earlier: that run saw the key alive after its interval's end (a
    # re-run of the latest night, days later, must not date a newer deletion back into that night).
    seen_alive_after = sql.SQL(
        "(select max(interval_end) from ops.load_batches where source = {source} and entity = {entity})"
    ).format(source=sql.Literal(table.source), entity=sql.Literal(table.entity))
    select = sql.SQL(
        "select {keys}, greatest(%(deleted_at)s, changed + interval '1 microsecond', "
        "{seen_alive_after} + interval '1 microsecond') as deleted_at from ("
        "select distinct on ({keys}) {keys}, {change} as changed, _is_deleted from {target} as versions "
        "where {scope} order by {keys}, {change} desc, _loaded_at desc) as alive "
        "where not alive._is_deleted and not exists (select 1 from _keys where {match})"
    ).format(
        keys=keys,
        change=_change_ts(table, "versions"),
        target=table.qualified,
        seen_alive_after=seen_alive_after,
        scope=rec.scope if rec.scope is not None else sql.SQL("true"),
        match=sql.SQL(" and ").join(
            sql.SQL("_keys.{c} = alive.{c}::text").format(c=sql.Identifier(c)) for c in table.key_columns
        ),
    )
    conn.execute(
        sql.SQL("create temp table _gone on commit drop as {}").format(select), {"deleted_at": rec.deleted_at}
    )
    count = _insert_tombstones_from(
        conn, table, batch_id, loaded_at, sql.SQL("select {}, deleted_at from _gone").format(keys), True
    )
    conn.execute("drop table _gone")
    conn.execute("drop table _keys")
    return count


def _record_window(
    conn: psycopg.Connection,
    table: RawTable,
    window: Window,
    interval: tuple[datetime, datetime],
    result: LandResult,
    detail: dict[str, Any],
) -> None:
    """An interval source's batch (its window) and watermark."""
    conn.execute(
        """
        insert into ops.load_batches (batch_id, source, entity, interval_start, interval_end,
            extracted_from, extracted_to, row_count, detail)
        values (%s, %s, %s, %s, %s, %s, %s, %s, %s)
        on conflict (batch_id) do update set row_count = ops.load_batches.row_count + excluded.row_count,
            loaded_at = now(), detail = excluded.detail
        """,
        (
            window.batch_id,
            table.source,
            table.entity,
            interval[0],
            interval[1],
            window.extracted_from,
            window.extracted_to,
            result.new_versions + result.tombstones,
            Jsonb(detail),
        ),
    )
    conn.execute(
        """
        insert into ops.watermarks (source, entity, high_water) values (%s, %s, %s)
        on conflict (source, entity) do update
            set high_water = greatest(ops.watermarks.high_water, excluded.high_water), updated_at = now()
        """,
        (table.source, table.entity, window.extracted_to),
    )


def _log_run(
    conn: psycopg.Connection, table: RawTable, result: LandResult, is_backfill: bool, detail: dict[str, Any]
) -> None:
    """One row of ``ops.load_log`` per landing of one table: what it read and what was new."""
    conn.execute(
        """
        insert into ops.load_log (batch_id, source, entity, extracted_from, extracted_to, is_backfill,
            rows_read, new_versions, tombstones, detail)
        values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
        """,
        (
            result.batch_id,
            table.source,
            table.entity,
            result.extracted_from,
            result.extracted_to,
            is_backfill,
            result.read,
            result.new_versions,
            result.tombstones,
            Jsonb(detail),
        ),
    )
