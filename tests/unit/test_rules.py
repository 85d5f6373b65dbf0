"""The rule catalog, severities, the suites' thresholds (validated by GX against rows in memory), the detail
texts, and the precision/recall scorecard."""

from __future__ import annotations

import os
import shutil
import string
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from o2c.checks.rules import RuleCatalogError, load_rules, load_suite_module
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


# -- the finance rules ------------------------------------------------------------------------------------
def test_finance_rules_are_owned_by_finance_with_their_thresholds_in_the_names() -> None:
    rules = load_rules(EXPECTATIONS)
    cash, statements = rules["UNAPPLIED_CASH"], rules["BANK_STMT_INTEGRITY"]
    assert (cash["owner"], statements["owner"]) == ("finance", "finance")
    assert (cash["severity"], statements["severity"]) == ("medium", "high")
    assert cash["max_age_days"] == 5 and cash["escalate_to_high_after_days"] > cash["max_age_days"]
    assert "escalate_to_high_after_days" not in statements
    # names and explanations name the configured threshold, filled in when the catalog is loaded
    assert cash["name_en"] == "Unapplied cash older than 5 days"
    assert cash["name_zh"] == "未核销款项超过 5 天"
    assert "5 days" in cash["explanation_en"] and "5 天" in cash["explanation_zh"]
    assert statements["name_en"] == "Bank statement integrity break"
    assert statements["name_zh"] == "银行对账单连续性中断"
    assert {rule["owner"] for rule in rules.values()} == {"sales_rep", "finance"}


def test_a_changed_threshold_changes_the_names(tmp_path: Path) -> None:
    text = (EXPECTATIONS / "rules.yml").read_text().replace("    max_age_days: 5\n", "    max_age_days: 7\n")
    (tmp_path / "rules.yml").write_text(text)
    rule = load_rules(tmp_path)["UNAPPLIED_CASH"]
    assert rule["name_en"] == "Unapplied cash older than 7 days" and rule["name_zh"] == "未核销款项超过 7 天"


def test_an_unknown_owner_or_threshold_in_a_name_is_refused(tmp_path: Path) -> None:
    text = (EXPECTATIONS / "rules.yml").read_text()
    (tmp_path / "rules.yml").write_text(text.replace("    owner: finance\n", "    owner: treasury\n", 1))
    with pytest.raises(RuleCatalogError, match=r"UNAPPLIED_CASH has owner 'treasury'"):
        load_rules(tmp_path)
    (tmp_path / "rules.yml").write_text(text.replace("older than {max_age_days}", "older than {max_days}", 1))
    with pytest.raises(RuleCatalogError, match=r"UNAPPLIED_CASH field name_en names an unknown threshold"):
        load_rules(tmp_path)


def test_unapplied_cash_escalates_to_high_after_its_threshold() -> None:
    rule = load_rules(EXPECTATIONS)["UNAPPLIED_CASH"]
    limit = Decimal(str(rule["escalate_to_high_after_days"]))
    assert _severity(rule, Decimal(rule["max_age_days"] + 1)) == "medium"
    assert _severity(rule, limit) == "medium"
    assert _severity(rule, limit + 1) == "high"
    statements = load_rules(EXPECTATIONS)["BANK_STMT_INTEGRITY"]
    assert _severity(statements, Decimal(0)) == _severity(statements, Decimal(400)) == "high"


@pytest.fixture(scope="module")
def validate_suite() -> Callable[[str, list[dict[str, Any]], list[str]], dict[str, list[dict[str, Any]]]]:
    """Validate one of the real suites (``abnormal_orders.py`` with ``rules.yml``'s thresholds) against rows
    in memory; return the failing rows' index columns per rule id."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    import pandas as pd
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    rules = load_rules(EXPECTATIONS)
    suites = {spec.name: spec for spec in load_suite_module(EXPECTATIONS).build_suites(rules, "2026-09-27")}
    source = context.data_sources.add_pandas("memory")

    def run(name: str, rows: list[dict[str, Any]], index: list[str]) -> dict[str, list[dict[str, Any]]]:
        asset = source.add_dataframe_asset(f"{name}__{len(source.assets)}")
        batch = asset.add_batch_definition_whole_dataframe("whole").get_batch(
            batch_parameters={"dataframe": pd.DataFrame(rows)}
        )
        result = batch.validate(
            suites[name].suite,
            result_format={"result_format": "COMPLETE", "unexpected_index_column_names": index},
        )
        return {
            outcome.expectation_config.meta["rule_id"]: [
                {k: str(v) for k, v in row.items()}
                for row in outcome.result.get("unexpected_index_list") or []
            ]
            for outcome in result.results
            if outcome.expectation_config is not None
        }

    return run


def test_unapplied_cash_is_flagged_once_older_than_max_age_days(validate_suite: Any) -> None:
    """N = max_age_days (5): a receipt N - 1 or exactly N days old is not flagged ("older than N days"),
    N + 1 days old is; so is anything older."""
    n = load_rules(EXPECTATIONS)["UNAPPLIED_CASH"]["max_age_days"]
    rows = [{"payment_id": f"age-{age}", "age_days": age} for age in (0, n - 1, n, n + 1, 40)]
    failing = validate_suite("fct_unapplied_cash", rows, ["payment_id", "age_days"])
    assert failing == {
        "UNAPPLIED_CASH": [
            {"payment_id": f"age-{n + 1}", "age_days": str(n + 1)},
            {"payment_id": "age-40", "age_days": "40"},
        ]
    }


def test_every_open_statement_break_is_an_exception(validate_suite: Any) -> None:
    rows = [
        {"issue_id": "7", "kind": "balance_break", "days_open": 0},
        {"issue_id": "8", "kind": "sequence_gap", "days_open": 3},
    ]
    failing = validate_suite("fct_bank_statement_breaks", rows, ["issue_id", "days_open"])
    assert failing == {
        "BANK_STMT_INTEGRITY": [{"issue_id": "7", "days_open": "0"}, {"issue_id": "8", "days_open": "3"}]
    }


def test_finance_detail_texts_name_amount_payer_dates_and_candidates() -> None:
    rules = load_rules(EXPECTATIONS)
    cash_row = {
        "payment_id": "3f2a",
        "account_id": "DE89370400440532013000",
        "booking_date": "2026-09-20",
        "amount": "101000.00",
        "currency_code": "USD",
        "unapplied_amount": "1000.00",
        "payer_en": "ACME TRADING LTD (GB29NWBK60161331926819)",
        "payer_zh": "ACME TRADING LTD（GB29NWBK60161331926819）",
        "remittance_en": "PAYMENT INV 0090001234",
        "remittance_zh": "PAYMENT INV 0090001234",
        "bank_reference_en": "BR-77",
        "bank_reference_zh": "BR-77",
        "candidates_en": "0090001240 (1000.00), 0090001241 (995.00)",
        "candidates_zh": "0090001240 (1000.00), 0090001241 (995.00)",
        "measure": Decimal(7),
    }
    en = _format(rules["UNAPPLIED_CASH"]["detail_en"], cash_row)
    zh = _format(rules["UNAPPLIED_CASH"]["detail_zh"], cash_row)
    assert en == (
        "1000.00 USD not applied of a receipt of 101000.00 USD from ACME TRADING LTD (GB29NWBK60161331926819), "
        "booked 2026-09-20 on account DE89370400440532013000 (7 days ago); remittance: PAYMENT INV 0090001234; "
        "bank ref BR-77; closest open invoices: 0090001240 (1000.00), 0090001241 (995.00)"
    )
    for needle in (
        "2026-09-20",
        "101000.00 USD",
        "1000.00 USD 未核销",
        "已 7 天",
        "ACME TRADING LTD",
        "0090001240",
    ):
        assert needle in zh
    assert "?" not in en and "?" not in zh  # every placeholder is a column of the suite's query
    statement_row = {
        "account_id": "NL91ABNA0417164300",
        "currency_code": "EUR",
        "break_en": "statement 61 of 2026-09-21 opens at 1200.00, but the previous statement 60 of 2026-09-19 "
        "closed at 1000.00 (difference 200.00)",
        "break_zh": "对账单 61（2026-09-21）的期初余额 1200.00 与上一张对账单 60（2026-09-19）的期末余额 1000.00 "
        "不符（差额 200.00）",
        "detected_date": "2026-09-22",
        "file_name": "abn_20260921.sta",
        "measure": Decimal(2),
    }
    en = _format(rules["BANK_STMT_INTEGRITY"]["detail_en"], statement_row)
    zh = _format(rules["BANK_STMT_INTEGRITY"]["detail_zh"], statement_row)
    assert en.startswith("account NL91ABNA0417164300 (EUR): statement 61 of 2026-09-21 opens at 1200.00")
    assert en.endswith("found 2026-09-22 when file abn_20260921.sta landed; days open: 2")
    assert zh.startswith("账户 NL91ABNA0417164300（EUR）：对账单 61（2026-09-21）的期初余额 1200.00")
    assert "?" not in en and "?" not in zh


def test_finance_suites_read_the_columns_their_texts_use() -> None:
    """Every placeholder of a finance rule's detail texts is a column its suite's query returns (else the
    digest would show '?')."""
    rules = load_rules(EXPECTATIONS)
    specs = {spec.name: spec for spec in load_suite_module(EXPECTATIONS).build_suites(rules, "2026-09-27")}
    for rule_id, suite in (
        ("UNAPPLIED_CASH", "fct_unapplied_cash"),
        ("BANK_STMT_INTEGRITY", "fct_bank_statement_breaks"),
    ):
        columns = {*specs[suite].key_columns, *specs[suite].extra_columns, "measure"}
        for key in ("detail_en", "detail_zh"):
            placeholders = {name for _, name, _, _ in string.Formatter().parse(rules[rule_id][key]) if name}
            assert placeholders <= columns, (rule_id, key, placeholders - columns)
