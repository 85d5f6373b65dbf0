"""Alert digests end to end: a real PostgreSQL warehouse, a real SMTP server (aiosmtpd), real files.

Covers: one bilingual digest per rep, the outbox copy, a re-run that sends nothing twice, the next day's
digest marking only the new exception, a failed send logged and retried by a later run, a 4xx answer
retried within the run, and the outbox-only mode when no SMTP server is configured; the finance rules'
exceptions going to the finance team's addresses (``O2C_FINANCE_EMAIL``) and never to a rep, to the outbox
only (and reported) without that setting; and an escalated exception alerted again.
"""

from __future__ import annotations

import email
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import psycopg
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from o2c.alerts.dispatch import NO_FINANCE_ADDRESS, AlertDispatchError, send_alerts
from o2c.config import Settings, load_settings
from tests.conftest import embedded_warehouse, free_port

DAY1 = date(2026, 9, 27)
DAY2 = DAY1 + timedelta(days=1)
SENDER = "o2c-alerts@o2c.example"

MARTS_DDL = """
create table if not exists marts.fct_order_exceptions (
    exception_id text primary key,
    rule_id text not null,
    rule_name_en text not null,
    rule_name_zh text not null,
    severity text not null,
    entity_key text not null,
    order_id text,
    invoice_id text,
    customer_id text,
    customer_name text,
    customer_name_zh text,
    owner_rep_id text,
    rule_owner text,
    first_seen_date date not null,
    last_seen_date date not null,
    status text not null,
    measure numeric,
    measure_unit text,
    detail_en text not null,
    detail_zh text not null
);
create table if not exists marts.dim_sales_reps (
    sales_rep_id text primary key,
    rep_name text not null,
    rep_name_zh text not null,
    email text not null,
    preferred_language text not null
);
"""

REPS = [
    ("R1", "Li Wei", "李伟", "li.wei@example.com", "ZH"),
    ("R2", "Anna Schmidt", "安娜", "anna@example.com", "EN"),
    ("R3", "Idle Rep", "空闲", "idle@example.com", "EN"),
]


def _raw(envelope: Envelope) -> bytes:
    content = envelope.original_content or envelope.content or b""
    return content.encode() if isinstance(content, str) else content


# -- the SMTP server --------------------------------------------------------------------------------------
@dataclass
class Collector:
    """An aiosmtpd handler keeping every accepted message; can answer 451 to the next few DATA commands."""

    envelopes: list[Envelope] = field(default_factory=list)
    reject_next: int = 0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.reject_next:
            self.reject_next -= 1
            return "451 4.3.0 Temporary failure, try again later"
        self.envelopes.append(envelope)
        return "250 2.0.0 OK"

    def messages(self) -> list[EmailMessage]:
        return [email.message_from_bytes(_raw(e), policy=policy.default) for e in self.envelopes]

    def by_recipient(self) -> dict[str, list[EmailMessage]]:
        result: dict[str, list[EmailMessage]] = {}
        for env, msg in zip(self.envelopes, self.messages(), strict=True):
            for rcpt in env.rcpt_tos:
                result.setdefault(rcpt, []).append(msg)
        return result


@pytest.fixture(scope="module")
def smtp_server() -> Iterator[tuple[Collector, int]]:
    handler = Collector()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, server_hostname="localhost")
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


# -- the warehouse ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with embedded_warehouse(tmp_path_factory.mktemp("wh"), MARTS_DDL) as url:
        yield url


@pytest.fixture
def conn(warehouse: str, smtp_server: tuple[Collector, int]) -> Iterator[psycopg.Connection]:
    """A clean slate: no exceptions, the three reps, no alert history, no collected mail."""
    smtp_server[0].envelopes.clear()
    smtp_server[0].reject_next = 0
    with psycopg.connect(warehouse, autocommit=True) as connection:
        connection.execute("truncate marts.fct_order_exceptions, marts.dim_sales_reps, ops.alert_log cascade")
        with connection.cursor() as cur:
            cur.executemany("insert into marts.dim_sales_reps values (%s, %s, %s, %s, %s)", REPS)
        yield connection


FINANCE_EMAIL = "Finance <finance@example.com>, ar@example.com"


def make_settings(
    tmp_path: Path, warehouse: str, smtp_port: int | None, finance: str | None = None
) -> Settings:
    env = {
        "O2C_HOME": str(tmp_path / "home"),
        "O2C_ALERT_OUTBOX": str(tmp_path / "outbox"),
        "O2C_WAREHOUSE_URL": warehouse,
        "O2C_SMTP_SENDER": SENDER,
    }
    if smtp_port is not None:
        env |= {"O2C_SMTP_HOST": "127.0.0.1", "O2C_SMTP_PORT": str(smtp_port)}
    if finance is not None:
        env["O2C_FINANCE_EMAIL"] = finance
    return load_settings(env)


def send(settings: Settings, as_of: date, **kwargs: Any) -> dict[str, Any]:
    return send_alerts(as_of, settings, smtp_timeout=5, smtp_attempts=2, smtp_backoff_seconds=0.01, **kwargs)


def add_exception(conn: psycopg.Connection, exception_id: str, owner: str, **overrides: Any) -> None:
    row: dict[str, Any] = {
        "exception_id": exception_id,
        "rule_id": "ar_overdue",
        "rule_name_en": "Receivable overdue",
        "rule_name_zh": "应收账款逾期",
        "severity": "high",
        "entity_key": f"inv-{exception_id}",
        "order_id": f"SO-{exception_id}",
        "invoice_id": f"INV-{exception_id}",
        "customer_id": "C001",
        "customer_name": "Acme Chemicals",
        "customer_name_zh": "阿克米化工",
        "owner_rep_id": owner,
        "rule_owner": "sales_rep",
        "first_seen_date": DAY1 - timedelta(days=3),
        "last_seen_date": DAY1,
        "status": "open",
        "measure": 45,
        "measure_unit": "days",
        "detail_en": f"Invoice INV-{exception_id} is 45 days past due",
        "detail_zh": f"发票 INV-{exception_id} 已逾期 45 天",
    }
    row.update(overrides)
    columns = ", ".join(row)
    placeholders = ", ".join(["%s"] * len(row))
    conn.execute(
        f"insert into marts.fct_order_exceptions ({columns}) values ({placeholders})",
        list(row.values()),
    )


def add_finance_exception(conn: psycopg.Connection, exception_id: str, **overrides: Any) -> None:
    """An open UNAPPLIED_CASH exception (finance's): no order, invoice, customer or rep."""
    row: dict[str, Any] = {
        "rule_id": "UNAPPLIED_CASH",
        "rule_name_en": "Unapplied cash older than 5 days",
        "rule_name_zh": "未核销款项超过 5 天",
        "severity": "medium",
        "entity_key": f"pay-{exception_id}",
        "order_id": None,
        "invoice_id": None,
        "customer_id": None,
        "customer_name": None,
        "customer_name_zh": None,
        "rule_owner": "finance",
        "measure": 6,
        "detail_en": f"1000.00 USD not applied of a receipt of 1000.00 USD ({exception_id})",
        "detail_zh": f"回款 1000.00 USD 未核销（{exception_id}）",
    }
    row.update(overrides)
    add_exception(conn, exception_id, row.pop("owner_rep_id", None), **row)


def seed_day1(conn: psycopg.Connection) -> None:
    """R1: two open exceptions (one ETA, one overdue); R2: one; plus rows that must not be alerted."""
    add_exception(conn, "E1", "R1")
    add_exception(
        conn,
        "E2",
        "R1",
        rule_id="eta_slipped",
        rule_name_en="ETA slipped",
        rule_name_zh="预计到港/到货时间延误",
        severity="medium",
        invoice_id=None,
        entity_key="SO-E2",
        measure=6,
        detail_en="ETA moved 6 days later",
        detail_zh="预计到港时间推迟 6 天",
    )
    add_exception(conn, "E3", "R2", customer_name="Smith & <Sons>", customer_name_zh="史密斯父子")
    add_exception(conn, "X1", "R3", status="resolved")
    add_exception(conn, "X2", "R3", last_seen_date=DAY1 - timedelta(days=1))


def body(msg: EmailMessage, kind: str = "plain") -> str:
    part = msg.get_body((kind,))
    assert part is not None
    return str(part.get_content())


def alert_log(conn: psycopg.Connection) -> dict[str, tuple[Any, ...]]:
    rows = conn.execute("select alert_key, status, attempts, error, recipient from ops.alert_log").fetchall()
    return {row[0]: row[1:] for row in rows}


# -- tests ------------------------------------------------------------------------------------------------
def test_one_bilingual_digest_per_rep_and_a_rerun_sends_nothing(
    conn: psycopg.Connection, smtp_server: tuple[Collector, int], warehouse: str, tmp_path: Path
) -> None:
    handler, port = smtp_server
    seed_day1(conn)
    settings = make_settings(tmp_path, warehouse, port)

    summary = send(settings, DAY1)

    assert summary["digests"] == 2 and summary["sent"] == 2 and summary["failed"] == 0
    assert summary["recipients"] == ["li.wei@example.com", "anna@example.com"]
    received = handler.by_recipient()
    assert sorted(received) == ["anna@example.com", "li.wei@example.com"]
    assert all(len(messages) == 1 for messages in received.values())
    li, anna = received["li.wei@example.com"][0], received["anna@example.com"][0]
    assert li["To"] == "Li Wei <li.wei@example.com>" and anna["To"] == "Anna Schmidt <anna@example.com>"
    assert li["From"] == SENDER
    assert li["Subject"] == "[o2c] 2 条新增异常订单 / 2 new abnormal orders — 2026-09-27"
    assert anna["Subject"] == "[o2c] 1 new abnormal order / 1 条新增异常订单 — 2026-09-27"
    for msg in (li, anna):
        for kind in ("plain", "html"):
            text = body(msg, kind)
            assert "Abnormal orders" in text and "异常订单" in text
            assert "Receivable overdue" in text and "应收账款逾期" in text
    assert "SO-E1" in body(li) and "SO-E2" in body(li) and "SO-E3" not in body(li)
    assert "Smith &amp; &lt;Sons&gt;" in body(anna, "html")
    assert body(li).index("异常订单") < body(li).index("Abnormal orders")  # preferred language first

    outbox = tmp_path / "outbox" / "2026-09-27"
    assert sorted(p.name for p in outbox.iterdir()) == ["R1.eml", "R2.eml"]
    on_disk = email.message_from_bytes((outbox / "R1.eml").read_bytes(), policy=policy.default)
    assert on_disk["Subject"] == li["Subject"] and on_disk["Message-ID"] == li["Message-ID"]
    log = alert_log(conn)
    assert {key: row[0] for key, row in log.items()} == {"2026-09-27:R1": "sent", "2026-09-27:R2": "sent"}
    items = conn.execute(
        "select alert_key, rule_id, entity_key, is_new from ops.alert_items order by 1, 2"
    ).fetchall()
    assert items == [
        ("2026-09-27:R1", "ar_overdue", "inv-E1", True),
        ("2026-09-27:R1", "eta_slipped", "SO-E2", True),
        ("2026-09-27:R2", "ar_overdue", "inv-E3", True),
    ]

    again = send(settings, DAY1)

    assert again["skipped_already_sent"] == 2
    assert again["sent"] == again["failed"] == again["outbox_only"] == 0
    assert len(handler.envelopes) == 2


def test_next_day_digest_marks_only_the_new_exception(
    conn: psycopg.Connection, smtp_server: tuple[Collector, int], warehouse: str, tmp_path: Path
) -> None:
    handler, port = smtp_server
    seed_day1(conn)
    settings = make_settings(tmp_path, warehouse, port)
    send(settings, DAY1)
    handler.envelopes.clear()
    conn.execute(
        "update marts.fct_order_exceptions set last_seen_date = %s where last_seen_date = %s and status = 'open'",
        (DAY2, DAY1),
    )
    add_exception(conn, "E4", "R1", first_seen_date=DAY2, last_seen_date=DAY2, severity="low", measure=3)

    summary = send(settings, DAY2)

    assert (
        summary["digests"] == 1 and summary["sent"] == 1 and summary["recipients"] == ["li.wei@example.com"]
    )
    [msg] = handler.messages()
    assert msg["To"] == "Li Wei <li.wei@example.com>"
    assert (
        msg["Subject"]
        == "[o2c] 1 条新增异常订单（共 3 条未关闭） / 1 new abnormal order (3 open) — 2026-09-28"
    )
    text = body(msg)
    assert text.count("[NEW]") == 1 and text.count("【新增】") == 1
    assert text.index("[NEW] Sales order SO-E4") < text.index("Sales order SO-E1")
    assert text.index("【新增】销售订单 SO-E4") < text.index("销售订单 SO-E1")
    new_flags = conn.execute(
        "select exception_id, is_new from ops.alert_items where alert_key = '2026-09-28:R1' order by 1"
    ).fetchall()
    assert new_flags == [("E1", False), ("E2", False), ("E4", True)]


def test_failed_send_is_logged_and_retried_by_a_later_run(
    conn: psycopg.Connection, smtp_server: tuple[Collector, int], warehouse: str, tmp_path: Path
) -> None:
    handler, port = smtp_server
    seed_day1(conn)
    down = make_settings(tmp_path, warehouse, free_port())  # nothing listens there

    summary = send(down, DAY1, raise_on_failure=False)

    assert summary["failed"] == 2 and summary["sent"] == 0 and summary["recipients"] == []
    log = alert_log(conn)
    assert {row[0] for row in log.values()} == {"failed"}
    _, attempts, error, recipient = log["2026-09-27:R1"]
    assert attempts == 2 and recipient == "li.wei@example.com"
    assert "li.wei@example.com" in error and f"127.0.0.1:{down.smtp_port}" in error
    assert (tmp_path / "outbox" / "2026-09-27" / "R1.eml").exists()  # written before the send

    with pytest.raises(
        AlertDispatchError, match="2 of 2 alert digests for 2026-09-27 could not be sent"
    ) as info:
        send(down, DAY1)
    assert info.value.summary["failed"] == 2

    summary = send(make_settings(tmp_path, warehouse, port), DAY1)

    assert summary["sent"] == 2 and summary["failed"] == 0 and summary["skipped_already_sent"] == 0
    assert sorted(handler.by_recipient()) == ["anna@example.com", "li.wei@example.com"]
    log = alert_log(conn)
    assert {key: (row[0], row[1], row[2]) for key, row in log.items()} == {
        "2026-09-27:R1": ("sent", 5, None),
        "2026-09-27:R2": ("sent", 5, None),
    }


def test_a_4xx_answer_is_retried_within_the_run(
    conn: psycopg.Connection, smtp_server: tuple[Collector, int], warehouse: str, tmp_path: Path
) -> None:
    handler, port = smtp_server
    add_exception(conn, "E1", "R2")
    handler.reject_next = 1

    summary = send(make_settings(tmp_path, warehouse, port), DAY1)

    assert summary["sent"] == 1 and len(handler.envelopes) == 1
    assert alert_log(conn)["2026-09-27:R2"][:2] == ("sent", 2)


def test_outbox_only_without_smtp_server(
    conn: psycopg.Connection, smtp_server: tuple[Collector, int], warehouse: str, tmp_path: Path
) -> None:
    handler, _ = smtp_server
    seed_day1(conn)
    settings = make_settings(tmp_path, warehouse, None)

    with psycopg.connect(warehouse, autocommit=True) as own:
        summary = send(settings, DAY1, conn=own)
        assert send(settings, DAY1, conn=own)["skipped_already_sent"] == 2

    assert summary["outbox_only"] == 2 and summary["sent"] == 0 and handler.envelopes == []
    assert {row[0] for row in alert_log(conn).values()} == {"outbox_only"}
    assert sorted(p.name for p in (tmp_path / "outbox" / "2026-09-27").iterdir()) == ["R1.eml", "R2.eml"]


def test_two_runs_at_once_send_each_digest_once(
    conn: psycopg.Connection, smtp_server: tuple[Collector, int], warehouse: str, tmp_path: Path
) -> None:
    handler, port = smtp_server
    seed_day1(conn)
    settings = make_settings(tmp_path, warehouse, port)

    with ThreadPoolExecutor(max_workers=2) as pool:
        summaries = list(pool.map(lambda _: send(settings, DAY1), range(2)))

    assert sum(s["sent"] for s in summaries) == 2
    assert sum(s["skipped_already_sent"] for s in summaries) == 2
    assert sorted(handler.by_recipient()) == ["anna@example.com", "li.wei@example.com"]
    assert len(handler.envelopes) == 2


# -- finance ----------------------------------------------------------------------------------------------
def seed_finance(conn: psycopg.Connection) -> None:
    """R1: one receivable; finance: two unapplied receipts (one on a row naming R2) and a statement break."""
    add_exception(conn, "E1", "R1")
    add_finance_exception(conn, "F1")
    add_finance_exception(conn, "F2", owner_rep_id="R2", customer_id="C001")  # a finance rule: not R2's
    add_finance_exception(
        conn,
        "F3",
        rule_id="BANK_STMT_INTEGRITY",
        rule_name_en="Bank statement integrity break",
        rule_name_zh="银行对账单连续性中断",
        severity="high",
        entity_key="17",
        measure=2,
        detail_en="account NL91ABNA0417164300 (EUR): statement 61 of 2026-09-21 opens at 1200.00",
        detail_zh="账户 NL91ABNA0417164300（EUR）：对账单 61（2026-09-21）的期初余额 1200.00",
    )


def test_finance_rules_go_to_the_finance_addresses_never_to_a_rep(
    conn: psycopg.Connection, smtp_server: tuple[Collector, int], warehouse: str, tmp_path: Path
) -> None:
    handler, port = smtp_server
    seed_finance(conn)
    settings = make_settings(tmp_path, warehouse, port, finance=FINANCE_EMAIL)

    summary = send(settings, DAY1)

    assert summary["digests"] == 2 and summary["sent"] == 2 and summary["warnings"] == []
    assert summary["recipients"] == ["li.wei@example.com", "finance@example.com", "ar@example.com"]
    assert summary["finance"] == {
        "status": "sent",
        "exceptions": 3,
        "new": 3,
        "escalated": 0,
        "recipients": ["finance@example.com", "ar@example.com"],
        "outbox_file": str(tmp_path / "outbox" / "2026-09-27" / "team_finance.eml"),
    }
    received = handler.by_recipient()
    assert sorted(received) == ["ar@example.com", "finance@example.com", "li.wei@example.com"]  # not anna
    assert len(handler.envelopes) == 2  # one message to both finance addresses
    [finance] = received["finance@example.com"]
    assert finance["To"] == FINANCE_EMAIL
    assert finance["Subject"] == "[o2c] 3 new finance exceptions / 3 条新增财务异常 — 2026-09-27"
    for kind in ("plain", "html"):
        text = body(finance, kind)
        assert "You receive this digest as the finance team." in text and "您作为财务团队收到本摘要。" in text
        assert "(F1)" in text and "(F2)" in text and "statement 61 of 2026-09-21" in text
        assert "Unapplied cash older than 5 days" in text and "银行对账单连续性中断" in text
    assert body(finance).index("Finance exceptions") < body(finance).index("财务异常")
    li = received["li.wei@example.com"][0]
    assert "SO-E1" in body(li) and "(F1)" not in body(li) and "finance" not in body(li).lower()

    log = alert_log(conn)
    assert {key: (row[0], row[3]) for key, row in log.items()} == {
        "2026-09-27:R1": ("sent", "li.wei@example.com"),
        "2026-09-27:team:finance": ("sent", "finance@example.com, ar@example.com"),
    }
    items = conn.execute(
        "select rep_id, rule_id, entity_key from ops.alert_items where alert_key = '2026-09-27:team:finance' "
        "order by 2, 3"
    ).fetchall()
    assert items == [
        ("team:finance", "BANK_STMT_INTEGRITY", "17"),
        ("team:finance", "UNAPPLIED_CASH", "pay-F1"),
        ("team:finance", "UNAPPLIED_CASH", "pay-F2"),
    ]
    assert sorted(p.name for p in (tmp_path / "outbox" / "2026-09-27").iterdir()) == [
        "R1.eml",
        "team_finance.eml",
    ]

    again = send(settings, DAY1)

    assert again["skipped_already_sent"] == 2 and again["sent"] == 0 and len(handler.envelopes) == 2


@pytest.mark.parametrize("finance_setting", [None, "not-an-address"])
def test_without_a_finance_address_the_digest_is_in_the_outbox_only_and_the_run_says_so(
    conn: psycopg.Connection,
    smtp_server: tuple[Collector, int],
    warehouse: str,
    tmp_path: Path,
    finance_setting: str | None,
) -> None:
    handler, port = smtp_server
    seed_finance(conn)
    settings = make_settings(tmp_path, warehouse, port, finance=finance_setting)

    summary = send(settings, DAY1)

    # the rep's digest is sent; the finance digest is written, logged, reported, and sent to nobody
    assert summary["sent"] == 1 and summary["outbox_only"] == 1 and summary["failed"] == 0
    assert summary["recipients"] == ["li.wei@example.com"]
    assert [env.rcpt_tos for env in handler.envelopes] == [["li.wei@example.com"]]
    path = tmp_path / "outbox" / "2026-09-27" / "team_finance.eml"
    assert summary["finance"]["status"] == "outbox_only" and summary["finance"]["recipients"] == []
    assert summary["finance"]["outbox_file"] == str(path)
    warning = summary["warnings"][-1]
    assert warning.startswith("O2C_FINANCE_EMAIL is not set") and str(path) in warning
    assert "(3 exceptions, 3 new, 0 escalated)" in warning
    if finance_setting:
        assert len(summary["warnings"]) == 2 and "'not-an-address'" in summary["warnings"][0]
    on_disk = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    assert on_disk["To"] == "undisclosed-recipients:;"
    assert "You receive this digest as the finance team." in body(on_disk)
    assert alert_log(conn)["2026-09-27:team:finance"][0] == "outbox_only"
    assert alert_log(conn)["2026-09-27:team:finance"][3] == NO_FINANCE_ADDRESS

    again = send(settings, DAY1)

    assert again["skipped_already_sent"] == 2 and len(handler.envelopes) == 1


def test_an_escalated_exception_is_alerted_again_once(
    conn: psycopg.Connection, smtp_server: tuple[Collector, int], warehouse: str, tmp_path: Path
) -> None:
    """Unapplied cash past its escalation age turns high: finance is told again, once; the rep's receivable,
    unchanged, is not."""
    handler, port = smtp_server
    add_exception(conn, "E1", "R1")
    add_finance_exception(conn, "F1")
    settings = make_settings(tmp_path, warehouse, port, finance=FINANCE_EMAIL)
    send(settings, DAY1)
    handler.envelopes.clear()
    conn.execute("update marts.fct_order_exceptions set last_seen_date = %s", (DAY2,))
    conn.execute(
        "update marts.fct_order_exceptions set severity = 'high', measure = 11 where exception_id = 'F1'"
    )

    summary = send(settings, DAY2)

    assert summary["digests"] == 1 and summary["finance"]["escalated"] == 1 and summary["finance"]["new"] == 0
    [msg] = handler.messages()
    assert msg["Subject"] == "[o2c] 1 escalated finance exception / 1 条升级财务异常 — 2026-09-28"
    assert "[ESCALATED] pay-F1" in body(msg) and "Severity: high (was medium)" in body(msg)
    assert conn.execute(
        "select is_new, severity from ops.alert_items where alert_key = '2026-09-28:team:finance'"
    ).fetchall() == [(False, "high")]
    handler.envelopes.clear()
    conn.execute("update marts.fct_order_exceptions set last_seen_date = %s", (DAY2 + timedelta(days=1),))

    summary = send(settings, DAY2 + timedelta(days=1))

    assert summary["digests"] == 0 and handler.envelopes == []
