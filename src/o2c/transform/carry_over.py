"""What hangs on a mart is carried over when the publish replaces it: grants and dependent views.

A table mart is replaced by a new table (another object), so everything PostgreSQL attaches to the old
object would be lost with it: its privileges, and the views that BI users and tools built on it, in any
schema (dropping the table would drop them, or refuse to). :func:`dependent_views` describes those views and
materialized views (recursively: views on views), :func:`recreate` creates them again on the new marts with
their definition (names schema-qualified), options, owner, grants, comments, indexes and triggers, and
:func:`relation_grants` / :func:`default_grants` give the privileges to grant on the new table. All of it
runs inside the publish transaction, so readers see either the old objects or the new ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import psycopg
from psycopg import sql

PRIVILEGES = frozenset(
    {"SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER", "MAINTAIN"}
)
"""Privileges ``aclexplode`` reports; anything else is refused rather than spliced into a GRANT."""


class CarryOverError(RuntimeError):
    """A dependent view could not be recreated on the new marts; the message names it and says why."""


@dataclass(frozen=True)
class Grant:
    """One privilege on a relation (or one of its columns), as ``aclexplode`` lists it."""

    privilege: str
    grantee: str
    grantable: bool
    column: str | None = None

    def statement(self, target: sql.Composable) -> sql.Composed:
        if self.privilege not in PRIVILEGES:
            raise CarryOverError(f"unexpected privilege {self.privilege!r} on {target}")
        grantee = sql.SQL("public") if self.grantee == "PUBLIC" else sql.Identifier(self.grantee)
        columns = sql.SQL(" ({})").format(sql.Identifier(self.column)) if self.column else sql.SQL("")
        option = sql.SQL(" with grant option") if self.grantable else sql.SQL("")
        return sql.SQL("grant {}{} on table {} to {}{}").format(
            sql.SQL(self.privilege), columns, target, grantee, option
        )


@dataclass(frozen=True)
class DependentView:
    """A view or materialized view that depends on a mart being replaced, as needed to recreate it."""

    schema: str
    name: str
    kind: str  # 'v' or 'm'
    owner: str
    options: tuple[str, ...]
    definition: str
    populated: bool
    comment: str | None
    column_comments: tuple[tuple[str, str], ...]
    grants: tuple[Grant, ...]
    indexes: tuple[str, ...]
    triggers: tuple[str, ...]

    @property
    def qualified(self) -> sql.Identifier:
        return sql.Identifier(self.schema, self.name)

    @property
    def keyword(self) -> sql.SQL:
        return sql.SQL("materialized view" if self.kind == "m" else "view")


def dependent_views(conn: psycopg.Connection, oids: Sequence[int]) -> list[DependentView]:
    """Views and materialized views depending (directly or not) on ``oids``, in creation order."""
    if not oids:
        return []
    rows = conn.execute(
        """
        with recursive dependents (oid, depth) as (
            select rewrite.ev_class, 1
            from pg_depend as dep
            inner join pg_rewrite as rewrite on dep.objid = rewrite.oid
            where dep.classid = 'pg_rewrite'::regclass and dep.refclassid = 'pg_class'::regclass
                and dep.refobjid = any(%(oids)s::oid[]) and rewrite.ev_class <> dep.refobjid
            union all
            select rewrite.ev_class, dependents.depth + 1
            from dependents
            inner join pg_depend as dep on dep.refobjid = dependents.oid
            inner join pg_rewrite as rewrite on dep.objid = rewrite.oid
            where dep.classid = 'pg_rewrite'::regclass and dep.refclassid = 'pg_class'::regclass
                and rewrite.ev_class <> dep.refobjid
        )
        select oid, max(depth) as depth from dependents
        where oid <> all(%(oids)s::oid[]) group by oid order by depth, oid
        """,
        {"oids": list(oids)},
    ).fetchall()
    conn.execute("set local search_path = ''")  # definitions with every name schema-qualified
    try:
        return [_describe_view(conn, oid) for oid, _ in rows]
    finally:
        conn.execute("set local search_path to default")


def _describe_view(conn: psycopg.Connection, oid: int) -> DependentView:
    row = conn.execute(
        "select namespace.nspname, class.relname, class.relkind, pg_get_userbyid(class.relowner), "
        "coalesce(class.reloptions, '{}'), pg_get_viewdef(class.oid), class.relispopulated, "
        "obj_description(class.oid, 'pg_class') "
        "from pg_class as class inner join pg_namespace as namespace on class.relnamespace = namespace.oid "
        "where class.oid = %s::oid",
        (oid,),
    ).fetchone()
    assert row is not None
    schema, name, kind, owner, options, definition, populated, comment = row
    column_comments = conn.execute(
        "select attname, col_description(attrelid, attnum) from pg_attribute "
        "where attrelid = %s::oid and attnum > 0 and not attisdropped "
        "and col_description(attrelid, attnum) is not null "
        "order by attnum",
        (oid,),
    ).fetchall()
    indexes = conn.execute(
        "select pg_get_indexdef(indexrelid) from pg_index where indrelid = %s::oid order by indexrelid",
        (oid,),
    ).fetchall()
    triggers = conn.execute(
        "select pg_get_triggerdef(oid) from pg_trigger where tgrelid = %s::oid and not tgisinternal order by oid",
        (oid,),
    ).fetchall()
    return DependentView(
        schema=schema,
        name=name,
        kind=kind,
        owner=owner,
        options=tuple(options),
        definition=definition.strip().rstrip(";"),
        populated=bool(populated),
        comment=comment,
        column_comments=tuple((c, t) for c, t in column_comments),
        grants=tuple(relation_grants(conn, oid)),
        indexes=tuple(i for (i,) in indexes),
        triggers=tuple(t for (t,) in triggers),
    )


def recreate(conn: psycopg.Connection, view: DependentView) -> None:
    options = sql.SQL(" with ({})").format(sql.SQL(", ".join(view.options))) if view.options else sql.SQL("")
    data = sql.SQL(" with data" if view.populated else " with no data") if view.kind == "m" else sql.SQL("")
    try:
        conn.execute(
            sql.SQL("create {} {}{} as {}{}").format(
                view.keyword, view.qualified, options, sql.SQL(view.definition), data
            )
        )
    except psycopg.Error as exc:
        raise CarryOverError(
            f"the view {view.schema}.{view.name} depends on the marts and no longer works on the new ones "
            f"({exc}); nothing was published. Adapt or drop the view, then re-run the build."
        ) from exc
    for statement in (*view.indexes, *view.triggers):
        conn.execute(sql.SQL(statement))  # catalog output (pg_get_indexdef / pg_get_triggerdef)
    if view.comment is not None:
        conn.execute(
            sql.SQL("comment on {} {} is {}").format(view.keyword, view.qualified, sql.Literal(view.comment))
        )
    for column, comment in view.column_comments:
        conn.execute(
            sql.SQL("comment on column {}.{} is {}").format(
                view.qualified, sql.Identifier(column), sql.Literal(comment)
            )
        )
    current = _one(conn, "select current_user")
    if view.owner != current:
        conn.execute(
            sql.SQL("alter {} {} owner to {}").format(
                view.keyword, view.qualified, sql.Identifier(view.owner)
            )
        )
    for grant in view.grants:
        if grant.grantee != view.owner:
            conn.execute(grant.statement(view.qualified))


def relation_grants(conn: psycopg.Connection, oid: int) -> list[Grant]:
    """The table- and column-level privileges granted on relation ``oid``."""
    rows = conn.execute(
        "select acl.privilege_type, "
        "case when acl.grantee = 0 then 'PUBLIC' else pg_get_userbyid(acl.grantee) end, acl.is_grantable, null "
        "from pg_class, aclexplode(relacl) as acl where pg_class.oid = %(oid)s::oid "
        "union all "
        "select acl.privilege_type, "
        "case when acl.grantee = 0 then 'PUBLIC' else pg_get_userbyid(acl.grantee) end, acl.is_grantable, attname "
        "from pg_attribute, aclexplode(attacl) as acl where attrelid = %(oid)s::oid and attacl is not null",
        {"oid": oid},
    ).fetchall()
    return [Grant(p, g, bool(o), c) for p, g, o, c in rows]


def default_grants(conn: psycopg.Connection, schema: str, owner: str) -> list[Grant]:
    """The schema's default privileges (``alter default privileges in schema ...``) for a new table of
    ``owner``: a table moved in from the shadow did not get them at creation."""
    rows = conn.execute(
        "select acl.privilege_type, "
        "case when acl.grantee = 0 then 'PUBLIC' else pg_get_userbyid(acl.grantee) end, acl.is_grantable "
        "from pg_default_acl as defaults, aclexplode(defaults.defaclacl) as acl "
        "where defaults.defaclobjtype = 'r' and defaults.defaclrole = to_regrole(%s) "
        "and defaults.defaclnamespace = to_regnamespace(%s)",
        (owner, schema),
    ).fetchall()
    return [Grant(p, g, bool(o)) for p, g, o in rows]


def _one(conn: psycopg.Connection, query: str, *params: object) -> object:
    row = conn.execute(query, params or None).fetchone()
    return row[0] if row else None
