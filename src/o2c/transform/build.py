"""Run ``dbt build`` for an as-of date against the warehouse.

The connection comes from the warehouse URL (external or embedded) through environment variables read by
``dbt_project/profiles.yml``; dbt's target and log folders live under ``O2C_HOME`` so runs never write into
the source tree.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from urllib.parse import unquote, urlsplit

from o2c.config import Settings, load_settings
from o2c.warehouse.db import warehouse_url


class DbtError(RuntimeError):
    """dbt failed; the message lists the failing nodes."""


@dataclass(frozen=True)
class DbtResult:
    command: list[str]
    results: list[dict[str, object]]
    elapsed_s: float


def dbt_env(url: str, settings: Settings) -> dict[str, str]:
    parts = urlsplit(url)
    return {
        **os.environ,
        "O2C_DBT_HOST": parts.hostname or "127.0.0.1",
        "O2C_DBT_PORT": str(parts.port or 5432),
        "O2C_DBT_USER": unquote(parts.username or ""),
        "O2C_DBT_PASSWORD": unquote(parts.password or ""),
        "O2C_DBT_DBNAME": parts.path.lstrip("/") or "postgres",
        "DBT_PROFILES_DIR": str(settings.dbt_project_dir),
        "DBT_PROJECT_DIR": str(settings.dbt_project_dir),
        "DBT_TARGET_PATH": str(settings.home / "dbt" / "target"),
        "DBT_LOG_PATH": str(settings.home / "dbt" / "logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DO_NOT_TRACK": "1",
    }


def dbt_executable() -> str:
    candidate = Path(sys.executable).with_name("dbt")
    return str(candidate) if candidate.exists() else "dbt"


def run_dbt(args: list[str], as_of: date, settings: Settings | None = None) -> DbtResult:
    """Run ``dbt <args>`` with the run's as-of date; raise :class:`DbtError` naming failed nodes."""
    s = settings or load_settings()
    env = dbt_env(warehouse_url(s), s)
    command = [dbt_executable(), *args, "--vars", json.dumps({"as_of_date": as_of.isoformat()})]
    proc = subprocess.run(command, env=env, cwd=s.dbt_project_dir, capture_output=True, text=True)  # noqa: S603
    run_results = Path(env["DBT_TARGET_PATH"]) / "run_results.json"
    results: list[dict[str, object]] = []
    elapsed = 0.0
    if run_results.exists():
        payload = json.loads(run_results.read_text())
        results = payload.get("results", [])
        elapsed = float(payload.get("elapsed_time", 0.0))
    if proc.returncode != 0:
        failed = [
            f"{r['unique_id']}: {r.get('message')}"
            for r in results
            if r.get("status") in ("error", "fail", "runtime error")
        ]
        tail = "\n".join(proc.stdout.splitlines()[-30:])
        raise DbtError(f"dbt {' '.join(args)} failed for as-of {as_of}:\n" + "\n".join(failed or [tail]))
    return DbtResult(command, results, elapsed)


def build(as_of: date, settings: Settings | None = None, select: str | None = None) -> DbtResult:
    args = ["build"]
    if select:
        args += ["--select", select]
    return run_dbt(args, as_of, settings)
