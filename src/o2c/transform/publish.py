"""Write-audit-publish of the marts: build and test in a shadow schema, publish in one transaction.

BI users read ``marts`` only. dbt (macro ``generate_schema_name``) builds every model of a published schema
into its shadow (``marts`` → ``marts_next``), so refs and tests resolve there. When ``dbt build`` ends with
no error and no failing test (``warn`` does not block), :func:`publish` makes the shadow's models the live
ones in one transaction. Otherwise nothing changes: BI users keep the last good marts.

**Table models** are rebuilt by every build. Publishing one is catalog work, whatever its size: the live
table is moved out (to ``marts_replaced``, dropped once the publish committed: unlinking its files takes
time) and the shadow table moved in (``alter table ... set schema``). In the same transaction,
what hangs on the live table is carried over (``o2c.transform.carry_over``): its grants (for a new mart,
the schema's default privileges), and the views and materialized views that depend on it, in any schema,
recreated with their definition, options, owner, grants, comments, indexes and triggers. Column comments
come with the table: persist_docs wrote them on the shadow. Row-level security does not come with it:
every published mart with a ``region`` column gets its region policy again in the same transaction
(``o2c.bi.policies``), so BI roles limited to some regions never see a published table unfiltered.
Between builds the shadow holds a stub view per table mart
(``select * from marts.<mart>``), so a build that selects only some models still resolves its refs.

**Incremental models** are a blue/green pair kept equal. The shadow copy persists between runs, so a build
starts from the last published state, never from an empty table. Statement triggers on the shadow copy
record the unique keys of the rows each build touches (``<shadow schema>.<model>__touched``). Publishing
applies exactly those keys to the live table (delete + insert through its unique index): the cost follows
the rows the build recomputed, not the table's history, and the live table keeps its identity (grants,
dependent views). After a failed build the keys stay recorded, and the next build first restores them from
the live table. A shadow copy that keys cannot describe (the first build, ``--full-refresh``, a changed
column or unique key, a truncate) is published whole, like a table, and cloned back from the live table
after the commit: once, at a cost that grows with history.

**Readers.** Before changing anything, the publish takes ``ACCESS EXCLUSIVE`` locks on every live relation
it changes. A transaction that has read the marts therefore keeps seeing the old ones until it ends. The
publish waits for it, under a short lock timeout with retries, so that readers never queue behind it for
long. A statement that starts after the commit sees only the new marts.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
from psycopg import errors, sql

from o2c.bi.policies import ensure_access_objects, protect_regions
from o2c.config import Settings
from o2c.sources.reference.holidays import YEARS_AHEAD, refresh_public_holidays
from o2c.transform.build import DbtError, DbtResult, build
from o2c.transform.carry_over import (
    CarryOverError,
    default_grants,
    dependent_views,
    recreate,
    relation_grants,
)
from o2c.warehouse.locks import BUILD_PUBLISH

log = logging.getLogger(__name__)

TOUCHED_SUFFIX = "__touched"
"""The keys table of an incremental mart's shadow copy: ``<shadow schema>.<model>__touched``."""
TRIGGER_PREFIX = "o2c_publish_track_"
REPLACED_SUFFIX = "_replaced"
"""``marts_replaced``: the live tables a publish replaced, dropped once it committed (never read)."""


class PublishError(RuntimeError):
    """The marts could not be published; nothing of this build is visible. The message says why."""


@dataclass(frozen=True)
class Mart:
    """One model of a published schema: built in ``shadow_schema``, read by BI users in ``schema``."""

    name: str
    schema: str
    shadow_schema: str
    incremental: bool = False
    unique_key: tuple[str, ...] = ()

    @property
    def live(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def shadow(self) -> str:
        return f"{self.shadow_schema}.{self.name}"

    @property
    def replaced(self) -> str:
        """Where a replaced live table waits for its drop, right after the publish commits."""
        return self.schema + REPLACED_SUFFIX

    @property
    def live_sql(self) -> sql.Identifier:
        return sql.Identifier(self.schema, self.name)

    @property
    def shadow_sql(self) -> sql.Identifier:
        return sql.Identifier(self.shadow_schema, self.name)

    @property
    def keys_sql(self) -> sql.Identifier:
        return sql.Identifier(self.shadow_schema, self.name + TOUCHED_SUFFIX)

    @property
    def key_columns(self) -> sql.Composed:
        return sql.SQL(", ").join(sql.Identifier(c) for c in self.unique_key)


@dataclass
class PublishResult:
    """What one publish did. ``applied`` maps an incremental mart to the keys it applied to the live table."""

    as_of: date
    published: list[str] = field(default_factory=list)
    swapped: list[str] = field(default_factory=list)
    applied: dict[str, int] = field(default_factory=dict)
    recreated_views: list[str] = field(default_factory=list)
    region_protected: list[str] = field(default_factory=list)
    """The published marts with a ``region`` column, whose row-level security policy was (re)applied."""
    reseeded: list[str] = field(default_factory=list)
    attempts: int = 0
    transaction_s: float = 0.0
    """The publish transaction, from its first lock to its commit (the last attempt)."""
    readers_blocked_s: float = 0.0
    """From locking the live marts to the commit: how long readers of the marts may wait for the publish."""
    readers_blocked_from: float = 0.0


# ── build, test, publish ──────────────────────────────────────────────────────────────────────────────


def build_and_publish(
    as_of: date,
    url: str,
    settings: Settings,
    *,
    select: str | None = None,
    extra_vars: Mapping[str, object] | None = None,
) -> tuple[DbtResult, PublishResult]:
    """``dbt build`` into the shadow schema, then publish what it built if nothing failed.

    One build at a time (advisory lock ``BUILD_PUBLISH``, waited for). Raises :class:`DbtError` when a model
    or a test failed (nothing published) and :class:`PublishError` when publishing failed (nothing published).
    """
    with exclusive_build(url) as conn:
        refresh_public_holidays(conn, through_year=as_of.year + YEARS_AHEAD)
        prepare_shadows(conn)
        try:
            result = build(as_of, url, settings, select, extra_vars)
        except DbtError:
            _discard_failed_build(conn, settings)
            raise
        outcome = publish(conn, marts_of_run(result), as_of)
    return result, outcome


@contextmanager
def exclusive_build(url: str) -> Iterator[psycopg.Connection]:
    """A connection holding the session advisory lock ``BUILD_PUBLISH`` (waits for another build to end)."""
    conn = psycopg.connect(url, autocommit=True)
    try:
        row = conn.execute("select pg_try_advisory_lock(%s)", (BUILD_PUBLISH,)).fetchone()
        if not (row and row[0]):
            log.warning("another build of the marts is running: waiting for it to finish")
            conn.execute("select pg_advisory_lock(%s)", (BUILD_PUBLISH,))
        yield conn
    finally:
        try:
            if not conn.closed:
                conn.execute("select pg_advisory_unlock(%s)", (BUILD_PUBLISH,))
        except psycopg.Error:  # the session ends below, which releases the lock anyway
            log.debug("could not release the build lock explicitly", exc_info=True)
        conn.close()


def marts_of_run(result: DbtResult) -> list[Mart]:
    """The models this dbt run built successfully into a shadow schema (read from its manifest)."""
    built = {str(r["unique_id"]) for r in result.results if r.get("status") == "success"}
    return [m for uid, m in shadow_models(_manifest(result.target_path)).items() if uid in built]


def shadow_models(manifest: Mapping[str, Any]) -> dict[str, Mart]:
    """Every model of the manifest that dbt builds in a shadow schema, by unique id.

    A model is shadowed when ``generate_schema_name`` gave it another schema than its configured one; the
    configured one (``marts``) is where it is published. Only tables and incremental models (with a
    ``unique_key``) can be published.
    """
    marts: dict[str, Mart] = {}
    for uid, node in manifest.get("nodes", {}).items():
        config = node.get("config") or {}
        live = config.get("schema")
        if node.get("resource_type") != "model" or not live or node.get("schema") == live:
            continue
        materialized = config.get("materialized")
        name = node.get("alias") or node["name"]
        if materialized == "ephemeral":
            continue
        if materialized not in ("table", "incremental"):
            raise PublishError(
                f"model {name} of the published schema {live} is materialized as {materialized}: "
                "only table and incremental models can be published (see DECISIONLOG, write-audit-publish)"
            )
        key = config.get("unique_key") or ()
        unique_key = (key,) if isinstance(key, str) else tuple(key)
        if materialized == "incremental" and not unique_key:
            raise PublishError(
                f"incremental model {name} of the published schema {live} has no unique_key: the publish "
                "applies a build's changes by key; declare the model's unique_key"
            )
        marts[uid] = Mart(name, live, node["schema"], materialized == "incremental", unique_key)
    return marts


def _manifest(target_path: Path | None) -> dict[str, Any]:
    if target_path is None or not (target_path / "manifest.json").exists():
        raise PublishError(f"dbt wrote no manifest.json in {target_path}: cannot tell what to publish")
    manifest: dict[str, Any] = json.loads((target_path / "manifest.json").read_text())
    return manifest


# ── the publish transaction ───────────────────────────────────────────────────────────────────────────


def publish(
    conn: psycopg.Connection,
    marts: Sequence[Mart],
    as_of: date,
    *,
    lock_timeout_ms: int = 5000,
    attempts: int = 12,
) -> PublishResult:
    """Make the shadow copies of ``marts`` the live ones, in one transaction (``conn`` in autocommit).

    Waits at most ``lock_timeout_ms`` for readers' locks per attempt, then rolls back and retries, up to
    ``attempts`` times; raises :class:`PublishError` if readers held the marts all that time.
    """
    result = PublishResult(as_of)
    if not marts:
        return result
    ensure_access_objects(conn)  # what the marts' region policies call (o2c.bi.policies)
    for schema in sorted({m.replaced for m in marts}):
        _drop_replaced(conn, schema)  # what an interrupted publish left; then an empty schema to move into
        conn.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(schema)))
    for attempt in range(1, attempts + 1):
        result = PublishResult(as_of, attempts=attempt)
        started = time.perf_counter()
        try:
            with conn.transaction():
                _publish_once(conn, marts, result, lock_timeout_ms)
        except (errors.LockNotAvailable, errors.DeadlockDetected) as exc:
            if attempt == attempts:
                raise PublishError(
                    f"could not publish {len(marts)} marts: readers held them locked through {attempts} "
                    f"attempts of {lock_timeout_ms} ms ({exc.diag.message_primary})"
                ) from exc
            delay = min(0.5 * 2 ** (attempt - 1), 30.0)
            log.warning(
                "publish attempt %d waited too long for readers' locks; retrying in %.1fs", attempt, delay
            )
            time.sleep(delay)
            continue
        finished = time.perf_counter()
        result.transaction_s = finished - started
        result.readers_blocked_s = finished - result.readers_blocked_from
        break
    log.info(
        "published %d marts for as-of %s in %.3fs, readers held for %.3fs (%d swapped, %s applied by key, "
        "%d dependent views)",
        len(result.published),
        as_of,
        result.transaction_s,
        result.readers_blocked_s,
        len(result.swapped),
        result.applied,
        len(result.recreated_views),
    )
    for schema in sorted({m.replaced for m in marts}):
        _drop_replaced(conn, schema)
    for mart in marts:
        try:
            if mart.live in result.swapped and mart.incremental:
                reseed_shadow(conn, mart)
                result.reseeded.append(mart.live)
            elif not mart.incremental:
                _stub(conn, mart)
        except psycopg.Error:  # the next build's prepare_shadows repairs it
            log.exception("published, but could not prepare the shadow of %s for the next build", mart.live)
    return result


def _publish_once(
    conn: psycopg.Connection, marts: Sequence[Mart], result: PublishResult, timeout: int
) -> None:
    conn.execute(sql.SQL("set local lock_timeout = {}").format(sql.Literal(f"{timeout}ms")))
    # the shadow tables first: waiting for them (autovacuum yields only after deadlock_timeout) blocks no reader
    shadows = sorted(
        (m for m in marts if _oid(conn, m.shadow_schema, m.name) is not None), key=lambda m: m.shadow
    )
    if shadows:
        conn.execute(
            sql.SQL("lock table {} in access exclusive mode").format(
                sql.SQL(", ").join(m.shadow_sql for m in shadows)
            )
        )
    present = sorted((m for m in marts if _oid(conn, m.schema, m.name) is not None), key=lambda m: m.live)
    live = sql.SQL(", ").join(m.live_sql for m in present)
    if present:  # likewise keep autovacuum off the live marts (this lock lets readers in), then shut them out
        conn.execute(sql.SQL("lock table {} in share update exclusive mode").format(live))
    result.readers_blocked_from = time.perf_counter()
    if present:
        conn.execute(sql.SQL("lock table {} in access exclusive mode").format(live))
    state = _state(conn)
    swap: list[Mart] = []
    by_key: list[Mart] = []
    for mart in marts:
        if _oid(conn, mart.shadow_schema, mart.name, kinds="r") is None:
            raise PublishError(f"dbt reported {mart.name} built, but {mart.shadow} is not a table")
        if mart.incremental and _tracking_problem(conn, mart, state.get(mart.live)) is None:
            by_key.append(mart)
        else:
            swap.append(mart)
    live_oids = [oid for m in swap if (oid := _oid(conn, m.schema, m.name)) is not None]
    views = dependent_views(conn, live_oids)
    for view in reversed(views):
        conn.execute(sql.SQL("drop {} {}").format(view.keyword, view.qualified))
    for mart in swap:
        _swap(conn, mart)
        result.swapped.append(mart.live)
    for mart in by_key:
        result.applied[mart.live] = _apply_keys(conn, mart)
    for view in views:
        try:
            recreate(conn, view)
        except CarryOverError as exc:
            raise PublishError(str(exc)) from exc
        result.recreated_views.append(f"{view.schema}.{view.name}")
    # row-level security belongs to the table: a swapped-in mart gets its region policy before the commit
    result.region_protected = protect_regions(conn, [(m.schema, m.name) for m in marts])
    for mart in marts:
        tracked = mart in by_key
        conn.execute(
            "insert into ops.published_marts as published "
            "(relation, shadow_relation, kind, unique_key, shadow_oid, tracked, as_of_date, published_at) "
            "values (%s, %s, %s, %s, %s::oid, %s, %s, now()) on conflict (relation) do update set "
            "shadow_relation = excluded.shadow_relation, kind = excluded.kind, unique_key = excluded.unique_key, "
            "shadow_oid = excluded.shadow_oid, tracked = excluded.tracked, as_of_date = excluded.as_of_date, "
            "published_at = excluded.published_at",
            (
                mart.live,
                mart.shadow,
                "incremental" if mart.incremental else "table",
                list(mart.unique_key),
                _oid(conn, mart.shadow_schema, mart.name) if tracked else None,
                tracked,
                result.as_of,
            ),
        )
        result.published.append(mart.live)


def _swap(conn: psycopg.Connection, mart: Mart) -> None:
    """Replace the live table by the shadow table (catalog only), keeping the live table's grants."""
    shadow_oid = _oid(conn, mart.shadow_schema, mart.name)
    live_oid = _oid(conn, mart.schema, mart.name)
    owner = _one(conn, "select pg_get_userbyid(relowner) from pg_class where oid = %s::oid", shadow_oid)
    grants = (
        relation_grants(conn, live_oid) if live_oid is not None else default_grants(conn, mart.schema, owner)
    )
    if mart.incremental:
        _drop_tracking(conn, mart)
    if live_oid is not None:
        referencing = conn.execute(
            "select conrelid::regclass::text from pg_constraint where confrelid = %s::oid and conrelid <> confrelid",
            (live_oid,),
        ).fetchall()
        if referencing:
            raise PublishError(
                f"cannot replace {mart.live}: foreign keys of {', '.join(r for (r,) in referencing)} reference it "
                "(only views and materialized views that depend on a mart are carried over)"
            )
        # out of sight now, dropped after the commit: unlinking a big table's files is not catalog work
        conn.execute(
            sql.SQL("alter table {} set schema {}").format(mart.live_sql, sql.Identifier(mart.replaced))
        )
    conn.execute(sql.SQL("alter table {} set schema {}").format(mart.shadow_sql, sql.Identifier(mart.schema)))
    for grant in grants:
        if grant.grantee != owner:
            conn.execute(grant.statement(mart.live_sql))


def _drop_replaced(conn: psycopg.Connection, schema: str) -> None:
    """Drop the tables the last publish replaced (each in its own transaction, outside the publish's)."""
    tables = conn.execute(
        "select relname from pg_class where relnamespace = to_regnamespace(%s) and relkind in ('r', 'p') "
        "order by relname",
        (schema,),
    ).fetchall()
    for (name,) in tables:
        try:
            conn.execute(sql.SQL("drop table {} cascade").format(sql.Identifier(schema, name)))
        except psycopg.Error:
            log.exception("could not drop the replaced table %s.%s (the next publish retries)", schema, name)


def _apply_keys(conn: psycopg.Connection, mart: Mart) -> int:
    """Make the live table equal to the shadow copy on the keys the build touched; return how many."""
    touched = _one(conn, sql.SQL("select count(*) from {}").format(mart.keys_sql))
    if touched:
        _copy_keys(conn, mart, source=mart.shadow_sql, target=mart.live_sql)
    _copy_comments(conn, mart)
    conn.execute(sql.SQL("truncate {}").format(mart.keys_sql))
    return int(touched)


def _copy_keys(
    conn: psycopg.Connection, mart: Mart, *, source: sql.Identifier, target: sql.Identifier
) -> None:
    conn.execute(sql.SQL("analyze {}").format(mart.keys_sql))  # a few ms; the plan must use the unique index
    columns = sql.SQL(", ").join(sql.Identifier(name) for name, _ in _columns(conn, _oid_of(conn, target)))
    keys = sql.SQL("select {} from {}").format(mart.key_columns, mart.keys_sql)
    conn.execute(sql.SQL("delete from {} where ({}) in ({})").format(target, mart.key_columns, keys))
    conn.execute(
        sql.SQL("insert into {} ({}) select {} from {} where ({}) in ({})").format(
            target, columns, columns, source, mart.key_columns, keys
        )
    )


def _copy_comments(conn: psycopg.Connection, mart: Mart) -> None:
    """persist_docs wrote the comments on the shadow copy: carry changed ones to the live table."""
    rows = conn.execute(
        "select obj_description(%s::regclass, 'pg_class'), obj_description(%s::regclass, 'pg_class')",
        (mart.shadow, mart.live),
    ).fetchone()
    if rows and rows[0] is not None and rows[0] != rows[1]:
        conn.execute(sql.SQL("comment on table {} is {}").format(mart.live_sql, sql.Literal(rows[0])))
    changed = conn.execute(
        "select shadow.attname, col_description(shadow.attrelid, shadow.attnum) "
        "from pg_attribute as shadow join pg_attribute as live "
        "on live.attrelid = %s::regclass and live.attname = shadow.attname "
        "where shadow.attrelid = %s::regclass and shadow.attnum > 0 and not shadow.attisdropped "
        "and col_description(shadow.attrelid, shadow.attnum) is not null "
        "and col_description(shadow.attrelid, shadow.attnum) "
        "is distinct from col_description(live.attrelid, live.attnum)",
        (mart.live, mart.shadow),
    ).fetchall()
    for column, comment in changed:
        conn.execute(
            sql.SQL("comment on column {}.{} is {}").format(
                mart.live_sql, sql.Identifier(column), sql.Literal(comment)
            )
        )


# ── the shadow between builds ─────────────────────────────────────────────────────────────────────────


def prepare_shadows(conn: psycopg.Connection) -> dict[str, str]:
    """Before a build: make every published mart's shadow start from the live marts.

    A table mart gets a stub view on its live table; an incremental mart's shadow copy gets back, from the
    live table, the keys a failed build left recorded, or is cloned again when it cannot be tracked by keys.
    Returns what was done per mart.
    """
    done: dict[str, str] = {}
    for row in _state(conn).values():
        schema, name = str(row["relation"]).split(".", 1)
        shadow_schema = str(row["shadow_relation"]).split(".", 1)[0]
        mart = Mart(name, schema, shadow_schema, row["kind"] == "incremental", tuple(row["unique_key"]))
        if _oid(conn, schema, name) is None:
            continue
        if not mart.incremental:
            _stub(conn, mart)
            done[mart.live] = "stub"
            continue
        problem = _tracking_problem(conn, mart, row)
        if problem is None:
            with conn.transaction():
                restored = _one(conn, sql.SQL("select count(*) from {}").format(mart.keys_sql))
                if restored:
                    _copy_keys(conn, mart, source=mart.live_sql, target=mart.shadow_sql)
                    conn.execute(sql.SQL("truncate {}").format(mart.keys_sql))
            done[mart.live] = f"restored {restored} keys" if restored else "in step"
        else:
            log.warning("the shadow copy of %s is cloned from the live table again: %s", mart.live, problem)
            reseed_shadow(conn, mart)
            done[mart.live] = f"cloned ({problem})"
    return done


def reseed_shadow(conn: psycopg.Connection, mart: Mart) -> None:
    """Clone the live table into a fresh, tracked shadow copy (cost grows with history: rare by design)."""
    with conn.transaction():
        conn.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(mart.shadow_schema)))
        _drop_any(conn, mart.shadow_schema, mart.name)
        conn.execute(sql.SQL("drop table if exists {}").format(mart.keys_sql))
        conn.execute(
            sql.SQL("create table {} (like {} including all)").format(mart.shadow_sql, mart.live_sql)
        )
        # the rows first, then the indexes: building an index once is about 2.5 times faster than keeping it
        # up to date row by row (3 million rows: 11 s instead of 27 s). Indexes of constraints stay.
        indexes = conn.execute(
            "select i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) from pg_index as i "
            "where i.indrelid = %s::regclass "
            "and not exists (select 1 from pg_constraint as c where c.conindid = i.indexrelid)",
            (mart.shadow_sql.as_string(conn),),
        ).fetchall()
        for name, _ in indexes:
            conn.execute(sql.SQL("drop index {}").format(sql.SQL(name)))
        columns = sql.SQL(", ").join(
            sql.Identifier(n) for n, _ in _columns(conn, _oid_of(conn, mart.live_sql))
        )
        conn.execute(
            sql.SQL("insert into {} ({}) select {} from {}").format(
                mart.shadow_sql, columns, columns, mart.live_sql
            )
        )
        for _, definition in indexes:
            conn.execute(sql.SQL(definition))  # pg_get_indexdef: the exact index, on the shadow copy
        comment = _one(conn, "select obj_description(%s::regclass, 'pg_class')", mart.live)
        if comment is not None:
            conn.execute(sql.SQL("comment on table {} is {}").format(mart.shadow_sql, sql.Literal(comment)))
        track(conn, mart)
        conn.execute(
            "update ops.published_marts set shadow_oid = %s::oid, tracked = true, unique_key = %s where relation = %s",
            (_oid(conn, mart.shadow_schema, mart.name), list(mart.unique_key), mart.live),
        )
    conn.execute(sql.SQL("analyze {}").format(mart.shadow_sql))


def track(conn: psycopg.Connection, mart: Mart) -> None:
    """Record the unique keys every statement touches on the shadow copy (``ops.publish_track_touched_keys``)."""
    conn.execute(
        sql.SQL("create table {} as select {} from {} with no data").format(
            mart.keys_sql, mart.key_columns, mart.shadow_sql
        )
    )
    conn.execute(sql.SQL("create unique index on {} ({})").format(mart.keys_sql, mart.key_columns))
    keys_table = sql.Literal(mart.keys_sql.as_string(conn))
    key_list = sql.Literal(mart.key_columns.as_string(conn))
    for event, referencing in (
        ("insert", "new table as touched_new"),
        ("delete", "old table as touched_old"),
        ("update", "old table as touched_old new table as touched_new"),
        ("truncate", ""),
    ):
        conn.execute(
            sql.SQL(
                "create trigger {} after {} on {} {} for each statement "
                "execute function ops.publish_track_touched_keys({}, {})"
            ).format(
                sql.Identifier(TRIGGER_PREFIX + event),
                sql.SQL(event),
                mart.shadow_sql,
                sql.SQL(f"referencing {referencing}" if referencing else ""),
                keys_table,
                key_list,
            )
        )


def _drop_tracking(conn: psycopg.Connection, mart: Mart) -> None:
    for event in ("insert", "delete", "update", "truncate"):
        conn.execute(
            sql.SQL("drop trigger if exists {} on {}").format(
                sql.Identifier(TRIGGER_PREFIX + event), mart.shadow_sql
            )
        )
    conn.execute(sql.SQL("drop table if exists {}").format(mart.keys_sql))


def _tracking_problem(conn: psycopg.Connection, mart: Mart, row: Mapping[str, Any] | None) -> str | None:
    """Why the shadow copy of an incremental mart cannot be published (or restored) by keys; None if it can."""
    live_oid = _oid(conn, mart.schema, mart.name)
    shadow_oid = _oid(conn, mart.shadow_schema, mart.name, kinds="r")
    if live_oid is None:
        return "no live table yet"
    if row is None or not row["tracked"]:
        return "the shadow copy is not tracked"
    if shadow_oid is None or row["shadow_oid"] != shadow_oid:
        return "the shadow copy was replaced (first build, full refresh)"
    if tuple(row["unique_key"]) != mart.unique_key:
        return f"the unique key changed ({row['unique_key']} → {list(mart.unique_key)})"
    if _oid(conn, mart.shadow_schema, mart.name + TOUCHED_SUFFIX) is None:
        return "its keys table is missing"
    triggers = _one(
        conn,
        "select count(*) from pg_trigger where tgrelid = %s::oid and tgname like %s and tgenabled <> 'D'",
        shadow_oid,
        TRIGGER_PREFIX + "%",
    )
    if triggers != 4:
        return "its tracking triggers are missing or disabled"
    if _columns(conn, live_oid) != _columns(conn, shadow_oid):
        return "its columns differ from the live table's"
    return None


def _stub(conn: psycopg.Connection, mart: Mart) -> None:
    """``<shadow>.<mart>`` as a view on the live table, for refs of builds that do not rebuild that mart."""
    with conn.transaction():
        conn.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(mart.shadow_schema)))
        _drop_any(conn, mart.shadow_schema, mart.name)
        conn.execute(sql.SQL("create view {} as select * from {}").format(mart.shadow_sql, mart.live_sql))
        conn.execute(
            sql.SQL("comment on view {} is {}").format(
                mart.shadow_sql,
                sql.Literal(f"o2c publish stub: reads the published {mart.live} until a build replaces it"),
            )
        )


def _discard_failed_build(conn: psycopg.Connection, settings: Settings) -> None:
    """After a failed build: drop what it left in the shadow that the next build cannot correct by keys.

    Tracked incremental copies keep their recorded keys (the next build restores them); anything else a
    failed build left (tables, untracked incremental copies) is dropped, and table marts get their stub back.
    """
    try:
        models = shadow_models(_manifest(settings.home / "dbt" / "target"))
    except (PublishError, ValueError, OSError):
        log.warning("no manifest of the failed build: the next build repairs its shadow", exc_info=True)
        return
    state = _state(conn)
    for mart in models.values():
        try:
            if mart.incremental and _tracking_problem(conn, mart, state.get(mart.live)) is None:
                continue
            if mart.incremental:
                with conn.transaction():
                    _drop_tracking(conn, mart)
                    _drop_any(conn, mart.shadow_schema, mart.name)
            elif _oid(conn, mart.schema, mart.name) is not None:
                _stub(conn, mart)
            else:
                with conn.transaction():
                    _drop_any(conn, mart.shadow_schema, mart.name)
        except psycopg.Error:
            log.exception("could not discard the failed build's %s", mart.shadow)


# ── catalog helpers ───────────────────────────────────────────────────────────────────────────────────


def _state(conn: psycopg.Connection) -> dict[str, dict[str, Any]]:
    cursor = conn.execute(
        "select relation, shadow_relation, kind, unique_key, shadow_oid, tracked from ops.published_marts"
    )
    names = [c.name for c in cursor.description or []]
    return {row[0]: dict(zip(names, row, strict=True)) for row in cursor.fetchall()}


def _oid(conn: psycopg.Connection, schema: str, name: str, kinds: str = "rpvm") -> int | None:
    row = conn.execute(
        "select class.oid, class.relkind from pg_class as class "
        "inner join pg_namespace as namespace on class.relnamespace = namespace.oid "
        "where namespace.nspname = %s and class.relname = %s",
        (schema, name),
    ).fetchone()
    return int(row[0]) if row and row[1] in kinds else None


def _oid_of(conn: psycopg.Connection, relation: sql.Identifier) -> int:
    return int(_one(conn, "select %s::regclass::oid", relation.as_string(conn)))


def _columns(conn: psycopg.Connection, oid: int | None) -> list[tuple[str, str]]:
    return [
        (str(name), str(kind))
        for name, kind in conn.execute(
            "select attname, format_type(atttypid, atttypmod) from pg_attribute "
            "where attrelid = %s::oid and attnum > 0 and not attisdropped order by attnum",
            (oid,),
        ).fetchall()
    ]


def _drop_any(conn: psycopg.Connection, schema: str, name: str) -> None:
    row = conn.execute(
        "select class.relkind from pg_class as class "
        "inner join pg_namespace as namespace on class.relnamespace = namespace.oid "
        "where namespace.nspname = %s and class.relname = %s",
        (schema, name),
    ).fetchone()
    kinds = {"r": "table", "p": "table", "v": "view", "m": "materialized view"}
    if row and row[0] in kinds:
        conn.execute(
            sql.SQL("drop {} {} cascade").format(sql.SQL(kinds[row[0]]), sql.Identifier(schema, name))
        )


def _one(conn: psycopg.Connection, query: str | sql.Composable, *params: object) -> Any:
    row = conn.execute(query, params or None).fetchone()  # type: ignore[arg-type]
    return row[0] if row else None
