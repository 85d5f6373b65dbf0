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


class RuleCatalogError(ValueError):
    """The rule catalog is invalid; the message names the rule and the field."""


def load_rules(expectations_dir: Path) -> dict[str, dict[str, Any]]:
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
    return rules


def load_suite_module(expectations_dir: Path) -> ModuleType:
    path = expectations_dir / "abnormal_orders.py"
    spec = importlib.util.spec_from_file_location("o2c_expectations_abnormal_orders", path)
    if spec is None or spec.loader is None:
        raise RuleCatalogError(f"{path}: cannot load the expectation suites")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses in the module look themselves up there
    spec.loader.exec_module(module)
    return module
