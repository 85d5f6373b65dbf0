"""Recompute the demo's headline figures from the simulated ERP and compare them with the marts.

Run after ``make demo`` (it starts the warehouse if needed):
``.venv/bin/python -m tests.integration.check_demo_figures``. The aging on the as-of date, the company's DSO
(standard, countback, best possible) of the last closed month and OTIF of the lines promised that month are
recomputed by :mod:`tests.integration.finance_truth` (Python reading BSID/BSAD, VBRK, VBAP/VBEP and LIKP/LIPS
as of each cutoff; rates from int_fx_rates_daily, an input) and printed beside the marts' values. Exits 1 on
any difference.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

import psycopg

from o2c.config import load_settings
from o2c.demo import DEMO_END, DEMO_NIGHTS, last_closed_month
from o2c.simulate.driver import Simulation
from o2c.warehouse.db import start_warehouse
from tests.integration import finance_truth as truth


def _month_days(month: date) -> int:
    return ((month.replace(day=28) + timedelta(days=4)).replace(day=1) - month).days


def main() -> int:
    settings = load_settings()
    url = settings.warehouse_url or start_warehouse(settings)
    world = Simulation(settings).world
    as_of, first_load = DEMO_END, DEMO_END - timedelta(days=DEMO_NIGHTS)
    month = last_closed_month(as_of)
    month_end = month + timedelta(days=_month_days(month) - 1)
    differences = 0

    def show(label: str, erp: object, mart: object) -> None:
        nonlocal differences
        same = erp == mart
        differences += not same
        print(f"  {label:16} ERP {erp!s:>22}  mart {mart!s:>22}  {'OK' if same else 'DIFF'}")

    with psycopg.connect(url, autocommit=True) as conn:
        rates = {
            (day, currency): rate
            for day, currency, rate in conn.execute(
                "select rate_date, currency_code, to_usd from intermediate.int_fx_rates_daily"
            )
        }
        items = truth.open_items(world, as_of, late_commits_arrived=False, first_load=first_load)
        per_customer = truth.aging(items, as_of, {c: rates[(as_of, c)] for c in {i.currency for i in items}})
        expected: dict[str, Decimal] = defaultdict(Decimal)
        for columns in per_customer.values():
            for name, amount in columns.items():
                expected[name] += amount
        names = [*truth.BUCKETS, "credit_memo", "unapplied_cash", "total"]
        got = conn.execute(
            f"select {', '.join(f'coalesce(sum({n}_usd), 0)' for n in names)} from marts.fct_ar_aging "
            "where snapshot_date = %s",
            (as_of,),
        ).fetchone()
        assert got is not None
        print(f"aging on {as_of}, all customers, USD")
        for name, mart in zip(names, got, strict=True):
            show(name, expected.get(name, Decimal(0)), mart)

        sales = truth.monthly_sales_usd(world, as_of, rates)
        items = truth.open_items(world, month_end, late_commits_arrived=True, first_load=first_load)
        ar = sum((truth.cents(i.amount * rates[(month_end, i.currency)]) for i in items), Decimal(0))
        current = sum(
            (
                truth.cents(i.amount * rates[(month_end, i.currency)])
                for i in items
                if i.is_credit or i.due >= month_end
            ),
            Decimal(0),
        )
        walk, walked = [], month
        while walked >= min(sales):
            walk.append((_month_days(walked), sales.get(walked, Decimal(0))))
            walked = (walked - timedelta(days=1)).replace(day=1)
        countback = truth.countback_dso(ar, walk)
        days = _month_days(month)
        row = conn.execute(
            "select sales_usd, ar_usd, current_ar_usd, dso_standard, dso_countback, best_possible_dso "
            "from marts.fct_dso_monthly where grain = 'company' and month_start = %s",
            (month,),
        ).fetchone()
        assert row is not None, f"fct_dso_monthly has no company row for {month}"
        print(f"DSO {month:%Y-%m}, company")
        show("sales_usd", sales[month], row[0])
        show("ar_usd", ar, row[1])
        show("current_ar_usd", current, row[2])
        show("dso_standard", (ar / sales[month] * days).quantize(truth.CENT), row[3])
        show("dso_countback", None if countback is None else countback.quantize(truth.CENT), row[4])
        show("best_possible", (current / sales[month] * days).quantize(truth.CENT), row[5])

        outcomes = truth.delivered_line_outcomes(world, as_of)
        lines = conn.execute(
            "select order_line_id, is_otif from marts.fct_order_fulfillment "
            "where promised_date between %s and %s and is_otif is not null",
            (month, month_end),
        ).fetchall()
        erp = {key: o.is_on_time and o.is_in_full for key, o in outcomes.items()}
        disagree = [key for key, is_otif in lines if erp.get(key) != is_otif]
        differences += len(disagree)
        otif = sum(1 for _, is_otif in lines if is_otif)
        print(
            f"OTIF {month:%Y-%m}: mart {otif} of {len(lines)} lines"
            f" = {100 * otif / max(len(lines), 1):.1f} %; the ERP disagrees on {len(disagree)} lines"
        )
    print("no difference" if not differences else f"{differences} differences")
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
