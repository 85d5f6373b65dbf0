"""DAG integrity: every DAG file imports cleanly, is thin, and o2c_nightly is configured as designed."""

from __future__ import annotations

import json
import subprocess
import sys

from o2c.config import PROJECT_ROOT

PARSE = r"""
import json, sys, time
t = time.monotonic()
import tempfile
from airflow.dag_processing.dagbag import DagBag
HEAVY = ("o2c", "great_expectations", "dbt", "cosmos", "pandas", "psycopg")
DagBag(dag_folder=tempfile.mkdtemp())  # Airflow itself (plugins, providers) loads first
already = {m for m in HEAVY if m in sys.modules}
bag = DagBag(dag_folder=sys.argv[1])
heavy = sorted(m for m in HEAVY if m in sys.modules and m not in already)
dag = bag.dags.get("o2c_nightly")
timetable = dag.timetable if dag else None
print(json.dumps({
    "errors": {k: str(v) for k, v in bag.import_errors.items()},
    "dag_ids": sorted(bag.dag_ids),
    "heavy": heavy,
    "tags": sorted(dag.tags) if dag else [],
    "doc_md": bool(dag and dag.doc_md and "o2c_nightly" in dag.doc_md),
    "timetable": type(timetable).__name__,
    "timezone": str(getattr(timetable, "_timezone", "")),
    "cron": getattr(timetable, "_expression", None),
    "retries": {t.task_id: t.retries for t in dag.tasks} if dag else {},
    "owner": sorted({t.owner for t in dag.tasks}) if dag else [],
    "catchup": dag.catchup if dag else None,
    "edges": sorted((t.task_id, d) for t in dag.tasks for d in t.downstream_task_ids) if dag else [],
}))
"""


def _parse() -> dict:
    from o2c.config import load_settings
    from o2c.orchestration import airflow_env

    env = airflow_env(load_settings())
    env["O2C_TASK_RETRIES"] = "2"
    result = subprocess.run(
        [sys.executable, "-c", PARSE, str(PROJECT_ROOT / "dags")],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_dags_import_cleanly_and_stay_thin(o2c_home) -> None:
    info = _parse()
    assert info["errors"] == {}
    assert "o2c_nightly" in info["dag_ids"]
    assert info["heavy"] == [], f"DAG files must not import {info['heavy']} at parse time"
    assert info["doc_md"] and {"o2c", "nightly"} <= set(info["tags"])
    assert info["timetable"] == "CronDataIntervalTimetable"
    assert info["timezone"] == "Asia/Shanghai" and info["cron"] == "0 2 * * *"
    assert set(info["retries"].values()) == {2} and info["owner"] == ["data-team"]
    assert info["catchup"] is False
    edges = {tuple(e) for e in info["edges"]}
    for source in ("extract_erp", "extract_logistics", "ingest_bank"):
        assert (source, "dbt_build") in edges
    assert ("dbt_build", "run_checks") in edges and ("run_checks", "send_alerts") in edges
