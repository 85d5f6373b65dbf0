"""Write-audit-publish with the real dbt project, on a real PostgreSQL and a real SMTP server.

Night 1 is built and published. Night 2 is first built with the test-only publish gate closed (var
``o2c_fail_publish_gate``, read by ``dbt_project/tests/assert_publish_gate.sql``): its dbt test fails after
every mart was rebuilt in ``marts_next``, so ``marts`` must stay exactly as night 1 left it, and the data
team must get the failure by e-mail. Night 2 is then built again, passes and is published: the incremental
``fct_receivables_daily`` keeps its history, only the dates the model recomputes are rewritten, and a BI
view with its grant survives. Tests run in file order and share state."""

from __future__ import annotations

import email
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from email import policy
from types import SimpleNamespace
from typing import Any

import psycopg
import pytest
from aiosmtpd.controller import Controller

from o2c import pipeline
from o2c.alerts.data_team import alert_task_failure
from o2c.bi import roles
from o2c.bi.policies import region_tables
from o2c.config import Settings, load_settings
from o2c.simulate.driver import Simulation
from o2c.transform.build import DbtError
from o2c.transform.publish import build_and_publish
from o2c.warehouse.db import ensure_database, warehouse_url, with_database
from tests.conftest import SMALL_SCENARIO, free_port

pytestmark = pytest.mark.integration

DATA_TEAM = "data-team@o2c.test"
BI_ROLE = "o2c_test_wap_bi"
BI_REGION_ROLE = "o2c_test_wap_bi_region"
BI_REGION = "Greater China"
bi_urls: dict[str, str] = {}
"""The URL ``o2c bi grant`` gave each BI role of this module."""
INCREMENTAL = ("fct_ar_aging", "fct_credit_exposure", "fct_receivables_daily", "fct_receivables_month_end")
"""The incremental marts (blue/green pairs); every other mart is a table rebuilt by each build."""
MARTS = (
    "dim_customers",
    "dim_dates",
    "dim_plants",
    "dim_products",
    "dim_sales_reps",
    "fct_bank_statement_breaks",
    "fct_cash_applications",
    "fct_contracts",
    "fct_dso_monthly",
    "fct_invoices",
    "fct_order_fulfillment",
    "fct_orders",
    "fct_payments",
    "fct_shipments",
    "fct_unapplied_cash",
    *INCREMENTAL,
)


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append((list(envelope.rcpt_tos), message))  # type: ignore[arg-type]
        return "250 OK"


@dataclass
class Stack:
    settings: Settings
    url: str
    sim: Simulation
    inbox: Inbox
    nights: tuple[date, date]


@pytest.fixture(scope="module")
def stack(o2c_home: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """This module's own warehouse and ERP databases on the session's server, an SMTP server for the data
    team, and a simulated business (nights 1 and 2 are its last banking days)."""
    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    server = warehouse_url(o2c_home)
    env = {
        **os.environ,
        "O2C_HOME": str(tmp_path_factory.mktemp("wap-home")),
        "O2C_WAREHOUSE_URL": with_database(server, "o2c_wap"),
        "O2C_ERP_URL": with_database(server, "o2c_wap_erp"),
        "O2C_LOGISTICS_API_URL": f"http://127.0.0.1:{free_port()}",
        "O2C_SMTP_HOST": "127.0.0.1",
        "O2C_SMTP_PORT": str(smtp.port),
        "O2C_DATA_TEAM_EMAIL": DATA_TEAM,
    }
    for key in ("O2C_BANK_INBOX", "O2C_SIM_DIR", "O2C_ALERT_OUTBOX"):
        env.pop(key, None)
    for url in (env["O2C_WAREHOUSE_URL"], env["O2C_ERP_URL"]):
        ensure_database(url)
    settings = load_settings(env)
    pipeline.prepare(settings)
    sim = Simulation(settings)
    cfg = sim.init(**SMALL_SCENARIO)
    second = cfg.end - timedelta(days=1)
    while second.weekday() >= 5:
        second -= timedelta(days=1)
    sim.advance(second - timedelta(days=1))
    sim.start_api()
    try:
        yield Stack(settings, env["O2C_WAREHOUSE_URL"], sim, inbox, (second - timedelta(days=1), second))
    finally:
        sim.stop_api()
        smtp.stop()


def load(stack: Stack, night: date, *, advance: bool = True) -> None:
    if advance:
        stack.sim.advance(night)
    pipeline.extract_erp(*pipeline.interval_for(night), stack.settings)
    pipeline.extract_logistics(*pipeline.interval_for(night), stack.settings)
    pipeline.ingest_bank_inbox(stack.settings)


def checksums(url: str, schema: str = "marts") -> dict[str, tuple[int, str]]:
    """Row count and an order-independent checksum of every mart."""
    with psycopg.connect(url, autocommit=True) as conn:
        return {
            mart: conn.execute(
                f"select count(*), md5(coalesce(string_agg(md5(t::text), '' order by md5(t::text)), '')) "
                f"from {schema}.{mart} as t"
            ).fetchone()
            for mart in MARTS
        }


def test_a_good_build_is_published(stack: Stack) -> None:
    first, _ = stack.nights
    load(stack, first, advance=False)  # the simulation was advanced to it to start the API
    result = pipeline.build_marts(first, stack.settings)
    assert result["published"] is True and "fail" not in result and "error" not in result
    with psycopg.connect(stack.url, autocommit=True) as conn:
        kinds = dict(
            conn.execute(
                "select relname, relkind from pg_class where relnamespace = 'marts'::regnamespace "
                "and relkind in ('r', 'v', 'm')"
            ).fetchall()
        )
        published = conn.execute(
            "select kind, count(*), min(as_of_date) from ops.published_marts group by 1"
        ).fetchall()
        shadow = dict(
            conn.execute(
                "select relname, relkind from pg_class where relnamespace = 'marts_next'::regnamespace "
                "and relkind in ('r', 'v')"
            ).fetchall()
        )
    assert {m: "r" for m in MARTS}.items() <= kinds.items()
    assert sorted(published) == [
        ("incremental", len(INCREMENTAL), first),
        ("table", len(MARTS) - len(INCREMENTAL), first),
    ]
    assert all(shadow[m] == "r" and shadow[f"{m}__touched"] == "r" for m in INCREMENTAL)
    assert {shadow[m] for m in MARTS if m not in INCREMENTAL} == {"v"}, "stubs between builds"
    assert checksums(stack.url, "marts_next") == checksums(stack.url)


def test_every_column_of_the_published_marts_has_a_description(stack: Stack) -> None:
    """What BI users read is documented in the warehouse itself: persist_docs writes every model's and
    column's YAML description as a PostgreSQL comment, and the publish keeps them. A mart column without a
    description (a new column, a new mart) fails here, naming it."""
    with psycopg.connect(stack.url, autocommit=True) as conn:
        relations = conn.execute(
            "select class.relname, coalesce(trim(obj_description(class.oid, 'pg_class')), '') <> '' "
            "from pg_class as class where class.relnamespace = 'marts'::regnamespace "
            "and class.relkind in ('r', 'p', 'v', 'm') order by 1"
        ).fetchall()
        undocumented = conn.execute(
            "select class.relname || '.' || attribute.attname from pg_class as class "
            "inner join pg_attribute as attribute on attribute.attrelid = class.oid "
            "where class.relnamespace = 'marts'::regnamespace and class.relkind in ('r', 'p', 'v', 'm') "
            "and attribute.attnum > 0 and not attribute.attisdropped "
            "and coalesce(trim(col_description(class.oid, attribute.attnum)), '') = '' order by 1"
        ).fetchall()
    assert set(MARTS) <= {name for name, _ in relations}
    assert [name for name, described in relations if not described] == [], "marts without a description"
    assert [column for (column,) in undocumented] == [], "mart columns without a description in the dbt YAML"


def region_rows(url: str, owner_url: str) -> dict[str, tuple[int, int, list[str] | None]]:
    """Per mart with a region column: rows of BI_REGION (as the owner sees them), rows the role at ``url``
    sees, and the regions it sees."""
    with (
        psycopg.connect(owner_url, autocommit=True) as owner,
        psycopg.connect(url, autocommit=True) as reader,
    ):
        return {
            name: (
                owner.execute(
                    f"select count(*) from marts.{name} where region = %s", (BI_REGION,)
                ).fetchone()[0],
                *reader.execute(
                    f"select count(*), array_agg(distinct region::text order by region::text) from marts.{name}"
                ).fetchone(),
            )
            for _, name in region_tables(owner)
        }


def test_a_bi_role_with_a_region_reads_only_that_region_of_the_real_marts(stack: Stack) -> None:
    granted = roles.grant(stack.url, BI_REGION_ROLE, [BI_REGION])
    bi_urls[BI_REGION_ROLE] = granted.url
    seen = region_rows(granted.url, stack.url)
    assert "dim_customers" in seen and set(granted.region_filtered_marts) == {f"marts.{m}" for m in seen}
    assert {name: (rows, rows, [BI_REGION]) for name, (rows, _, _) in seen.items()} == seen
    assert seen["dim_customers"][0] > 0 and seen["fct_invoices"][0] > 0, seen


def test_a_failing_dbt_test_keeps_the_last_good_marts_and_alerts_the_data_team(stack: Stack) -> None:
    first, second = stack.nights
    before = checksums(stack.url)
    load(stack, second)
    with pytest.raises(DbtError) as failure:
        build_and_publish(second, stack.url, stack.settings, extra_vars={"o2c_fail_publish_gate": True})
    assert [f for f in failure.value.failures if "assert_publish_gate" in f], failure.value.failures
    assert checksums(stack.url) == before, "BI users see exactly the last good marts"
    with psycopg.connect(stack.url, autocommit=True) as conn:
        assert conn.execute("select distinct as_of_date from marts.fct_orders").fetchall() == [(first,)]
        touched = conn.execute("select count(*) from marts_next.fct_receivables_daily__touched").fetchone()[0]
    assert touched > 0, "the failed build ran incrementally in the shadow and its keys are recorded"

    # the Airflow task fails with this error; its on_failure_callback gets a context like this one
    start, end = pipeline.interval_for(second)
    ti = SimpleNamespace(
        dag_id="o2c_nightly",
        task_id="dbt_build",
        run_id="scheduled__wap-test",
        try_number=1,
        log_url="http://127.0.0.1:8080/dags/o2c_nightly/runs/scheduled__wap-test/tasks/dbt_build?try_number=1",
    )
    context = {
        "ti": ti,
        "run_id": ti.run_id,
        "data_interval_start": start,
        "data_interval_end": end,
        "exception": failure.value,
    }
    outcome = alert_task_failure(context, stack.settings)
    assert outcome is not None and outcome.status == "sent"
    assert len(stack.inbox.messages) == 1
    recipients, message = stack.inbox.messages[0]
    assert recipients == [DATA_TEAM]
    assert "o2c_nightly" in message["Subject"] and "dbt_build" in message["Subject"]
    body = message.get_body(("plain",)).get_content()
    for expected in (
        "DAG:         o2c_nightly",
        "Run:         scheduled__wap-test",
        "Task:        dbt_build (try 1)",
        f"As-of date:  {second}",
        "test.o2c.assert_publish_gate",
        f"the marts published for as-of {first}",
        "Airflow task log: http://127.0.0.1:8080/dags/o2c_nightly/runs/scheduled__wap-test",
        f"dbt log: {stack.settings.home / 'dbt' / 'logs' / 'dbt.log'}",
    ):
        assert expected in body, (expected, body)
    assert outcome.outbox_file is not None and outcome.outbox_file.exists()
    with psycopg.connect(stack.url, autocommit=True) as conn:
        logged = conn.execute(
            "select status, recipient, as_of_date, failing_nodes from ops.pipeline_failure_alerts"
        ).fetchall()
    assert [(s, r, d) for s, r, d, _ in logged] == [("sent", DATA_TEAM, second)]
    assert any("assert_publish_gate" in node for node in logged[0][3])
    assert alert_task_failure(context, stack.settings) is not None and len(stack.inbox.messages) == 1, (
        "the same failed try is alerted once"
    )


def test_the_next_good_build_publishes_and_the_incremental_mart_keeps_its_history(stack: Stack) -> None:
    _, second = stack.nights
    with psycopg.connect(stack.url, autocommit=True) as conn:
        conn.execute(
            f"do $$ begin create role {BI_ROLE} nologin; exception when duplicate_object then null; end $$"
        )
        conn.execute("create schema if not exists bi")
        conn.execute(
            "create view bi.open_by_customer as select invoices.customer_id, sum(receivables.open_amount_usd) as usd "
            "from marts.fct_receivables_daily as receivables inner join marts.fct_invoices as invoices "
            "on receivables.invoice_id = invoices.invoice_id "
            "where receivables.snapshot_date = (select max(snapshot_date) from marts.fct_receivables_daily) "
            "group by invoices.customer_id"
        )
        conn.execute(f"grant usage on schema marts, bi to {BI_ROLE}")
        conn.execute(f"grant select on marts.fct_invoices, bi.open_by_customer to {BI_ROLE}")
        receivables_oid = conn.execute("select 'marts.fct_receivables_daily'::regclass::oid").fetchone()[0]
        versions = dict(
            conn.execute(
                "select snapshot_date || ' ' || customer_item_id, xmin::text from marts.fct_receivables_daily"
            ).fetchall()
        )
        first_dates = conn.execute(
            "select min(snapshot_date), max(snapshot_date) from marts.fct_receivables_daily"
        ).fetchone()

    result = pipeline.build_marts(second, stack.settings)

    assert result["published"] is True
    with psycopg.connect(stack.url, autocommit=True) as conn:
        assert conn.execute("select distinct as_of_date from marts.fct_orders").fetchall() == [(second,)]
        assert (
            conn.execute("select 'marts.fct_receivables_daily'::regclass::oid").fetchone()[0]
            == receivables_oid
        )
        after = conn.execute(
            "select snapshot_date, snapshot_date || ' ' || customer_item_id, xmin::text "
            "from marts.fct_receivables_daily"
        ).fetchall()
        assert conn.execute(
            "select min(snapshot_date), max(snapshot_date) from marts.fct_receivables_daily"
        ).fetchone() == (
            first_dates[0],
            second,
        )
        bi = conn.execute(
            "select count(*), has_table_privilege(%(r)s, 'bi.open_by_customer', 'select'), "
            "has_table_privilege(%(r)s, 'marts.fct_invoices', 'select') from bi.open_by_customer",
            {"r": BI_ROLE},
        ).fetchone()
        comment = conn.execute(
            "select col_description('marts.fct_invoices'::regclass, attnum) from pg_attribute "
            "where attrelid = 'marts.fct_invoices'::regclass and attname = 'gross_amount_usd'"
        ).fetchone()[0]
        assert (
            conn.execute("select count(*) from marts_next.fct_receivables_daily__touched").fetchone()[0] == 0
        )
        assert conn.execute("select distinct as_of_date from ops.published_marts").fetchall() == [(second,)]

    rewritten = {day for day, key, xmin in after if versions.get(key) != xmin}
    kept = {day for day, key, xmin in after if versions.get(key) == xmin}
    # the model recomputes its last few snapshot dates (its lookback); every older row is left as it was
    assert rewritten and max(rewritten) == second and min(rewritten) >= second - timedelta(days=7), rewritten
    assert kept and max(kept) < min(rewritten), "no date older than the lookback was rewritten"
    assert min(kept) == first_dates[0], "the history from the first posting is kept, not rebuilt"
    assert bi[0] > 0 and bi[1] and bi[2], bi
    assert comment and "USD" in comment
    assert checksums(stack.url, "marts_next") == checksums(stack.url), "stubs and an in-step copy for night 3"


def test_the_region_filter_holds_after_the_next_publish(stack: Stack) -> None:
    """The second publish replaced the table marts and applied the incremental ones by key: the BI role
    granted after the first one still sees its region only (policies are re-applied in the publish)."""
    seen = region_rows(bi_urls[BI_REGION_ROLE], stack.url)
    assert {name: (rows, rows, [BI_REGION]) for name, (rows, _, _) in seen.items()} == seen
    with psycopg.connect(stack.url, autocommit=True) as conn:
        as_of = conn.execute("select max(as_of_date) from ops.published_marts").fetchone()[0]
    assert as_of == stack.nights[1]
    roles.revoke(stack.url, BI_REGION_ROLE)
