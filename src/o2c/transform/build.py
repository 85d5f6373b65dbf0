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
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from urllib.parse import unquote, urlsplit

from o2c.business_calendar import CUTOFF
from o2c.config import Settings, load_settings


class DbtError(RuntimeError):
    """dbt failed; the message lists the failing nodes, also in ``failures`` (``unique_id: message``).

    ``log_path`` is dbt's log file of the run; nothing of a failed build is published.
    """

    def __init__(self, message: str, failures: list[str] | None = None, log_path: Path | None = None) -> None:
        super().__init__(message)
        self.failures = list(failures or [])
        self.log_path = log_path


@dataclass(frozen=True)
class DbtResult:
    command: list[str]
    results: list[dict[str, object]]
    elapsed_s: float
    target_path: Path | None = None
    """dbt's target folder of the run (``manifest.json``, ``run_results.json``)."""


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
        # the regex-validated staging views make PostgreSQL misestimate joins into nested loops that run for
        # minutes; a model that needs them turns them back on (dbt_project/macros/planner.sql)
        "PGOPTIONS": " ".join(filter(None, [os.environ.get("PGOPTIONS"), "-c enable_nestloop=off"])),
    }


def dbt_executable() -> str:
    candidate = Path(sys.executable).with_name("dbt")
    return str(candidate) if candidate.exists() else "dbt"


def dbt_vars() -> dict[str, str]:
    """The variables every run passes: the business day's cutoff (one source of truth). They are the same
    on every run: a changed ``--vars`` makes dbt parse the whole project again (the as-of date therefore
    travels in ``O2C_AS_OF_DATE``, read by the macro ``as_of_date`` only while executing)."""
    return {"business_day_cutoff": CUTOFF.strftime("%H:%M")}


def run_dbt(
    args: list[str],
    as_of: date,
    url: str,
    settings: Settings | None = None,
    extra_vars: Mapping[str, object] | None = None,
) -> DbtResult:
    """Run ``dbt <args>`` with the run's as-of date (plus ``extra_vars``); raise :class:`DbtError` naming
    failed nodes."""
    s = settings or load_settings()
    env = {**dbt_env(url, s), "O2C_AS_OF_DATE": as_of.isoformat()}
    command = [dbt_executable(), *args, "--vars", json.dumps({**dbt_vars(), **(extra_vars or {})})]
    run_results = Path(env["DBT_TARGET_PATH"]) / "run_results.json"
    run_results.unlink(missing_ok=True)  # results of this run only, never a previous run's
    proc = subprocess.run(command, env=env, cwd=s.dbt_project_dir, capture_output=True, text=True)  # noqa: S603
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
        raise DbtError(
            f"dbt {' '.join(args)} failed for as-of {as_of}:\n" + "\n".join(failed or [tail]),
            failed,
            Path(env["DBT_LOG_PATH"]) / "dbt.log",
        )
    return DbtResult(command, results, elapsed, Path(env["DBT_TARGET_PATH"]))


def build(
    as_of: date,
    url: str,
    settings: Settings | None = None,
    select: str | None = None,
    extra_vars: Mapping[str, object] | None = None,
) -> DbtResult:
    """``dbt build`` (models and their tests). Models of published schemas (marts) land in their shadow
    schema: :func:`o2c.transform.publish.build_and_publish` is what BI users' marts are updated by."""
    args = ["build"]
    if select:
        args += ["--select", select]
    return run_dbt(args, as_of, url, settings, extra_vars)
