"""A row that breaks a staging type contract goes to a reject table with the reason; the run reports it.

Hand-made SAP rows (the simulator's layout; VBAP-KWMENG made a text column, as a text-based replication
delivers it) go through the pipeline's entry points: ``pipeline.extract_erp`` lands them, and
``pipeline.build_marts`` runs the whole ``dbt build`` (staging to marts, every test) and publishes. Bad
values must neither fail the build nor reach staging; they land in ``ops.type_contract_rejects`` with a
reason naming the table, the column and the value, and the step reports the new ones once (its result, the
log, the data team's outbox). The contract checks themselves are compared with Python's calendar and
PostgreSQL's casts over boundary values.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import subprocess
from datetime import date
from decimal import Decimal
from email import message_from_bytes, policy

import psycopg
import pytest
from psycopg import sql

from o2c import pipeline
from o2c.loading.land import ensure_table
from o2c.simulate.erp import ERP_SCHEMA
from o2c.sources.logistics.extract import SHIPMENTS
from o2c.transform.build import dbt_env, dbt_executable, dbt_vars, run_dbt
from o2c.warehouse.db import warehouse_url
from tests.integration.sap_source import before_cutoff, source_and_warehouse, vbap

pytestmark = pytest.mark.integration

NIGHT1 = date(2026, 3, 2)
NIGHT2 = date(2026, 3, 3)
GOOD_CUSTOMER = "0000100001"
BAD_CUSTOMER = "0000100002"  # KNA1-ERDAT '20261399': the customer is rejected, its order is not


def order(vbeln: str, customer: str = GOOD_CUSTOMER) -> dict[str, object]:
    return {
        "VBELN": vbeln,
        "VBTYP": "C",
        "AUART": "ZOR",
        "ERDAT": "20260301",
        "AUDAT": "20260301",
        "KUNNR": customer,
        "VKORG": "1000",
        "WAERK": "USD",
        "NETWR": Decimal("1000.00"),
        "GUEBG": "00000000",
        "GUEEN": "00000000",
        "BSTNK": f"PO-{vbeln}",
    }


def item(vbeln: str, kwmeng: str = "100", erdat: str = "20260301") -> dict[str, object]:
    """An order item whose KWMENG and ERDAT are given as text, as a text-based replication delivers them."""
    return {**vbap(vbeln, "10"), "KWMENG": kwmeng, "NETWR": Decimal("1000.00"), "LFSTA": "A", "ERDAT": erdat}


def customer(kunnr: str, erdat: str) -> dict[str, object]:
    return {
        "KUNNR": kunnr,
        "NAME1": f"Customer {kunnr}",
        "NAME2": "客户",
        "LAND1": "CN",
        "REGIO": "SH",
        "ORT01": "Shanghai",
        "ERDAT": erdat,
        "SPRAS": "E",
        "LOEVM": "",
    }


# VBAP rows of night 1: (VBELN, KWMENG, ERDAT) and whether they keep every contract
NIGHT1_ITEMS = {
    "10000001": ("100", "20260301", True),
    "10000002": ("abc", "20260301", False),  # not a number
    "10000003": ("100", "20261345", False),  # month 13
    "10000004": ("100", "20240229", True),  # 29 February of a leap year
    "10000005": ("100", "20230229", False),  # 29 February of a common year
    "10000006": ("-12.5", "20260301", True),  # a negative number as the extract writes it
    "10000007": ("12.5-", "20260301", False),  # SAP's display form: not what staging casts
}


@pytest.fixture
def source(o2c_home):
    """A fresh ERP source and warehouse pair (settings point at them) with night 1's rows."""
    erp, settings = source_and_warehouse(o2c_home, "contracts")
    settings = dataclasses.replace(settings, outbox_dir=o2c_home.home / "outbox-contracts")
    with psycopg.connect(settings.warehouse_url, autocommit=True) as conn:
        conn.execute("drop schema if exists raw_logistics cascade")
    pipeline.prepare(settings)
    with psycopg.connect(settings.warehouse_url) as conn:
        ensure_table(conn, SHIPMENTS)  # no shipments: the build still reads the (empty) landing table
    with psycopg.connect(erp.url) as conn:
        # a text-based replication delivers quantities as text, as SAP writes them
        conn.execute(
            sql.SQL('alter table {}."VBAP" alter column "KWMENG" type varchar(20)').format(
                sql.Identifier(ERP_SCHEMA)
            )
        )
    at = before_cutoff(NIGHT1, 300)
    # a type-M USD -> CNY rate, so that every order converts (GDATU 79739798 = 99999999 - 20260201)
    erp.put(
        "TCURR",
        {"KURST": "M", "FCURR": "USD", "TCURR": "CNY", "GDATU": "79739798", "UKURS": Decimal("7.2")},
        at,
    )
    erp.put("KNA1", customer(GOOD_CUSTOMER, "20260101"), at)
    erp.put("KNA1", customer(BAD_CUSTOMER, "20261399"), at)
    erp.put(
        "MARA",
        {"MATNR": "CHEM-0001", "MTART": "ROH", "MATKL": "CHEM", "MEINS": "TO", "ERSDA": "20250101"},
        at,
    )
    for vbeln, (kwmeng, erdat, _) in NIGHT1_ITEMS.items():
        erp.put("VBAK", order(vbeln), at)
        erp.put("VBAP", item(vbeln, kwmeng, erdat), at)
    erp.put("VBAK", order("10000010", BAD_CUSTOMER), at)
    erp.put("VBAP", item("10000010"), at)
    return erp, settings


def query(settings, statement: str) -> list[tuple[object, ...]]:
    with psycopg.connect(settings.warehouse_url, autocommit=True) as conn:
        return conn.execute(statement).fetchall()  # type: ignore[arg-type]


def order_items(settings) -> dict[str, Decimal]:
    return {
        str(key): qty
        for key, qty in query(
            settings, "select sales_item_id, order_qty from staging.stg_erp__sales_document_items"
        )
    }


def test_bad_values_are_rejected_with_the_reason_and_reported_once(source, caplog) -> None:
    erp, settings = source
    start, end = pipeline.interval_for(NIGHT1)
    pipeline.extract_erp(start, end, settings)

    with caplog.at_level(logging.WARNING, logger="o2c.transform.rejects"):
        night1 = pipeline.build_marts(NIGHT1, settings)

    # the build succeeded and published, bad values and all
    assert night1["published"] is True, night1
    assert night1.get("error", 0) == 0 and night1.get("fail", 0) == 0, night1
    report = night1["type_contract_rejects"]
    assert report["new"] == 5, report
    assert report["by_column"] == {"KNA1.ERDAT": 1, "VBAP.ERDAT": 2, "VBAP.KWMENG": 2}, report
    assert "5 ERP row version(s) broke a staging type contract" in caplog.text

    # staging lacks exactly the bad rows; the good ones are untouched
    good = {f"{v}-000010" for v, (_, _, ok) in NIGHT1_ITEMS.items() if ok} | {"10000010-000010"}
    items = order_items(settings)
    assert set(items) == good
    assert items["10000006-000010"] == Decimal("-12.5")
    assert items["10000001-000010"] == Decimal("100")
    created = dict(
        query(settings, "select sales_item_id, created_date from staging.stg_erp__sales_document_items")
    )
    assert created["10000004-000010"] == date(2024, 2, 29)
    assert {c for (c,) in query(settings, "select customer_id from staging.stg_erp__customers")} == {
        GOOD_CUSTOMER
    }

    # the reject table holds them, the reason naming table, column and value
    rejects = query(
        settings,
        "select source_table, source_key, column_name, offending_value, reason, batch_id, changed_at, reported_at "
        "from ops.type_contract_rejects order by source_table, source_key",
    )
    assert [r[:5] for r in rejects] == [
        (
            "KNA1",
            BAD_CUSTOMER,
            "ERDAT",
            "20261399",
            "KNA1.ERDAT = '20261399' is not a calendar date YYYYMMDD (nor 00000000 or blank)",
        ),
        ("VBAP", "10000002-000010", "KWMENG", "abc", "VBAP.KWMENG = 'abc' is not a number"),
        (
            "VBAP",
            "10000003-000010",
            "ERDAT",
            "20261345",
            "VBAP.ERDAT = '20261345' is not a calendar date YYYYMMDD (nor 00000000 or blank)",
        ),
        (
            "VBAP",
            "10000005-000010",
            "ERDAT",
            "20230229",
            "VBAP.ERDAT = '20230229' is not a calendar date YYYYMMDD (nor 00000000 or blank)",
        ),
        ("VBAP", "10000007-000010", "KWMENG", "12.5-", "VBAP.KWMENG = '12.5-' is not a number"),
    ]
    assert {r[5] for r in rejects} == {"erp:KNA1:20260302T180000Z", "erp:VBAP:20260302T180000Z"}
    assert all(r[6] == before_cutoff(NIGHT1, 300) and r[7] is not None for r in rejects), rejects

    # one bad customer row does not block the publish: its order is published without its customer
    orders = {
        str(k): c for k, c in query(settings, "select order_line_id, customer_id from marts.fct_orders")
    }
    assert set(orders) == good and orders["10000010-000010"] == BAD_CUSTOMER

    # the data team's outbox has the report
    mails = sorted(
        (settings.outbox_dir / "data-team" / NIGHT1.isoformat()).glob("type-contract-rejects__*.eml")
    )
    assert len(mails) == 1 and report["outbox_file"] == str(mails[0]) and report["email"] == "outbox_only"
    mail = message_from_bytes(mails[0].read_bytes(), policy=policy.default)
    assert mail["Subject"].strip() == "[o2c] 5 ERP rows rejected by type contracts, as of 2026-03-02"
    body = mail.get_content()  # type: ignore[attr-defined]
    assert "VBAP.KWMENG = 'abc' is not a number (key 10000002-000010" in body
    assert "KNA1.ERDAT = '20261399' is not a calendar date" in body

    # night 2: a good row turns bad (it keeps its last valid version), a bad one is corrected
    erp.put("VBAP", item("10000001", "x1"), before_cutoff(NIGHT2, 300))
    erp.put("VBAP", item("10000002", "50"), before_cutoff(NIGHT2, 300))
    start, end = pipeline.interval_for(NIGHT2)
    pipeline.extract_erp(start, end, settings)
    night2 = pipeline.build_marts(NIGHT2, settings)
    assert night2["published"] is True, night2
    assert night2["type_contract_rejects"]["new"] == 1
    assert night2["type_contract_rejects"]["by_column"] == {"VBAP.KWMENG": 1}
    items = order_items(settings)
    assert items["10000001-000010"] == Decimal("100"), "the rejected version is not in staging"
    assert items["10000002-000010"] == Decimal("50"), "the corrected version is"
    assert len(query(settings, "select 1 from ops.type_contract_rejects")) == 6

    # a re-run finds nothing new to report; night 1 rebuilt later shows what it showed
    run_dbt(["run", "--select", "type_contract_rejects"], NIGHT2, settings.warehouse_url, settings)
    from o2c.transform.rejects import report_rejects

    assert report_rejects(settings.warehouse_url, NIGHT2, settings).count == 0
    assert len(query(settings, "select 1 from ops.type_contract_rejects")) == 6
    run_dbt(["run", "--select", "stg_erp__sales_document_items"], NIGHT1, settings.warehouse_url, settings)
    assert set(order_items(settings)) == good
    assert order_items(settings)["10000001-000010"] == Decimal("100")


# -- the checks over boundary values --------------------------------------------------------------------
CONTRACTS = ("numeric", "integer", "sap_date", "sap_month", "sap_inverted_date")


def _real_date(text: str) -> date | None:
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        return None


def _cases() -> list[tuple[str, bool, str | None, bool]]:
    """(contract, blank_ok, value, keeps the contract)."""
    cases: list[tuple[str, bool, str | None, bool]] = []
    numbers = {
        "100.000": True, "-12.5": True, "+5": True, " 7 ": True, ".5": True, "5.": True, "0": True,
        "12.5-": False, "abc": False, "": False, " ": False, "NaN": False, "1e5": False, "1,5": False,
        "--1": False, "-": False, ".": False, "1 000": False, "Infinity": False,
    }  # fmt: skip
    cases += [("numeric", False, v, ok) for v, ok in numbers.items()]
    cases += [("numeric", True, v, ok or not v.strip()) for v, ok in numbers.items()]
    integers = {
        "30": True,
        " -1 ": True,
        "999999999": True,
        "1000000000": False,
        "3.0": False,
        "": False,
        "x": False,
    }
    cases += [("integer", False, v, ok) for v, ok in integers.items()]
    cases += [("integer", True, v, ok or not v.strip()) for v, ok in integers.items()]
    for year in ("0000", "0001", "1600", "1900", "2000", "2023", "2024", "2100", "9999"):
        for month in range(14):
            for day in range(33):
                text = f"{year}{month:02d}{day:02d}"
                cases.append(("sap_date", False, text, _real_date(text) is not None or text == "00000000"))
            cases.append(("sap_month", False, f"{year}{month:02d}", year != "0000" and 1 <= month <= 12))
    odd = {
        "": True,
        "   ": True,
        "2026030": False,
        "202603011": False,
        "2026-03-01": False,
        "abcdefgh": False,
    }
    cases += [("sap_date", False, v, ok) for v, ok in odd.items()]
    cases += [("sap_month", False, v, False) for v in ("", "2026", "2026011", "abcdef")]
    for text in ("20260601", "20260631", "20240229", "20230229", "00010101", "99991231"):
        cases.append(
            ("sap_inverted_date", False, f"{99999999 - int(text):08d}", _real_date(text) is not None)
        )
    cases += [
        ("sap_inverted_date", False, v, ok)
        for v, ok in {"99999999": True, "": True, "abc": False, "00000000": False}.items()
    ]
    cases += [(contract, False, None, True) for contract in CONTRACTS]
    return cases


def _compile(settings, inline: str) -> str:
    env = {**dbt_env(warehouse_url(settings), settings), "O2C_AS_OF_DATE": NIGHT1.isoformat()}
    proc = subprocess.run(
        [
            dbt_executable(),
            "--quiet",
            "compile",
            "--inline",
            inline,
            "--output",
            "json",
            "--vars",
            json.dumps(dbt_vars()),
        ],
        env=env,
        cwd=settings.dbt_project_dir,
        capture_output=True,
        text=True,
        check=True,
    )
    return str(json.loads(proc.stdout[proc.stdout.index("{") :])["compiled"])


def test_contract_checks_match_the_calendar_and_the_casts(o2c_home) -> None:
    """Each check says what the calendar (or number syntax) says, and every value it lets through converts
    as staging converts it (sap_date, casts, sap_month, sap_inverted_date) without an error."""
    checks = "\n".join(
        f"when '{c}' then case when blank_ok then {{{{ type_contract_check('{c}', 'value', blank_ok=true) }}}} "
        f"else {{{{ type_contract_check('{c}', 'value') }}}} end"
        for c in CONTRACTS
    )
    inline = f"""
select
    contract, blank_ok, value, keeps,
    case when keeps then
        case contract
            when 'numeric' then cast(cast(nullif(trim(value), '') as numeric) as text)
            when 'integer' then cast(cast(nullif(trim(value), '') as integer) as text)
            when 'sap_date' then cast({{{{ sap_date('value') }}}} as text)
            when 'sap_month' then cast(to_date(value || '01', 'YYYYMMDD') as text)
            when 'sap_inverted_date' then cast({{{{ sap_inverted_date('value') }}}} as text)
        end
    end as converted
from (
    select *, case contract {checks} end as keeps from contract_cases
) as checked
"""
    compiled = _compile(o2c_home, inline)
    cases = _cases()
    with psycopg.connect(warehouse_url(o2c_home), autocommit=True) as conn:
        conn.execute("create temp table contract_cases (contract text, blank_ok boolean, value text)")
        with conn.cursor().copy("copy contract_cases (contract, blank_ok, value) from stdin") as copy:
            for contract, blank_ok, value, _ in cases:
                copy.write_row((contract, blank_ok, value))
        got = {(c, b, v): (k, converted) for c, b, v, k, converted in conn.execute(compiled).fetchall()}  # type: ignore[arg-type]
    wrong = [(c, b, v, ok, got[(c, b, v)][0]) for c, b, v, ok in cases if got[(c, b, v)][0] is not ok]
    assert not wrong, wrong[:20]
    # the valid values convert to what they say
    for contract, blank_ok, value, ok in cases:
        converted = got[(contract, blank_ok, value)][1]
        if not ok or value is None or not value.strip():
            continue
        if contract == "sap_date" and value != "00000000":
            assert converted == _real_date(value).isoformat(), (value, converted)  # type: ignore[union-attr]
        if contract == "sap_inverted_date" and value != "99999999":
            assert converted == _real_date(f"{99999999 - int(value):08d}").isoformat(), (value, converted)  # type: ignore[union-attr]
        if contract == "numeric":
            assert Decimal(str(converted)) == Decimal(value.strip()), (value, converted)
    assert len(cases) > 1000
