"""DAG integrity: every DAG file imports cleanly and is thin; o2c_nightly and o2c_bank_intake are configured as
designed."""

from __future__ import annotations

import functools
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

def describe(dag):
    timetable = dag.timetable
    return {
        "tags": sorted(dag.tags),
        "doc_md": bool(dag.doc_md and dag.dag_id in dag.doc_md),
        "timetable": type(timetable).__name__,
        # airflow.timetables (core) keeps these private, airflow.sdk's timetables public
        "timezone": str(getattr(timetable, "_timezone", None) or getattr(timetable, "timezone", "")),
        "cron": getattr(timetable, "_expression", None) or getattr(timetable, "expression", None),
        "retries": {t.task_id: t.retries for t in dag.tasks},
        "owner": sorted({t.owner for t in dag.tasks}),
        "catchup": dag.catchup,
        "max_active_runs": dag.max_active_runs,
        "edges": sorted((t.task_id, d) for t in dag.tasks for d in t.downstream_task_ids),
        "outlets": {t.task_id: sorted(getattr(o, "uri", str(o)) for o in t.outlets) for t in dag.tasks},
    }

print(json.dumps({
    "errors": {k: str(v) for k, v in bag.import_errors.items()},
    "dag_ids": sorted(bag.dag_ids),
    "heavy": heavy,
    "dags": {dag_id: describe(dag) for dag_id, dag in bag.dags.items()},
}))
"""


@functools.cache
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
    assert {"o2c_nightly", "o2c_bank_intake"} <= set(info["dag_ids"])
    assert info["heavy"] == [], f"DAG files must not import {info['heavy']} at parse time"
    for dag_id, dag in info["dags"].items():
        assert dag["doc_md"], dag_id
        assert set(dag["retries"].values()) == {2} and dag["owner"] == ["data-team"], dag_id
        assert dag["catchup"] is False and dag["max_active_runs"] == 1, dag_id

    nightly = info["dags"]["o2c_nightly"]
    assert {"o2c", "nightly"} <= set(nightly["tags"])
    assert nightly["timetable"] == "CronDataIntervalTimetable"
    assert nightly["timezone"] == "Asia/Shanghai" and nightly["cron"] == "0 2 * * *"
    edges = {tuple(e) for e in nightly["edges"]}
    for source in ("extract_erp", "extract_logistics", "bank_intake"):
        assert (source, "dbt_build") in edges
    assert ("dbt_build", "run_checks") in edges and ("run_checks", "send_alerts") in edges


def test_bank_intake_runs_every_15_minutes_and_emits_the_raw_bank_asset(o2c_home) -> None:
    intake = _parse()["dags"]["o2c_bank_intake"]
    assert {"o2c", "bank", "intake"} <= set(intake["tags"])
    # a trigger timetable: the intake has no data interval, the inbox is its state
    assert intake["timetable"] == "CronTriggerTimetable" and intake["cron"] == "*/15 * * * *"
    assert intake["timezone"] == "Asia/Shanghai"
    assert intake["outlets"] == {"land_bank_files": ["o2c://warehouse/raw_bank"]}
