"""Resolve and open warehouse connections: the external ``O2C_WAREHOUSE_URL`` or the embedded server."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import psycopg

from o2c.config import Settings, load_settings


def warehouse_url(settings: Settings | None = None) -> str:
    """The warehouse URL: ``O2C_WAREHOUSE_URL``, else the embedded server's. Starts nothing."""
    s = settings or load_settings()
    if s.warehouse_url:
        return s.warehouse_url
    from o2c.warehouse.embedded import EmbeddedWarehouse

    return EmbeddedWarehouse(s.home, s.warehouse_port).url()


def start_warehouse(settings: Settings) -> str:
    """Entry points only (CLI, pipeline tasks, demo): start the embedded server if it is the warehouse and
    is not running, create the landing/ops schemas, and return the URL to pass down."""
    from o2c.warehouse.bootstrap import ensure_schema

    url = settings.warehouse_url
    if not url:
        from o2c.warehouse.embedded import EmbeddedWarehouse

        url = EmbeddedWarehouse(settings.home, settings.warehouse_port).ensure_running()
    with psycopg.connect(url) as conn:
        ensure_schema(conn)
    return url


def with_database(url: str, database: str) -> str:
    """The same server and credentials as ``url``, another database."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, parts.fragment))


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/") or "postgres"


def ensure_database(url: str) -> None:
    """Create the database named in ``url`` if it does not exist (needs CREATEDB on the server)."""
    name = database_name(url)
    with psycopg.connect(with_database(url, "postgres"), autocommit=True) as conn:
        exists = conn.execute("select 1 from pg_database where datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(psycopg.sql.SQL("create database {}").format(psycopg.sql.Identifier(name)))


def connect(url: str | None = None, **kwargs: object) -> psycopg.Connection:
    """Open a connection to the warehouse (or to ``url``)."""
    return psycopg.connect(url or warehouse_url(), **kwargs)  # type: ignore[arg-type]


def redact(url: str) -> str:
    """The URL with its password masked, for logs and summaries."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(":" + parts.password + "@", ":***@")
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return url
