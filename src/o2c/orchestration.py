"""Airflow's environment for o2c: metadata database on the warehouse server, the DAG folder, no telemetry.

``o2c airflow ...`` runs any Airflow command with it, so the scheduler, ``dags test`` and ``standalone``
all see the same configuration. An ``AIRFLOW__*`` variable already set in the environment wins.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from o2c.config import PROJECT_ROOT, Settings


def airflow_env(settings: Settings, base: dict[str, str] | None = None) -> dict[str, str]:
    from o2c.warehouse.db import ensure_database, warehouse_url, with_database

    env = dict(os.environ if base is None else base)
    url = warehouse_url(settings)
    metadata_url = with_database(url, "airflow")
    if "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN" not in env:
        ensure_database(metadata_url)
    home = Path(env.get("AIRFLOW_HOME") or settings.home / "airflow")
    home.mkdir(parents=True, exist_ok=True)
    defaults = {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "postgresql+psycopg2://" + metadata_url.split("://", 1)[1],
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__DEFAULT_TIMEZONE": "UTC",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": env.get("O2C_AIRFLOW_PORT", "8080"),
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{env.get('O2C_AIRFLOW_PORT', '8080')}",
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
        "AIRFLOW__USAGE_DATA_COLLECTION__ENABLED": "False",
        "AIRFLOW__CORE__ALLOWED_DESERIALIZATION_CLASSES_REGEXP": "o2c\\..*",
        "SCARF_ANALYTICS": "false",
        "DO_NOT_TRACK": "1",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "GX_ANALYTICS_ENABLED": "false",
        "O2C_HOME": str(settings.home),
        "AIRFLOW_CONN_O2C_WAREHOUSE": url,
    }
    for key, value in defaults.items():
        env.setdefault(key, value)
    # `airflow standalone` starts its components as `airflow ...` from PATH: use this environment's
    venv_bin = str(Path(sys.executable).parent)
    if env.get("PATH", "").split(os.pathsep)[0] != venv_bin:
        env["PATH"] = os.pathsep.join([venv_bin, env.get("PATH", "")])
    return env
