"""Fixtures of the integration tests that land bank files."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from o2c import pipeline
from o2c.config import Settings
from o2c.warehouse.db import ensure_database, warehouse_url, with_database


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
