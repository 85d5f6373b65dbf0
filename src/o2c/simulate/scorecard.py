"""Detection precision and recall: the checks' open exceptions against the simulator's ground truth.

Only the demo and the tests read the ground truth; the pipeline never does. A case is *expected* at an
as-of date when it is visible by then under the rule's thresholds: an overdue order once the promised date
plus grace has passed, an overdue receivable once the due date plus grace has passed, a quantity deviation
once goods are issued, a price deviation once the order exists. A time-based case resolved later (paid or
delivered late) is expected up to its ``until`` date.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

TIME_BASED = {"ORD_OVERDUE", "AR_OVERDUE"}


@dataclass(frozen=True)
class RuleScore:
    rule_id: str
    expected: int
    flagged: int
    true_positives: int
    false_positives: list[str]
    false_negatives: list[str]

    @property
    def precision(self) -> float:
        return self.true_positives / self.flagged if self.flagged else 1.0

    @property
    def recall(self) -> float:
        return self.true_positives / self.expected if self.expected else 1.0


def scored_rules(rules: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The rules scored against the injected cases: the abnormal-order rules. The finance rules watch the bank
    side (unapplied cash, statement breaks): the cash application has its own scorecard
    (:mod:`o2c.simulate.cash_scorecard`) and the integrity break its own file kinds (``bank_files.csv``)."""
    return {rule_id: rule for rule_id, rule in rules.items() if rule.get("owner") != "finance"}


def expected_cases(ground_truth: Path, as_of: date, rules: dict[str, dict[str, Any]]) -> dict[str, set[str]]:
    expected: dict[str, set[str]] = {rule_id: set() for rule_id in scored_rules(rules)}
    with (ground_truth / "cases.csv").open() as handle:
        for row in csv.DictReader(handle):
            rule_id = row["rule_id"]
            reference = date.fromisoformat(row["reference_date"])
            until = date.fromisoformat(row["until"]) if row.get("until") else None
            if rule_id in TIME_BASED:
                visible = (as_of - reference).days > int(rules[rule_id].get("grace_days", 0)) and (
                    until is None or as_of <= until
                )
            else:
                visible = reference <= as_of
            if visible and rule_id in expected:
                expected[rule_id].add(row["entity_key"])
    return expected


def score(expected: dict[str, set[str]], flagged: dict[str, set[str]]) -> list[RuleScore]:
    """Each scored rule's precision and recall (``expected`` names the rules scored: see :func:`scored_rules`)."""
    out = []
    for rule_id in sorted(expected):
        exp, got = expected.get(rule_id, set()), flagged.get(rule_id, set())
        out.append(
            RuleScore(rule_id, len(exp), len(got), len(exp & got), sorted(got - exp), sorted(exp - got))
        )
    return out


def flagged_exceptions(conn: Any, as_of: date) -> dict[str, set[str]]:
    """Open exceptions the checks raised for ``as_of``."""
    flagged: dict[str, set[str]] = {}
    rows = conn.execute(
        "select rule_id, entity_key from ops.exception_observations where as_of_date = %s", (as_of,)
    ).fetchall()
    for rule_id, entity_key in rows:
        flagged.setdefault(rule_id, set()).add(entity_key)
    return flagged
