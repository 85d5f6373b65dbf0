"""O2C_WAREHOUSE_URL points every command at an external PostgreSQL; no embedded server is started."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from o2c.warehouse.embedded import EmbeddedWarehouse
from tests.conftest import free_port, shared_data

pytestmark = pytest.mark.integration


def test_ingest_lands_in_the_external_warehouse(tmp_path: Path) -> None:
    external = EmbeddedWarehouse(tmp_path / "other-server", free_port())  # stands in for a remote server
    url = external.ensure_running()
    try:
        home = tmp_path / "home"
        env = {k: v for k, v in os.environ.items() if not k.startswith("O2C_")}
        env.update({"O2C_HOME": str(home), "O2C_WAREHOUSE_URL": url})
        sample = shared_data() / "camt053" / "moov-iso20022" / "statement_1.xml"
        other_cwd = tmp_path / "elsewhere"
        other_cwd.mkdir()
        result = subprocess.run(
            [sys.executable, "-m", "o2c.cli", "ingest", "bank", str(sample)],
            env=env,
            cwd=other_cwd,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["files"][0]["status"] == "loaded"
        with psycopg.connect(url) as conn:
            assert conn.execute("select count(*) from raw_bank.entries").fetchone()[0] == 4
        assert not (home / "warehouse").exists(), (
            "no embedded warehouse may start when O2C_WAREHOUSE_URL is set"
        )
        status = subprocess.run(
            [sys.executable, "-m", "o2c.cli", "warehouse", "status"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert (
            "external" in status.stdout and "***" in status.stdout and url.split(":")[2] not in status.stdout
        )
    finally:
        external.stop()
