"""Shared fixtures: a real embedded PostgreSQL per test session, in a throw-away O2C_HOME.

Tests that need the warehouse take ``o2c_home``; it points every ``o2c`` setting (home, ports, inbox,
outbox) at temporary places and stops the server and the simulator's API at the end of the session.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from o2c.config import Settings, load_settings

SMALL_SCENARIO = {"seed": 11, "days": 50, "customers": 30, "lines_per_day": 10.0}
"""A small business that still has every kind of injected case (fast enough for the suite)."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def embedded_warehouse(home: Path, ddl: str = "") -> Iterator[str]:
    """A warehouse of its own under ``home`` (on a free port) with the ops schema and ``ddl`` run; its URL.
    Stopped on exit."""
    import psycopg

    from o2c.warehouse.bootstrap import ensure_schema
    from o2c.warehouse.embedded import EmbeddedWarehouse

    server = EmbeddedWarehouse(home, preferred_port=free_port())
    url = server.ensure_running()
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            ensure_schema(conn)
            if ddl:
                conn.execute(ddl)
        yield url
    finally:
        server.stop()


def shared_data() -> Path:
    env = os.environ.get("O2C_SHARED_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="session")
def o2c_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """A session-wide O2C_HOME with a running embedded warehouse; the process env points at it."""
    from o2c.pipeline import prepare
    from o2c.simulate.driver import Simulation
    from o2c.warehouse.embedded import EmbeddedWarehouse

    home = tmp_path_factory.mktemp("o2c-home")
    env = {
        "O2C_HOME": str(home),
        "O2C_WAREHOUSE_PORT": str(free_port()),
        "O2C_LOGISTICS_API_URL": f"http://127.0.0.1:{free_port()}",
        "O2C_TASK_RETRIES": "0",
    }
    saved = {k: os.environ.get(k) for k in [*env, "O2C_WAREHOUSE_URL", "O2C_SMTP_HOST"]}
    os.environ.update(env)
    os.environ.pop("O2C_WAREHOUSE_URL", None)
    os.environ.pop("O2C_SMTP_HOST", None)
    settings = load_settings()
    prepare(settings)
    try:
        yield settings
    finally:
        Simulation(settings).stop_api()
        EmbeddedWarehouse(settings.home, settings.warehouse_port).stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
