"""Cosmos per-model tasks vs one `dbt build` task, both as real Airflow DAG runs on the same warehouse.

Needs a loaded warehouse (run `make demo` first). Writes bench/results/dbt_cosmos_vs_build.json.
Each variant runs ``--repeat`` times (default 2) alternately; the figure is the median wall time of
``airflow dags test`` and the sum of task durations recorded by Airflow.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psycopg

from o2c.config import PROJECT_ROOT, load_settings
from o2c.orchestration import airflow_env
from o2c.simulate.driver import Simulation
from o2c.transform.build import dbt_env, run_dbt
from o2c.warehouse.db import start_warehouse

VARIANTS = ("bench_dbt_single_build", "bench_dbt_cosmos")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    settings = load_settings()
    as_of = Simulation(settings).config().end
    url = start_warehouse(settings)
    run_dbt(["parse"], as_of, url, settings)  # the manifest Cosmos renders from
    manifest = settings.home / "dbt" / "target" / "manifest.json"
    env = airflow_env(settings, {**os.environ, **dbt_env(url, settings)})
    env.update(
        {
            "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "bench" / "dags"),
            "O2C_BENCH_AS_OF": str(as_of),
            "O2C_BENCH_MANIFEST": str(manifest),
            "O2C_TASK_RETRIES": "0",
        }
    )
    airflow = str(Path(sys.executable).with_name("airflow"))
    subprocess.run([airflow, "db", "migrate"], env=env, check=True, capture_output=True)
    log = settings.home / "bench-airflow.log"
    walls: dict[str, list[float]] = {v: [] for v in VARIANTS}
    tasks: dict[str, list[float]] = {v: [] for v in VARIANTS}
    counts: dict[str, int] = {}
    metadata = env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].replace("postgresql+psycopg2://", "postgresql://")
    for attempt in range(args.repeat):
        for variant in VARIANTS:
            logical = f"2026-01-01T00:{attempt:02d}:{VARIANTS.index(variant):02d}+00:00"
            started = time.monotonic()
            with log.open("a") as handle:
                proc = subprocess.run(
                    [airflow, "dags", "test", variant, logical],
                    env=env,
                    stdout=handle,
                    stderr=subprocess.STDOUT,
                )
            walls[variant].append(time.monotonic() - started)
            with psycopg.connect(metadata) as conn:
                run = conn.execute(
                    "select run_id, state from dag_run where dag_id = %s order by id desc limit 1", (variant,)
                ).fetchone()
                durations = conn.execute(
                    "select count(*), sum(extract(epoch from end_date - start_date)) "
                    "from task_instance where dag_id = %s and run_id = %s",
                    (variant, run[0]),
                ).fetchone()
            if proc.returncode != 0 or run[1] != "success":
                raise SystemExit(f"{variant} ended {run[1]}; see {log}")
            counts[variant] = int(durations[0])
            tasks[variant].append(float(durations[1]))
    result = {
        "as_of": str(as_of),
        "repeat": args.repeat,
        "cpu_count": os.cpu_count(),
        "variants": {
            v: {
                "airflow_tasks": counts[v],
                "wall_s_median": round(statistics.median(walls[v]), 1),
                "wall_s": [round(w, 1) for w in walls[v]],
                "task_time_s_median": round(statistics.median(tasks[v]), 1),
            }
            for v in VARIANTS
        },
    }
    single, cosmos = (result["variants"][v]["wall_s_median"] for v in VARIANTS)
    result["cosmos_over_single_wall_ratio"] = round(cosmos / single, 2)
    out = PROJECT_ROOT / "bench" / "results" / "dbt_cosmos_vs_build.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
