"""The demo's calendar and its summary's finance and fulfilment headlines (formatting; no warehouse)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from o2c.demo import (
    DEMO_DAYS,
    DEMO_END,
    DEMO_NIGHTS,
    DEMO_START,
    Steps,
    last_closed_month,
    print_headlines,
    print_times,
)


def test_the_demo_history_spans_36_months_before_its_nightly_window() -> None:
    history_end = DEMO_END - timedelta(days=DEMO_NIGHTS)
    months = (history_end.year - DEMO_START.year) * 12 + history_end.month - DEMO_START.month
    assert DEMO_START.day == 1 and months >= 36, "36 whole calendar months of history before the nights"
    assert DEMO_START + timedelta(days=DEMO_DAYS - 1) == DEMO_END


def test_last_closed_month() -> None:
    assert last_closed_month(date(2026, 9, 28)) == date(2026, 8, 1)
    assert last_closed_month(date(2026, 9, 30)) == date(2026, 9, 1), "a month closes on its last day"
    assert last_closed_month(date(2026, 1, 5)) == date(2025, 12, 1)
    assert last_closed_month(date(2024, 2, 29)) == date(2024, 2, 1)


def headlines(**overrides: object) -> dict[str, object]:
    dso = (
        "company",
        Decimal("52.31"),
        Decimal("48.10"),
        Decimal("41.02"),
        Decimal("11.29"),
        Decimal("93.5"),
        1e7,
    )
    base: dict[str, object] = {
        "month": date(2026, 8, 1),
        "under_lifting": 2,
        "under_lifting_top": [
            ("40000012", "Acme Chemicals Ltd", "M-PE-100", Decimal("120.500"), Decimal("300.000"), "TO"),
            ("40000031", "Zhejiang Polymers", "M-PP-200", Decimal("80.000"), Decimal("150.000"), "TO"),
        ],
        "otif": (200, 187),
        "dso_company": dso,
        "dso_reps": [("Li Wei", None, None, None, None, None, Decimal("0"))],
        "over_limit": 1,
        "over_limit_top": [("Acme Chemicals Ltd", Decimal("93.20"), Decimal("932000"), Decimal("1000000"))],
        "aging": {"not_due_usd": Decimal("100.00"), "total_usd": Decimal("100.00")},
    }
    base.update(overrides)
    return base


def test_headlines_print_contracts_otif_dso_exposure_and_aging(capsys) -> None:
    print_headlines(headlines(), date(2026, 9, 28))
    out = capsys.readouterr().out
    assert "2 under-lifting" in out and "40000012" in out and "Acme Chemicals Ltd" in out
    assert "OTIF 2026-08" in out and "93.5 % of 200 lines" in out
    assert "52.3" in out and "11.3" in out, "DSO and ADD of the company"
    assert "Li Wei" in out and "n/a" in out, "a NULL ratio prints as n/a"
    assert "customers over 80 % of their credit limit on 2026-09-28 (marts.fct_credit_exposure): 1" in out
    assert "not_due_usd" in out and "total_usd" in out


def test_headlines_say_not_built_when_the_contract_and_fulfilment_marts_are_missing(capsys) -> None:
    h = headlines()
    for missing in ("under_lifting", "under_lifting_top", "otif"):
        del h[missing]
    print_headlines(h, date(2026, 9, 28))
    out = capsys.readouterr().out
    assert "not built: marts.fct_contracts does not exist" in out
    assert "OTIF 2026-08: not built" in out


def test_otif_without_lines_promised_that_month(capsys) -> None:
    print_headlines(headlines(otif=(0, 0), dso_company=None), date(2026, 9, 28))
    out = capsys.readouterr().out
    assert "n/a (no line promised that month)" in out
    assert "no closed month 2026-08" in out


def test_time_per_step_lists_steps_and_airflow_tasks(capsys) -> None:
    steps = Steps()
    with steps.step("simulate"):
        pass
    print_times(steps, [("o2c_nightly", "2026-09-25", "dbt_build", 42.0)])
    out = capsys.readouterr().out
    assert "simulate" in out and "o2c_nightly.dbt_build" in out and "2026-09-25" in out and "42 s" in out
