"""BI roles: PostgreSQL LOGIN roles that read the marts, and nothing else.

``o2c bi grant NAME [--region R ...]`` creates the role with a generated password and returns its
connection URL, shown once: the password is not stored anywhere by o2c. PostgreSQL keeps only its
SCRAM-SHA-256 verifier, computed on the client (libpq's ``PQencryptPasswordConn``), so the clear password
never reaches the server either (no statement log, no ``pg_stat_activity`` shows it). A lost password is
replaced with ``--rotate-password``.

What a BI role may do: connect to the warehouse database, USAGE on ``marts`` and SELECT on its tables and
views, present and future (default privileges of the role that builds and publishes the marts; the
publish carries grants over to the tables it swaps in, and gives a new mart the schema's default
privileges). It gets nothing on ``raw_*``, ``staging``, ``intermediate``, ``ops``, ``snapshots``,
``marts_next`` or any other schema, and no CREATE anywhere (CREATE on schema ``public`` is revoked from
PUBLIC, PostgreSQL's default before version 15). Its regions, if any, are enforced by row-level security
(``o2c.bi.policies``).

Every role this module manages is listed in ``ops.bi_roles``; it never alters or drops a role that is not.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import errors, sql

from o2c.bi.policies import BI_SCHEMA, ensure_access_objects, protect_all, region_tables

NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]*")
MAX_NAME_LENGTH = 63  # PostgreSQL's NAMEDATALEN - 1
RESERVED_NAMES = frozenset({"public", "none", "current_role", "current_user", "session_user", "all"})
PASSWORD_BYTES = 32
LOCK_TIMEOUT = "10s"


class BiAccessError(ValueError):
    """A BI role could not be granted, rotated or revoked; the message names the input and says why."""


@dataclass(frozen=True)
class BiRole:
    """One registered BI role. ``regions`` None means it sees every row."""

    name: str
    regions: tuple[str, ...] | None
    created_at: datetime
    password_rotated_at: datetime
    can_login: bool | None
    """False once revoking has begun, None if the role no longer exists on the server."""

    def as_json(self) -> dict[str, Any]:
        return {
            "role": self.name,
            "regions": list(self.regions) if self.regions is not None else None,
            "created_at": self.created_at.isoformat(),
            "password_rotated_at": self.password_rotated_at.isoformat(),
            "login": self.can_login,
        }


@dataclass(frozen=True)
class Granted:
    """The outcome of a grant: ``url`` holds the password, show it once and keep it nowhere."""

    role: str
    regions: tuple[str, ...] | None
    url: str
    rotated: bool
    region_filtered_marts: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "regions": list(self.regions) if self.regions is not None else None,
            "url": self.url,
            "password_rotated": self.rotated,
            "region_filtered_marts": list(self.region_filtered_marts),
            "note": "the password is shown only now and stored nowhere; "
            f"`o2c bi grant {self.role} --rotate-password` issues a new one",
        }


def validate_role_name(name: str) -> str:
    """``name`` if it can be a BI role's name, else :class:`BiAccessError` saying why."""
    if not name:
        raise BiAccessError("BI role name '': empty; use lowercase letters, digits and _")
    if len(name.encode()) > MAX_NAME_LENGTH:
        raise BiAccessError(f"BI role name {name!r}: longer than {MAX_NAME_LENGTH} bytes")
    if not NAME_PATTERN.fullmatch(name):
        raise BiAccessError(
            f"BI role name {name!r}: use lowercase letters, digits and _ only, starting with a letter "
            "(no quoting needed in BI tools)"
        )
    if name.startswith("pg_"):
        raise BiAccessError(f"BI role name {name!r}: the prefix pg_ is reserved by PostgreSQL")
    if name in RESERVED_NAMES:
        raise BiAccessError(f"BI role name {name!r}: reserved by PostgreSQL")
    return name


def validate_regions(regions: Sequence[str] | None) -> tuple[str, ...] | None:
    """The distinct regions, sorted; None (every row) when none were given."""
    if not regions:
        return None
    for region in regions:
        if not region.strip():
            raise BiAccessError(f"--region {region!r}: empty")
    return tuple(sorted(set(regions)))


def role_url(warehouse_url: str, role: str, password: str) -> str:
    """The warehouse URL (same server, database and options) with ``role``'s credentials."""
    parts = urlsplit(warehouse_url)
    host = parts.hostname or "127.0.0.1"
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = f"{quote(role, safe='')}:{quote(password, safe='')}@{host}"
    if parts.port:
        netloc += f":{parts.port}"
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k not in ("user", "password")])
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


# ── grant, list, revoke ───────────────────────────────────────────────────────────────────────────────


def grant(
    url: str, name: str, regions: Sequence[str] | None = None, *, rotate_password: bool = False
) -> Granted:
    """Create BI role ``name`` (or, with ``rotate_password``, give an existing one a new password).

    A new role sees ``regions`` only (every row if none). Rotating keeps the role's regions unless
    ``regions`` are given, which then replace them. Raises :class:`BiAccessError` when ``name`` is invalid,
    already a BI role (without ``rotate_password``), not one (with it), or another role of the server."""
    validate_role_name(name)
    wanted = validate_regions(regions)
    password = secrets.token_urlsafe(PASSWORD_BYTES)
    with psycopg.connect(url, autocommit=True) as conn:
        ensure_access_objects(conn)
        try:
            with conn.transaction():
                # enabling RLS on a region mart that lacks it waits for its readers: not for long
                conn.execute(sql.SQL("set local lock_timeout = {}").format(sql.Literal(LOCK_TIMEOUT)))
                registered, registered_regions = _registered(conn, name)
                exists = _role_exists(conn, name)
                if exists and not registered:
                    raise BiAccessError(
                        f"BI role name {name!r}: a role of that name already exists on the server and was not "
                        "created by `o2c bi grant`; choose another name"
                    )
                if rotate_password and not (exists and registered):
                    raise BiAccessError(f"--rotate-password: {name!r} is not a BI role (see `o2c bi list`)")
                if exists and not rotate_password:
                    raise BiAccessError(
                        f"BI role {name!r} already exists: `o2c bi grant {name} --rotate-password` gives it a "
                        f"new password, `o2c bi revoke {name}` removes it"
                    )
                if rotate_password:
                    regions_now = wanted if regions else registered_regions
                    verb = sql.SQL("alter")
                else:
                    regions_now = wanted
                    verb = sql.SQL("create")
                verifier = _verifier(conn, name, password)
                conn.execute(
                    sql.SQL(
                        "{} role {} with login password {} nosuperuser nocreatedb nocreaterole noreplication "
                        "nobypassrls"
                    ).format(verb, sql.Identifier(name), sql.Literal(verifier))
                )
                _grant_marts(conn, name)
                conn.execute(
                    "insert into ops.bi_roles (role_name, regions) values (%s, %s) "
                    "on conflict (role_name) do update set regions = excluded.regions, "
                    "password_rotated_at = now()",
                    (name, list(regions_now) if regions_now is not None else None),
                )
                protect_all(conn)
                filtered = tuple(".".join(t) for t in region_tables(conn)) if regions_now is not None else ()
        except errors.LockNotAvailable as exc:
            raise BiAccessError(
                f"BI role {name!r}: nothing changed, readers held a mart whose region policy had to be "
                f"created for more than {LOCK_TIMEOUT}; try again ({exc.diag.message_primary})"
            ) from exc
    return Granted(name, regions_now, role_url(url, name, password), rotate_password, filtered)


def list_roles(url: str) -> list[BiRole]:
    """Every registered BI role (no password: o2c has none)."""
    with psycopg.connect(url, autocommit=True) as conn:
        ensure_access_objects(conn)
        rows = conn.execute(
            "select bi_roles.role_name, bi_roles.regions, bi_roles.created_at, bi_roles.password_rotated_at, "
            "roles.rolcanlogin from ops.bi_roles left join pg_roles as roles "
            "on roles.rolname = bi_roles.role_name order by bi_roles.role_name"
        ).fetchall()
    return [
        BiRole(name, tuple(regions) if regions is not None else None, created, rotated, login)
        for name, regions, created, rotated, login in rows
    ]


def region_filtered_marts(url: str) -> list[str]:
    """The marts that a BI role with regions sees filtered (those with a ``region`` column)."""
    with psycopg.connect(url, autocommit=True) as conn:
        return [".".join(t) for t in region_tables(conn)]


def revoke(url: str, name: str) -> dict[str, Any]:
    """Remove BI role ``name``: no new logins, its open sessions ended, its grants, policies' view of it
    (its registry row) and the role itself dropped. Only roles in ``ops.bi_roles`` are touched."""
    validate_role_name(name)
    with psycopg.connect(url, autocommit=True) as conn:
        ensure_access_objects(conn)
        registered = conn.execute("select 1 from ops.bi_roles where role_name = %s", (name,)).fetchone()
        exists = _role_exists(conn, name)
        if registered is None:
            raise BiAccessError(
                f"BI role {name!r}: not a BI role"
                + (" (a role of that name exists but was not created by `o2c bi grant`)" if exists else "")
            )
        ended = 0
        if exists:
            conn.execute(sql.SQL("alter role {} nologin").format(sql.Identifier(name)))  # no new sessions
            ended = _end_sessions(conn, name)
        with conn.transaction():
            if exists:
                _revoke_marts(conn, name)
                try:
                    with conn.transaction():  # anything else granted to it in this database, by anyone
                        conn.execute(sql.SQL("drop owned by {}").format(sql.Identifier(name)))
                except errors.InsufficientPrivilege:
                    pass  # not a member of the role: drop role below names what is left, if anything
                try:
                    conn.execute(sql.SQL("drop role {}").format(sql.Identifier(name)))
                except errors.DependentObjectsStillExist as exc:
                    raise BiAccessError(
                        f"BI role {name!r} cannot be dropped yet, it can no longer log in: "
                        f"{exc.diag.message_detail or exc}. Revoke those privileges, then run "
                        f"`o2c bi revoke {name}` again"
                    ) from exc
            conn.execute("delete from ops.bi_roles where role_name = %s", (name,))
    return {"role": name, "revoked": True, "sessions_ended": ended}


# ── helpers ───────────────────────────────────────────────────────────────────────────────────────────


def _grant_marts(conn: psycopg.Connection, name: str) -> None:
    role = sql.Identifier(name)
    marts = sql.Identifier(BI_SCHEMA)
    database = sql.Identifier(str(conn.execute("select current_database()").fetchone()[0]))  # type: ignore[index]
    conn.execute(sql.SQL("create schema if not exists {}").format(marts))
    conn.execute(sql.SQL("grant connect on database {} to {}").format(database, role))
    conn.execute(sql.SQL("grant usage on schema {} to {}").format(marts, role))
    conn.execute(sql.SQL("grant select on all tables in schema {} to {}").format(marts, role))
    # future marts: what the warehouse owner (dbt, the publish) creates in marts; the publish gives a
    # table it moves in from the shadow these default privileges (o2c.transform.carry_over.default_grants)
    conn.execute(
        sql.SQL(
            "alter default privileges for role current_user in schema {} grant select on tables to {}"
        ).format(marts, role)
    )
    conn.execute(sql.SQL("alter role {} in database {} set search_path = {}").format(role, database, marts))
    if conn.execute("select to_regnamespace('public')").fetchone()[0] is not None:  # type: ignore[index]
        conn.execute("revoke create on schema public from public")


def _revoke_marts(conn: psycopg.Connection, name: str) -> None:
    role = sql.Identifier(name)
    marts = sql.Identifier(BI_SCHEMA)
    database = sql.Identifier(str(conn.execute("select current_database()").fetchone()[0]))  # type: ignore[index]
    conn.execute(
        sql.SQL(
            "alter default privileges for role current_user in schema {} revoke select on tables from {}"
        ).format(marts, role)
    )
    if conn.execute("select to_regnamespace(%s)", (BI_SCHEMA,)).fetchone()[0] is not None:  # type: ignore[index]
        conn.execute(sql.SQL("revoke all on all tables in schema {} from {}").format(marts, role))
        conn.execute(sql.SQL("revoke all on schema {} from {}").format(marts, role))
    conn.execute(sql.SQL("revoke all on database {} from {}").format(database, role))
    conn.execute(sql.SQL("alter role {} in database {} reset all").format(role, database))


def _verifier(conn: psycopg.Connection, name: str, password: str) -> str:
    """The SCRAM-SHA-256 verifier of ``password`` for role ``name``, computed here (libpq): PostgreSQL
    stores it as given, and the clear password never travels to the server."""
    verifier = conn.pgconn.encrypt_password(password.encode(), name.encode(), b"scram-sha-256")
    return verifier.decode()


def _registered(conn: psycopg.Connection, name: str) -> tuple[bool, tuple[str, ...] | None]:
    """Whether ``name`` is in ``ops.bi_roles``, and its regions (None: every row)."""
    row = conn.execute("select regions from ops.bi_roles where role_name = %s", (name,)).fetchone()
    if row is None:
        return False, None
    return True, tuple(row[0]) if row[0] is not None else None


def _role_exists(conn: psycopg.Connection, name: str) -> bool:
    return conn.execute("select 1 from pg_roles where rolname = %s", (name,)).fetchone() is not None


def _end_sessions(conn: psycopg.Connection, name: str) -> int:
    """Terminate the role's open sessions (needs superuser or pg_signal_backend); how many ended."""
    try:
        rows = conn.execute(
            "select pg_terminate_backend(pid) from pg_stat_activity where usename = %s and pid <> pg_backend_pid()",
            (name,),
        ).fetchall()
    except errors.InsufficientPrivilege:
        return 0
    return sum(1 for (ended,) in rows if ended)
