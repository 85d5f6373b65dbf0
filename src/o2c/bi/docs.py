"""The dbt docs site of the marts, as BI users see them (``o2c docs``, ``make docs``).

``dbt docs generate`` runs with the environment every o2c dbt run gets (``o2c.transform.build.dbt_env``:
profile from the warehouse URL, ``O2C_AS_OF_DATE``) and two differences:

- no shadow schema (var ``o2c_published_schemas`` empty): the site documents ``marts.<model>``, the
  relations BI users query, and its catalog (types, column comments, sizes) is read from them, not from
  ``marts_next``;
- its own target folder (``$O2C_HOME/dbt/docs``), a ``dbt parse`` for the manifest and ``docs generate
  --no-compile``: it neither touches the build's manifest, partial-parse state or ``run_results.json``,
  nor runs the models' planning queries.

``dbt docs serve`` then serves that folder on 127.0.0.1 only.
"""

from __future__ import annotations

import json
import os
import subprocess
from datetime import date, datetime
from pathlib import Path

import psycopg

from o2c.business_calendar import BUSINESS_TZ
from o2c.config import Settings
from o2c.transform.build import dbt_env, dbt_executable, dbt_vars

DOCS_HOST = "127.0.0.1"
DEFAULT_PORT = 8081


class DocsError(RuntimeError):
    """``dbt docs generate`` failed; the message holds the end of dbt's output."""


def docs_target(settings: Settings) -> Path:
    return settings.home / "dbt" / "docs"


def docs_env(url: str, settings: Settings) -> dict[str, str]:
    return {
        **dbt_env(url, settings),
        "DBT_TARGET_PATH": str(docs_target(settings)),
        "O2C_AS_OF_DATE": last_published(url).isoformat(),
    }


def docs_args() -> list[str]:
    return ["--vars", json.dumps({**dbt_vars(), "o2c_published_schemas": []})]


def last_published(url: str) -> date:
    """The as-of date of the marts BI users see (the last publish), else today's business date."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("select max(as_of_date) from ops.published_marts").fetchone()
    if row and row[0] is not None:
        return date.fromisoformat(str(row[0]))
    return datetime.now(BUSINESS_TZ).date()


def generate(url: str, settings: Settings) -> Path:
    """Write the docs site (``index.html``, ``manifest.json``, ``catalog.json``); return its folder.

    ``dbt parse`` writes the manifest (``docs generate --no-compile`` does not), then ``docs generate``
    reads the catalog of those relations from the warehouse."""
    env = docs_env(url, settings)
    for args in (["parse"], ["docs", "generate", "--no-compile"]):
        proc = subprocess.run(  # noqa: S603 - our dbt, our arguments
            [dbt_executable(), *args, *docs_args()],
            env=env,
            cwd=settings.dbt_project_dir,
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            tail = "\n".join(proc.stdout.splitlines()[-30:])
            raise DocsError(f"dbt {' '.join(args)} failed:\n{tail}\n{proc.stderr.strip()}")
    return docs_target(settings)


def serve(url: str, settings: Settings, port: int) -> None:
    """Replace this process by ``dbt docs serve`` on 127.0.0.1:``port`` (never returns)."""
    command = [
        dbt_executable(),
        "docs",
        "serve",
        "--host",
        DOCS_HOST,
        "--port",
        str(port),
        "--no-browser",
    ]
    os.chdir(settings.dbt_project_dir)
    os.execvpe(command[0], command, docs_env(url, settings))  # noqa: S606
