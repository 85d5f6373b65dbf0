"""Exchange rates end to end on a real PostgreSQL: TCURR as SAP stores it (inverted GDATU, indirect quotations,
ratio factors) → staging → int_fx_rates_daily → the marts' USD/CNY amounts, checked against an exact
computation from the simulator's own TCURR rows."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import psycopg
import pytest

from o2c import pipeline
from o2c.config import Settings, load_settings
from o2c.simulate.driver import Simulation
from o2c.transform.build import DbtError, run_dbt
from o2c.warehouse.db import ensure_database, warehouse_url, with_database
from tests.conftest import SMALL_SCENARIO, free_port, shared_data

pytestmark = pytest.mark.integration

REPORTING = {
    "fct_orders": ("order_date", "net_amount"),
    "fct_invoices": ("invoice_date", "gross_amount"),
    "fct_payments": ("booking_date", "amount"),
    "fct_receivables_daily": ("snapshot_date", "open_amount"),
}


@pytest.fixture(scope="module")
def fx_settings(o2c_home: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The session's server, but this module's own warehouse and ERP databases and O2C_HOME: its loads and
    bank files never change what the other integration modules see."""
    server = warehouse_url(o2c_home)
    env = {
        **os.environ,
        "O2C_HOME": str(tmp_path_factory.mktemp("fx-home")),
        "O2C_WAREHOUSE_URL": with_database(server, "o2c_fx"),
        "O2C_ERP_URL": with_database(server, "o2c_fx_erp"),
        "O2C_LOGISTICS_API_URL": f"http://127.0.0.1:{free_port()}",
    }
    env.pop("O2C_BANK_INBOX", None)
    env.pop("O2C_SIM_DIR", None)
    for url in (env["O2C_WAREHOUSE_URL"], env["O2C_ERP_URL"]):
        ensure_database(url)
    settings = load_settings(env)
    pipeline.prepare(settings)
    return settings


@pytest.fixture(scope="module")
def built(fx_settings: Settings) -> Iterator[tuple[Simulation, date]]:
    sim = Simulation(fx_settings)
    cfg = sim.init(**SMALL_SCENARIO)
    day = cfg.end - timedelta(days=1)
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    sim.advance(day)
    sim.start_api()
    try:
        pipeline.extract_erp(*pipeline.interval_for(day), fx_settings)
        pipeline.extract_logistics(*pipeline.interval_for(day), fx_settings)
        pipeline.ingest_bank_inbox(fx_settings)
        pipeline.build_marts(day, fx_settings)  # raises if reporting_amount_converted (or anything) fails
        yield sim, day
    finally:
        sim.stop_api()


def query(settings: Settings, sql: str, *params: object) -> list[tuple]:
    with psycopg.connect(warehouse_url(settings), autocommit=True) as conn:
        return conn.execute(sql, params).fetchall()  # type: ignore[arg-type]


def test_tcurr_lands_as_sap_stores_it(fx_settings: Settings, built) -> None:
    rows = query(fx_settings, "select fcurr, tcurr, gdatu, ukurs, ffact from raw_erp.tcurr")
    assert all(len(gdatu) == 8 and gdatu.startswith("797") for _, _, gdatu, _, _ in rows)
    assert {(f, t) for f, t, _, u, _ in rows if u.startswith("-")} == {("USD", "EUR"), ("SGD", "USD")}
    assert {f for f, _, _, _, ffact in rows if Decimal(ffact) == 100} == {"JPY"}


def test_every_currency_in_the_marts_has_reporting_amounts(fx_settings: Settings, built) -> None:
    seen: dict[str, set[str]] = {}
    for mart, (_, amount) in REPORTING.items():
        counts = query(
            fx_settings,
            f"select currency_code, count({amount}), count({amount}_usd), count({amount}_cny) "
            f"from marts.{mart} group by currency_code",
        )
        seen[mart] = {row[0] for row in counts}
        for currency, base, usd, cny in counts:
            assert base == usd == cny > 0, (mart, currency, base, usd, cny)
    for mart in ("fct_orders", "fct_invoices", "fct_payments", "fct_receivables_daily"):
        assert {"EUR", "SGD", "USD", "CNY"} <= seen[mart], (mart, seen[mart])
    fx = query(fx_settings, "select distinct currency_code from intermediate.int_fx_rates_daily")
    assert {c for (c,) in fx} == {"USD", "CNY", "EUR", "SGD", "JPY", "HKD"}


def _tcurr_rate(sim: Simulation, fcurr: str, tcurr: str, on: date) -> Fraction:
    """Units of ``tcurr`` per 1 ``fcurr`` from the simulator's TCURR rows, decoded here from SAP's rules."""
    best: tuple[date, Fraction] | None = None
    for (kurst, f, t, gdatu), versions in sim.world.erp["TCURR"].items():
        row = versions[-1][1]
        if kurst != "M" or (f, t) != (fcurr, tcurr) or row is None:
            continue
        valid_from = datetime.strptime(f"{99999999 - int(gdatu):08d}", "%Y%m%d").date()  # inverted date
        ukurs = Fraction(row["UKURS"])
        rate = (1 / -ukurs if ukurs < 0 else ukurs) * Fraction(row["TFACT"]) / Fraction(row["FFACT"])
        if valid_from <= on and (best is None or valid_from > best[0]):
            best = (valid_from, rate)
    assert best is not None, (fcurr, tcurr, on)
    return best[1]


def _cents(value: Fraction) -> Decimal:
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(Decimal("0.01"), ROUND_HALF_UP)


def test_converted_amounts_match_the_simulators_rates(fx_settings: Settings, built) -> None:
    sim, _ = built
    for currency in ("EUR", "SGD"):
        invoice_id, invoice_date, gross, usd, cny = query(
            fx_settings,
            "select invoice_id, invoice_date, gross_amount, gross_amount_usd, gross_amount_cny "
            "from marts.fct_invoices where currency_code = %s order by invoice_id limit 1",
            currency,
        )[0]
        usd_cny = _tcurr_rate(sim, "USD", "CNY", invoice_date)
        if currency == "EUR":  # published as USD -> EUR (indirect): invert it
            to_usd = 1 / _tcurr_rate(sim, "USD", "EUR", invoice_date)
        else:  # published as SGD -> USD (indirect)
            to_usd = _tcurr_rate(sim, "SGD", "USD", invoice_date)
        amount = Fraction(gross)
        assert (usd, cny) == (_cents(amount * to_usd), _cents(amount * to_usd * usd_cny)), invoice_id


def test_dbt_unit_tests_for_the_rates_pass(fx_settings: Settings, built) -> None:
    _, day = built
    selection = ["test", "--select", "int_fx_rates_daily", "stg_erp__exchange_rates"]
    result = run_dbt(selection, day, warehouse_url(fx_settings), fx_settings)
    statuses = {str(r["unique_id"]).rsplit(".", 1)[-1]: r["status"] for r in result.results}
    assert {name for name, status in statuses.items() if status == "pass"} >= {
        "tcurr_rows_decode_inverted_date_indirect_quotation_and_factors",
        "fx_rates_daily_direct_inverse_factor_and_cross_rates",
    }, statuses
    assert set(statuses.values()) == {"pass"}, statuses


def test_a_payment_without_a_rate_fails_the_build(fx_settings: Settings, built) -> None:
    """Last in the module (it leaves a failing build behind): a real bank sample in EUR booked in 2014,
    years before the first rate, must fail reporting_amount_converted rather than report a NULL USD amount."""
    _, day = built
    sample = shared_data() / "camt053" / "svapnil-iso20022js" / "ing__example_camt.xml"
    fx_settings.bank_inbox.mkdir(parents=True, exist_ok=True)
    shutil.copy(sample, fx_settings.bank_inbox / sample.name)
    assert pipeline.ingest_bank_inbox(fx_settings)["loaded"] == 1
    with pytest.raises(DbtError) as failure:
        run_dbt(
            ["build", "--select", "int_bank_payments", "fct_payments"],
            day,
            warehouse_url(fx_settings),
            fx_settings,
        )
    failed = str(failure.value)
    assert "reporting_amount_converted_fct_payments_amount_usd" in failed, failed
    assert "reporting_amount_converted_fct_payments_amount_cny" in failed, failed
