"""
Benchmark DAGs (bench/ only, never deployed): the dbt step as one `dbt build` task vs Cosmos per-model
tasks. `bench/dbt_cosmos_vs_build.py` runs both with `airflow dags test` on the same warehouse.
"""

from __future__ import annotations

import os
from pathlib import Path

import pendulum
from airflow.sdk import dag, task

AS_OF = os.environ.get("O2C_BENCH_AS_OF", "2026-09-28")
PROJECT = Path(os.environ.get("O2C_DBT_PROJECT_DIR", Path(__file__).resolve().parents[2] / "dbt_project"))
START = pendulum.datetime(2026, 1, 1, tz="UTC")


@dag(
    dag_id="bench_dbt_single_build",
    schedule=None,
    start_date=START,
    catchup=False,
    tags=["bench"],
    doc_md=__doc__,
)
def bench_dbt_single_build() -> None:
    @task
    def dbt_build() -> dict:
        from datetime import date

        from o2c import pipeline

        return pipeline.build_marts(date.fromisoformat(AS_OF))

    dbt_build()


@dag(
    dag_id="bench_dbt_cosmos", schedule=None, start_date=START, catchup=False, tags=["bench"], doc_md=__doc__
)
def bench_dbt_cosmos() -> None:
    from cosmos import DbtTaskGroup, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
    from cosmos.constants import ExecutionMode, InvocationMode, LoadMode, TestBehavior

    DbtTaskGroup(
        group_id="dbt",
        project_config=ProjectConfig(
            dbt_project_path=PROJECT, manifest_path=os.environ["O2C_BENCH_MANIFEST"], install_dbt_deps=False
        ),
        profile_config=ProfileConfig(
            profile_name="o2c", target_name="warehouse", profiles_yml_filepath=PROJECT / "profiles.yml"
        ),
        execution_config=ExecutionConfig(
            execution_mode=ExecutionMode.LOCAL, invocation_mode=InvocationMode.DBT_RUNNER
        ),
        render_config=RenderConfig(
            load_method=LoadMode.DBT_MANIFEST, test_behavior=TestBehavior.AFTER_EACH, dbt_deps=False
        ),
        operator_args={"vars": {"as_of_date": AS_OF}, "install_deps": False},
    )


bench_dbt_single_build()
bench_dbt_cosmos()
