"""Load the rule catalog (``expectations/rules.yml``) and the suites (``expectations/abnormal_orders.py``)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

REQUIRED_KEYS = (
    "name_en",
    "name_zh",
    "explanation_en",
    "explanation_zh",
    "severity",
    "owner",
    "measure_unit",
    "detail_en",
    "detail_zh",
)
SEVERITIES = ("high", "medium", "low")

SALES_REP = "sales_rep"
"""Owner of a rule whose alerts go to the sales rep owning the customer (``owner_rep_id``)."""
FINANCE = "finance"
"""Owner of a rule whose alerts go to the finance team's digest (``O2C_FINANCE_EMAIL``), never to a rep."""
OWNERS = (SALES_REP, FINANCE)

NAME_KEYS = ("name_en", "name_zh", "explanation_en", "explanation_zh")
"""Texts that may name the rule's own thresholds (``{max_age_days}``), filled in when the catalog is loaded."""


class RuleCatalogError(ValueError):
    """The rule catalog is invalid; the message names the rule and the field."""


def _fill_thresholds(path: Path, rule_id: str, rule: dict[str, Any]) -> dict[str, Any]:
    """The rule with ``{threshold}`` placeholders in its names and explanations replaced by the values."""
    values = {k: v for k, v in rule.items() if not isinstance(v, (dict, list))}
    filled = dict(rule)
    for key in NAME_KEYS:
        try:
            filled[key] = str(rule[key]).format_map(values)
        except (KeyError, ValueError, IndexError) as exc:
            raise RuleCatalogError(
                f"{path}: rule {rule_id} field {key} names an unknown threshold or is malformed ({exc!r})"
            ) from exc
    return filled


def load_rules(expectations_dir: Path) -> dict[str, dict[str, Any]]:
    """The rule catalog: rule id to its fields, names and explanations with their thresholds filled in."""
    path = expectations_dir / "rules.yml"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise RuleCatalogError(f"{path}: cannot read the rule catalog ({exc})") from exc
    rules = (data or {}).get("rules")
    if not isinstance(rules, dict) or not rules:
        raise RuleCatalogError(f"{path}: no 'rules' mapping")
    for rule_id, rule in rules.items():
        missing = [k for k in REQUIRED_KEYS if k not in (rule or {})]
        if missing:
            raise RuleCatalogError(f"{path}: rule {rule_id} lacks {', '.join(missing)}")
        if rule["severity"] not in SEVERITIES:
            raise RuleCatalogError(
                f"{path}: rule {rule_id} has severity {rule['severity']!r}, not one of {SEVERITIES}"
            )
        if rule["owner"] not in OWNERS:
            raise RuleCatalogError(f"{path}: rule {rule_id} has owner {rule['owner']!r}, not one of {OWNERS}")
    return {rule_id: _fill_thresholds(path, rule_id, rule) for rule_id, rule in rules.items()}


def load_suite_module(expectations_dir: Path) -> ModuleType:
    path = expectations_dir / "abnormal_orders.py"
    spec = importlib.util.spec_from_file_location("o2c_expectations_abnormal_orders", path)
    if spec is None or spec.loader is None:
        raise RuleCatalogError(f"{path}: cannot load the expectation suites")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses in the module look themselves up there
    spec.loader.exec_module(module)
    return module
