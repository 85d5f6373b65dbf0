"""The rule catalog, severities, and the precision/recall scorecard."""

from __future__ import annotations

import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from o2c.checks.rules import RuleCatalogError, load_rules
from o2c.checks.runner import _format, _severity
from o2c.config import load_settings
from o2c.simulate.scorecard import expected_cases, score

EXPECTATIONS = load_settings().expectations_dir


def test_catalog_has_bilingual_rules_with_thresholds() -> None:
    rules = load_rules(EXPECTATIONS)
    assert {"ORD_OVERDUE", "QTY_TOLERANCE", "PRICE_BAND", "AR_OVERDUE"} <= set(rules)
    for rule in rules.values():
        assert rule["name_en"] and rule["name_zh"] and rule["explanation_zh"]
        assert any("\u4e00" <= ch <= "\u9fff" for ch in rule["name_zh"])
    assert rules["PRICE_BAND"]["band_pct"] > 0


def test_a_broken_catalog_names_the_rule_and_field(tmp_path: Path) -> None:
    shutil.copy(EXPECTATIONS / "abnormal_orders.py", tmp_path)
    text = (
        (EXPECTATIONS / "rules.yml").read_text().replace("    severity: high\n", "    severity: urgent\n", 1)
    )
    (tmp_path / "rules.yml").write_text(text)
    with pytest.raises(RuleCatalogError, match=r"ORD_OVERDUE.*urgent"):
        load_rules(tmp_path)
    (tmp_path / "rules.yml").write_text("rules: {}\n")
    with pytest.raises(RuleCatalogError, match="no 'rules'"):
        load_rules(tmp_path)


def test_receivables_escalate_to_high_after_the_threshold() -> None:
    rule = load_rules(EXPECTATIONS)["AR_OVERDUE"]
    limit = Decimal(str(rule["escalate_to_high_after_days"]))
    assert _severity(rule, limit) == rule["severity"]
    assert _severity(rule, limit + 1) == "high"
    assert _severity(rule, None) == rule["severity"]


def test_detail_templates_fill_known_and_mark_unknown_fields() -> None:
    assert _format("{a} and {missing}", {"a": 1}) == "1 and ?"


def test_scorecard_applies_grace_and_visibility(tmp_path: Path) -> None:
    (tmp_path / "cases.csv").write_text(
        "rule_id,entity_key,order_id,customer_id,reference_date,note\n"
        "ORD_OVERDUE,A,1,C,2026-09-20,\n"  # promised 09-20: overdue on 09-21 with grace 0
        "ORD_OVERDUE,B,1,C,2026-09-21,\n"  # not overdue yet on 09-21
        "PRICE_BAND,P,1,C,2026-09-21,\n"  # visible from its order date
        "QTY_TOLERANCE,Q,1,C,2026-09-22,\n"  # goods issued after the as-of date
    )
    rules = {"ORD_OVERDUE": {"grace_days": 0}, "PRICE_BAND": {}, "QTY_TOLERANCE": {}, "AR_OVERDUE": {}}
    expected = expected_cases(tmp_path, date(2026, 9, 21), rules)
    assert expected == {
        "ORD_OVERDUE": {"A"},
        "PRICE_BAND": {"P"},
        "QTY_TOLERANCE": set(),
        "AR_OVERDUE": set(),
    }
    scores = {s.rule_id: s for s in score(expected, {"ORD_OVERDUE": {"A", "X"}, "PRICE_BAND": set()})}
    assert scores["ORD_OVERDUE"].precision == 0.5 and scores["ORD_OVERDUE"].recall == 1.0
    assert scores["ORD_OVERDUE"].false_positives == ["X"]
    assert scores["PRICE_BAND"].recall == 0.0 and scores["PRICE_BAND"].false_negatives == ["P"]
