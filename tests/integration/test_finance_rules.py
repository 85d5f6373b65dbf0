"""The finance rules end to end on a real PostgreSQL, without a dbt build: the GX suites of
``expectations/abnormal_orders.py`` (their real SQL) over stand-in marts shaped like ``fct_unapplied_cash`` and
``fct_bank_statement_breaks`` (dbt_project/models/marts/finance/_finance__cash.yml), the exception lifecycle
(``marts.fct_order_exceptions`` with no customer or rep), and the finance team's digest over SMTP.

Day 1: receipts 4, 5, 6 and 11 days old and two statement breaks; the 6- and 11-day receipts (the latter
escalated to high) and both breaks are exceptions, alerted to finance once; a rep's overdue receivable goes
to the rep. Day 2: the receipts are a day older (the 5-day one now flagged), one break was fixed (resolved),
and only the new receipt makes finance's digest new.
"""

from __future__ import annotations

import email
from collections.abc import Iterator
from datetime import date, timedelta
from email import policy
from email.message import EmailMessage
from email.utils import getaddresses
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from o2c.alerts.dispatch import send_alerts
from o2c.checks.runner import run_checks
from o2c.config import Settings, load_settings
from o2c.mailsink import MailSink
from tests.conftest import embedded_warehouse

DAY1 = date(2026, 9, 27)
DAY2 = DAY1 + timedelta(days=1)

# the columns the suites read, with the dbt models' types (the finance marts: every column of their YAML)
MARTS_DDL = """
create table marts.fct_orders (
    order_line_id text, order_id text, customer_id text, current_owner_rep_id text, promised_date date,
    order_qty numeric, delivered_qty numeric, over_delivery_tolerance_pct numeric, unit_price numeric,
    currency_code text, benchmark_price numeric, days_past_promise integer, is_qty_within_tolerance boolean,
    delivered_qty_variance_pct numeric, price_deviation_exact_pct numeric, price_deviation_pct numeric
);
create table marts.fct_receivables_daily (
    snapshot_date date, customer_item_id text, invoice_id text, customer_id text, owner_rep_id text,
    open_amount numeric, currency_code text, net_due_date date, days_past_due integer
);
create table marts.fct_invoices (invoice_id text, order_id text);
create table marts.dim_customers (customer_id text, customer_name text, customer_name_zh text, valid_from date);
create table marts.dim_sales_reps (
    sales_rep_id text, rep_name text, rep_name_zh text, email text, preferred_language text
);
create table marts.fct_unapplied_cash (
    payment_id text, account_id text, booking_date date, age_days integer, payer_name text, payer_account text,
    amount numeric, currency_code text, unapplied_amount numeric, unapplied_amount_usd numeric,
    is_partly_applied boolean, remittance_info text, end_to_end_id text, bank_reference text,
    candidate_item_ids text[], candidate_invoice_ids text[], candidate_amounts numeric[]
);
create table marts.fct_bank_statement_breaks (
    issue_id text, kind text, account_id text, currency_code text, statement_id text, sequence_number text,
    statement_date date, previous_statement_id text, previous_date date, expected_opening numeric,
    stated_opening numeric, difference numeric, missing_sequences text, message text, file_name text,
    detected_date date, days_open integer
);
insert into marts.dim_sales_reps values ('R1', 'Li Wei', '李伟', 'li.wei@example.com', 'ZH');
insert into marts.dim_customers values ('C001', 'Acme Chemicals', '阿克米化工', date '2020-01-01');
insert into marts.fct_invoices values ('0090000001', 'SO-1');
insert into marts.fct_orders values ('SO-1-10', 'SO-1', 'C001', 'R1', date '2026-09-01', 100, 100, 5, 500, 'USD',
    500, 0, true, 0, 0, 0);
"""


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with embedded_warehouse(tmp_path_factory.mktemp("wh"), MARTS_DDL) as url:
        yield url


@pytest.fixture(scope="module")
def mail(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MailSink]:
    sink = MailSink(tmp_path_factory.mktemp("mailbox"))
    sink.start()
    try:
        yield sink
    finally:
        sink.stop()


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory, warehouse: str, mail: MailSink) -> Settings:
    home = tmp_path_factory.mktemp("home")
    return load_settings(
        {
            "O2C_HOME": str(home),
            "O2C_ALERT_OUTBOX": str(home / "outbox"),
            "O2C_WAREHOUSE_URL": warehouse,
            "O2C_SMTP_HOST": "127.0.0.1",
            "O2C_SMTP_PORT": str(mail.port),
            "O2C_SMTP_SENDER": "o2c-alerts@o2c.example",
            "O2C_FINANCE_EMAIL": "Finance <finance@example.com>",
        }
    )


def receipt(payment_id: str, age: int, as_of: date, **overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "payment_id": payment_id,
        "account_id": "DE89370400440532013000",
        "booking_date": as_of - timedelta(days=age),
        "age_days": age,
        "payer_name": None,
        "payer_account": None,
        "amount": "1000.00",
        "currency_code": "USD",
        "unapplied_amount": "1000.00",
        "unapplied_amount_usd": "1000.00",
        "is_partly_applied": False,
        "remittance_info": None,
        "end_to_end_id": "NOTPROVIDED",
        "bank_reference": None,
        "candidate_item_ids": None,
        "candidate_invoice_ids": None,
        "candidate_amounts": None,
    }
    return row | overrides


def statement_break(issue_id: str, kind: str, days_open: int, **overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "issue_id": issue_id,
        "kind": kind,
        "account_id": "NL91ABNA0417164300",
        "currency_code": "EUR",
        "statement_id": "61",
        "sequence_number": None,
        "statement_date": date(2026, 9, 21),
        "previous_statement_id": "60",
        "previous_date": date(2026, 9, 19),
        "expected_opening": "1000.00",
        "stated_opening": "1200.00",
        "difference": "200.00",
        "missing_sequences": None,
        "message": "account NL91ABNA0417164300 (EUR): ...",
        "file_name": "abn_20260921.sta",
        "detected_date": date(2026, 9, 22),
        "days_open": days_open,
    }
    return row | overrides


def load_day(
    conn: psycopg.Connection, as_of: date, receipts: list[dict[str, Any]], breaks: list[dict[str, Any]]
) -> None:
    """Replace the marts' rows with one as-of date's (what the nightly build would have published)."""
    conn.execute(
        "truncate marts.fct_unapplied_cash, marts.fct_bank_statement_breaks, marts.fct_receivables_daily"
    )
    for table, rows in (("fct_unapplied_cash", receipts), ("fct_bank_statement_breaks", breaks)):
        for row in rows:
            columns = ", ".join(row)
            conn.execute(
                f"insert into marts.{table} ({columns}) values ({', '.join(['%s'] * len(row))})",
                list(row.values()),
            )
    conn.execute(
        "insert into marts.fct_receivables_daily values (%s, 'CI-1', '0090000001', 'C001', 'R1', 500, 'USD', %s, %s)",
        (as_of, as_of - timedelta(days=3 + (as_of - DAY1).days), 3 + (as_of - DAY1).days),
    )


def exceptions(conn: psycopg.Connection) -> dict[str, dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute("select * from marts.fct_order_exceptions").fetchall()
    return {f"{row['rule_id']}:{row['entity_key']}": row for row in rows}


def received(mail: MailSink) -> dict[str, EmailMessage]:
    """The messages filed by the sink, by recipient (the latest per recipient)."""
    out: dict[str, EmailMessage] = {}
    for path in sorted(mail.folder.glob("*.eml")):
        msg = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        for _, address in getaddresses([str(msg["To"])]):
            out[address] = msg  # type: ignore[assignment]
    return out


def text_of(msg: EmailMessage) -> str:
    part = msg.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def test_finance_rules_flag_alert_once_and_resolve(
    warehouse: str, settings: Settings, mail: MailSink
) -> None:
    with psycopg.connect(warehouse, autocommit=True) as conn:
        load_day(
            conn,
            DAY1,
            [
                receipt("P4", 4, DAY1),
                receipt("P5", 5, DAY1),
                receipt("P6", 6, DAY1),
                receipt(
                    "P11",
                    11,
                    DAY1,
                    payer_name="ACME TRADING LTD",
                    payer_account="GB29NWBK60161331926819",
                    amount="101000.00",
                    is_partly_applied=True,
                    remittance_info="PAYMENT\n  INV 0090001234",
                    bank_reference="BR-77",
                    candidate_item_ids=["1000-2026-0090001240-001", "1000-2026-0100000009-002"],
                    candidate_invoice_ids=["0090001240", None],
                    candidate_amounts=["1000.00", "990.00"],
                ),
            ],
            [
                statement_break("1", "balance_break", 5),
                statement_break(
                    "2",
                    "sequence_gap",
                    1,
                    statement_id="7",
                    statement_date=date(2026, 9, 26),
                    previous_statement_id="4",
                    previous_date=date(2026, 9, 24),
                    expected_opening=None,
                    stated_opening=None,
                    difference=None,
                    missing_sequences="5-6",
                    detected_date=date(2026, 9, 26),
                ),
            ],
        )

        summary = run_checks(DAY1, "test-day1", warehouse, settings)

        assert summary["per_rule"]["UNAPPLIED_CASH"] == 2  # 6 and 11 days old; 4 and 5 are not "older than 5"
        assert summary["per_rule"]["BANK_STMT_INTEGRITY"] == 2
        assert summary["per_rule"]["AR_OVERDUE"] == 1
        found = exceptions(conn)
        cash6, cash11 = found["UNAPPLIED_CASH:P6"], found["UNAPPLIED_CASH:P11"]
        gap, balance = found["BANK_STMT_INTEGRITY:2"], found["BANK_STMT_INTEGRITY:1"]
        for row in (cash6, cash11, gap, balance):
            assert row["rule_owner"] == "finance" and row["status"] == "open"
            assert row["customer_id"] is None and row["owner_rep_id"] is None and row["order_id"] is None
            assert row["customer_name"] is None and row["invoice_id"] is None
            assert "?" not in row["detail_en"] and "?" not in row["detail_zh"]
        assert found["AR_OVERDUE:CI-1"]["rule_owner"] == "sales_rep"
        assert (cash6["severity"], cash11["severity"], gap["severity"]) == ("medium", "high", "high")
        assert (cash11["measure"], cash11["measure_unit"], balance["measure"]) == (11, "days", 5)
        assert cash11["rule_name_en"] == "Unapplied cash older than 5 days"
        assert cash11["detail_en"] == (
            "1000.00 USD not applied of a receipt of 101000.00 USD from ACME TRADING LTD "
            "(GB29NWBK60161331926819), booked 2026-09-16 on account DE89370400440532013000 (11 days ago); "
            "remittance: PAYMENT INV 0090001234; bank ref BR-77; closest open invoices: 0090001240 (1000.00), "
            "1000-2026-0100000009-002 (990.00)"
        )
        assert cash11["detail_zh"].startswith(
            "ACME TRADING LTD（GB29NWBK60161331926819） 于 2026-09-16 入账（账户 DE89370400440532013000）"
        )
        assert "金额最接近的未清发票：0090001240 (1000.00)" in cash11["detail_zh"]
        assert (
            "from an unknown payer," in cash6["detail_en"]
            and "closest open invoices: none" in cash6["detail_en"]
        )
        assert cash6["detail_zh"].startswith("未知付款人 于") and "附言：无" in cash6["detail_zh"]
        assert balance["detail_en"] == (
            "account NL91ABNA0417164300 (EUR): statement 61 of 2026-09-21 opens at 1200.00, but the previous "
            "statement 60 of 2026-09-19 closed at 1000.00 (difference 200.00); found 2026-09-22 when file "
            "abn_20260921.sta landed; days open: 5"
        )
        assert balance["detail_zh"].startswith(
            "账户 NL91ABNA0417164300（EUR）：对账单 61（2026-09-21）的期初余额 1200.00 与上一张对账单 60"
            "（2026-09-19）的期末余额 1000.00 不符（差额 200.00）"
        )
        assert (
            "statement numbers missing between statement 4 of 2026-09-24 and statement 7 of 2026-09-26 (5-6)"
            in (gap["detail_en"])
        )
        assert "对账单 4（2026-09-24）与对账单 7（2026-09-26）之间缺少对账单编号（5-6）" in gap["detail_zh"]

        alerts = send_alerts(DAY1, settings, conn, smtp_attempts=1)

        assert alerts["sent"] == 2 and alerts["warnings"] == [] and alerts["unroutable"] == []
        assert alerts["finance"]["exceptions"] == 4
        mails = received(mail)
        assert sorted(mails) == ["finance@example.com", "li.wei@example.com"]
        finance = text_of(mails["finance@example.com"])
        assert (
            mails["finance@example.com"]["Subject"]
            == "[o2c] 4 new finance exceptions / 4 条新增财务异常 — 2026-09-27"
        )
        assert "Unapplied cash older than 5 days" in finance and "银行对账单连续性中断" in finance
        assert "ACME TRADING LTD" in finance and "0090001234" not in text_of(mails["li.wei@example.com"])
        assert send_alerts(DAY1, settings, conn)["skipped_already_sent"] == 2  # a re-run sends nothing

        # day 2: a day older; the balance break was fixed (a later file closed it)
        load_day(
            conn,
            DAY2,
            [
                receipt("P4", 5, DAY2),
                receipt("P5", 6, DAY2),
                receipt("P6", 7, DAY2),
                receipt("P11", 12, DAY2),
            ],
            [statement_break("2", "sequence_gap", 2, missing_sequences="5-6")],
        )

        summary = run_checks(DAY2, "test-day2", warehouse, settings)

        assert summary["per_rule"]["UNAPPLIED_CASH"] == 3 and summary["per_rule"]["BANK_STMT_INTEGRITY"] == 1
        found = exceptions(conn)
        assert found["BANK_STMT_INTEGRITY:1"]["status"] == "resolved"
        assert found["UNAPPLIED_CASH:P5"]["first_seen_date"] == DAY2
        assert found["UNAPPLIED_CASH:P6"]["first_seen_date"] == DAY1
        before = len(mail.received)

        alerts = send_alerts(DAY2, settings, conn, smtp_attempts=1)

        # finance: one new receipt (4 open); the rep's receivable is not new: no digest for the rep
        assert alerts["digests"] == 1 and alerts["finance"]["new"] == 1
        [record] = mail.received[before:]
        assert record["to"] == ["finance@example.com"]
        assert record["subject"] == (
            "[o2c] 1 new finance exception (4 open) / 1 条新增财务异常（共 4 条未关闭） — 2026-09-28"
        )
