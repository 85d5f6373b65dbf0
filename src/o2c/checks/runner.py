"""Run the abnormal-order suites for an as-of date and record what failed.

Great Expectations validates each suite against a query over the marts; every failing row becomes an
observation in ``ops.exception_observations`` for that date (replacing the date's previous observations),
the run's summary goes to ``ops.check_runs``, and ``marts.fct_order_exceptions`` is rebuilt — all in one
transaction.
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from o2c.checks.lifecycle import rebuild_exceptions
from o2c.checks.rules import load_rules, load_suite_module
from o2c.config import Settings, load_settings
from o2c.warehouse.locks import CHECK_RESULTS

log = logging.getLogger(__name__)

MAX_FAILING_ROWS = 1_000_000
"""More failing rows than this for one rule in one run is treated as an error, not truncated."""


def _sqlalchemy_url(url: str) -> str:
    return "postgresql+psycopg2://" + url.split("://", 1)[1]


def _format(template: str, values: dict[str, Any]) -> str:
    class Safe(dict[str, Any]):
        def __missing__(self, key: str) -> str:
            return "?"

    return template.format_map(Safe({k: ("" if v is None else v) for k, v in values.items()}))


def _severity(rule: dict[str, Any], measure: Decimal | None) -> str:
    escalate = rule.get("escalate_to_high_after_days")
    if escalate is not None and measure is not None and measure > Decimal(str(escalate)):
        return "high"
    return str(rule["severity"])


def validate(as_of: date, url: str, settings: Settings) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Run every suite; return (observations, per-expectation summaries)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    rules = load_rules(settings.expectations_dir)
    context = gx.get_context(mode="ephemeral")  # suites need an active context to be built
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    suites = load_suite_module(settings.expectations_dir).build_suites(rules, as_of.isoformat())
    source = context.data_sources.add_postgres("warehouse", connection_string=_sqlalchemy_url(url))
    observations: list[dict[str, Any]] = []
    summaries: list[dict[str, Any]] = []
    for spec in suites:
        asset = source.add_query_asset(spec.name, query=spec.query)
        batch = asset.add_batch_definition_whole_table(f"{spec.name}__whole")
        suite = context.suites.add(spec.suite)
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(name=f"{spec.name}__{as_of.isoformat()}", data=batch, suite=suite)
        )
        result = definition.run(
            result_format={
                "result_format": "COMPLETE",
                # GX truncates SQL failing-row lists at partial_unexpected_count (default 20)
                "partial_unexpected_count": MAX_FAILING_ROWS,
                "unexpected_index_column_names": [*spec.key_columns, *spec.extra_columns],
            }
        )
        for outcome in result.results:
            config = outcome.expectation_config
            if config is None or not config.meta:
                raise RuntimeError(f"an expectation in suite {spec.suite.name} has no rule_id in its meta")
            rule_id = config.meta["rule_id"]
            measure_column = config.meta["measure"]
            rule = rules[rule_id]
            failing = outcome.result.get("unexpected_index_list") or []
            if outcome.exception_info and outcome.exception_info.get("raised_exception"):
                raise RuntimeError(
                    f"check {rule_id} on {spec.name} could not run: "
                    f"{outcome.exception_info.get('exception_message')}"
                )
            if len(failing) != (outcome.result.get("unexpected_count") or 0):
                raise RuntimeError(
                    f"check {rule_id}: {outcome.result.get('unexpected_count')} failing rows but "
                    f"{len(failing)} keys returned (over {MAX_FAILING_ROWS}?)"
                )
            summaries.append(
                {
                    "suite": spec.suite.name,
                    "rule_id": rule_id,
                    "success": bool(outcome.success),
                    "element_count": outcome.result.get("element_count"),
                    "unexpected_count": outcome.result.get("unexpected_count", 0),
                }
            )
            for row in failing:
                measure = row.get(measure_column)
                measure = None if measure is None else Decimal(str(measure))
                values = {**row, "measure": measure}
                observations.append(
                    {
                        "rule_id": rule_id,
                        "entity_key": str(row[spec.key_columns[0]]),
                        "order_id": row.get("order_id"),
                        "invoice_id": row.get("invoice_id"),
                        "customer_id": row.get("customer_id"),
                        "owner_rep_id": row.get("owner_rep_id"),
                        "severity": _severity(rule, measure),
                        "measure": measure,
                        "detail_en": _format(rule["detail_en"], values),
                        "detail_zh": _format(rule["detail_zh"], values),
                        "detail": {k: str(v) for k, v in row.items() if v is not None},
                    }
                )
    return observations, summaries


def record(
    conn: psycopg.Connection,
    as_of: date,
    run_id: str,
    rules: dict[str, dict[str, Any]],
    observations: list[dict[str, Any]],
    summaries: list[dict[str, Any]],
) -> None:
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(%s)", (CHECK_RESULTS,))
        for rule_id, rule in rules.items():
            thresholds = {k: v for k, v in rule.items() if k.endswith(("_days", "_pct"))}
            conn.execute(
                """insert into ops.rule_catalog (rule_id, name_en, name_zh, explanation_en, explanation_zh,
                       severity, owner, measure_unit, thresholds)
                   values (%s, %s, %s, %s, %s, %s, %s, %s, %s)
                   on conflict (rule_id) do update set name_en = excluded.name_en, name_zh = excluded.name_zh,
                       explanation_en = excluded.explanation_en, explanation_zh = excluded.explanation_zh,
                       severity = excluded.severity, owner = excluded.owner,
                       measure_unit = excluded.measure_unit, thresholds = excluded.thresholds,
                       updated_at = now()""",
                (
                    rule_id,
                    rule["name_en"],
                    rule["name_zh"],
                    rule["explanation_en"],
                    rule["explanation_zh"],
                    rule["severity"],
                    rule["owner"],
                    rule.get("measure_unit"),
                    Jsonb(thresholds),
                ),
            )
        conn.execute("delete from ops.exception_observations where as_of_date = %s", (as_of,))
        with conn.cursor().copy(
            "copy ops.exception_observations (as_of_date, rule_id, entity_key, order_id, invoice_id, customer_id, "
            "owner_rep_id, severity, measure, detail_en, detail_zh, detail) from stdin"
        ) as copy:
            for o in observations:
                copy.write_row(
                    [
                        as_of,
                        o["rule_id"],
                        o["entity_key"],
                        o["order_id"],
                        o["invoice_id"],
                        o["customer_id"],
                        o["owner_rep_id"],
                        o["severity"],
                        o["measure"],
                        o["detail_en"],
                        o["detail_zh"],
                        Jsonb(o["detail"]),
                    ]
                )
        conn.execute(
            """insert into ops.check_runs (as_of_date, run_id, checked_at, success, results)
               values (%s, %s, %s, %s, %s)
               on conflict (as_of_date) do update set run_id = excluded.run_id, checked_at = excluded.checked_at,
                   success = excluded.success, results = excluded.results""",
            (as_of, run_id, datetime.now(UTC), all(s["success"] for s in summaries), Jsonb(summaries)),
        )
        rebuild_exceptions(conn)


def run_checks(as_of: date, run_id: str, url: str, settings: Settings | None = None) -> dict[str, Any]:
    """Validate, record, and summarise: exceptions found per rule for ``as_of``."""
    s = settings or load_settings()
    rules = load_rules(s.expectations_dir)
    observations, summaries = validate(as_of, url, s)
    with psycopg.connect(url) as conn:
        record(conn, as_of, run_id, rules, observations, summaries)
    per_rule = {rule_id: 0 for rule_id in rules}
    for o in observations:
        per_rule[o["rule_id"]] += 1
    return {"as_of": as_of.isoformat(), "exceptions": len(observations), "per_rule": per_rule}
