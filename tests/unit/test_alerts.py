"""Pure tests of the alert digest: who gets what (reps, the finance team), what is new or escalated, the EN/ZH
rendering and the message file."""

from __future__ import annotations

import email
import random
import smtplib
import socket
import ssl
from datetime import UTC, date, datetime
from decimal import Decimal
from email import policy
from pathlib import Path
from typing import Any

import pytest

from o2c.alerts.digest import (
    FINANCE_RECIPIENT_ID,
    Digest,
    OrderException,
    Recipient,
    build_digests,
    format_measure,
    render,
    unroutable_rep_ids,
)
from o2c.alerts.dispatch import finance_recipient
from o2c.alerts.outbox import alert_key, build_message, outbox_path, recipient_address, write_outbox
from o2c.alerts.smtp import AlertSendError, SmtpConfig, is_transient, send_message
from o2c.config import load_settings

AS_OF = date(2026, 9, 27)

REPS = [
    {
        "sales_rep_id": "R1",
        "rep_name": "Li Wei",
        "rep_name_zh": "李伟",
        "email": "li.wei@example.com",
        "preferred_language": "ZH",
    },
    {
        "sales_rep_id": "R2",
        "rep_name": "Anna Schmidt",
        "rep_name_zh": "安娜",
        "email": "anna@example.com",
        "preferred_language": "EN",
    },
]

RULES = {
    "ar_overdue": ("Receivable overdue", "应收账款逾期"),
    "price_band": ("Price off the benchmark band", "价格偏离基准区间"),
    "eta_slipped": ("ETA slipped", "预计到港/到货时间延误"),
    "UNAPPLIED_CASH": ("Unapplied cash older than 5 days", "未核销款项超过 5 天"),
    "BANK_STMT_INTEGRITY": ("Bank statement integrity break", "银行对账单连续性中断"),
}

FINANCE_TEAM = Recipient.finance_team([("Finance", "finance@example.com"), ("", "ar@example.com")])


def exc(exception_id: str, rule_id: str = "ar_overdue", **overrides: Any) -> dict[str, Any]:
    """One ``fct_order_exceptions`` row, open, seen on AS_OF, owned by R1."""
    row: dict[str, Any] = {
        "exception_id": exception_id,
        "rule_id": rule_id,
        "rule_name_en": RULES[rule_id][0],
        "rule_name_zh": RULES[rule_id][1],
        "severity": "medium",
        "entity_key": f"entity-{exception_id}",
        "order_id": f"SO-{exception_id}",
        "invoice_id": None,
        "customer_id": "C001",
        "customer_name": "Acme Chemicals",
        "customer_name_zh": "阿克米化工",
        "owner_rep_id": "R1",
        "first_seen_date": date(2026, 9, 20),
        "last_seen_date": AS_OF,
        "status": "open",
        "measure": Decimal(10),
        "measure_unit": "days",
        "detail_en": f"Detail of {exception_id}",
        "detail_zh": f"{exception_id} 的说明",
    }
    row.update(overrides)
    return row


def finance_exc(exception_id: str, rule_id: str = "UNAPPLIED_CASH", **overrides: Any) -> dict[str, Any]:
    """A finance rule's exception: no order, invoice, customer or rep."""
    row = exc(
        exception_id,
        rule_id,
        rule_owner="finance",
        entity_key=f"payment-{exception_id}",
        order_id=None,
        invoice_id=None,
        customer_id=None,
        customer_name=None,
        customer_name_zh=None,
        owner_rep_id=None,
        detail_en=f"1000.00 USD not applied ({exception_id})",
        detail_zh=f"1000.00 USD 未核销（{exception_id}）",
    )
    row.update(overrides)
    return row


def only(digests: list[Digest], rep_id: str) -> Digest:
    matches = [d for d in digests if d.recipient.recipient_id == rep_id]
    assert len(matches) == 1, f"expected one digest for {rep_id}, got {len(matches)}"
    return matches[0]


# -- build_digests ----------------------------------------------------------------------------------------
def test_one_digest_per_rep_in_scope_only() -> None:
    rows = [
        exc("E1"),
        exc("E2", owner_rep_id="R2"),
        exc("E3", status="resolved"),
        exc("E4", last_seen_date=date(2026, 9, 26)),
        exc("E5", owner_rep_id="R9"),
    ]
    digests = build_digests(rows, REPS, set(), AS_OF)
    assert [d.recipient.recipient_id for d in digests] == ["R1", "R2"]
    assert [i.exception.exception_id for i in only(digests, "R1").items] == ["E1"]
    assert [i.exception.exception_id for i in only(digests, "R2").items] == ["E2"]
    assert unroutable_rep_ids(rows, REPS, AS_OF) == ["R9"]


def test_new_items_first_then_still_open() -> None:
    rows = [exc("E1"), exc("E2", severity="high"), exc("E3", "price_band", severity="low")]
    alerted = {("R1", "ar_overdue", "entity-E2")}
    digest = only(build_digests(rows, REPS, alerted, AS_OF), "R1")
    assert [(i.exception.exception_id, i.is_new) for i in digest.items] == [
        ("E1", True),
        ("E3", True),
        ("E2", False),
    ]
    assert (digest.new_count, digest.open_count) == (2, 3)


def test_no_digest_when_nothing_is_new() -> None:
    rows = [exc("E1"), exc("E2")]
    alerted = {("R1", "ar_overdue", "entity-E1"), ("R1", "ar_overdue", "entity-E2")}
    assert build_digests(rows, REPS, alerted, AS_OF) == []


def test_alerted_to_another_rep_is_new_to_the_owner() -> None:
    alerted = {("R2", "ar_overdue", "entity-E1")}
    digest = only(build_digests([exc("E1")], REPS, alerted, AS_OF), "R1")
    assert digest.items[0].is_new


def test_grouped_by_rule_most_severe_rule_first() -> None:
    rows = [
        exc("A", "price_band", severity="medium", measure=Decimal("5.5"), measure_unit="pct"),
        exc("B", "ar_overdue", severity="low", measure=Decimal(3)),
        exc("C", "eta_slipped", severity="high", measure=Decimal(2)),
        exc("D", "ar_overdue", severity="high", measure=Decimal(40)),
        exc("E", "ar_overdue", severity="high", measure=Decimal(90)),
    ]
    digest = only(build_digests(rows, REPS, set(), AS_OF), "R1")
    # ar_overdue and eta_slipped both have a high item: rule id breaks the tie; within a rule, the
    # most severe first, then the largest measure
    assert [i.exception.exception_id for i in digest.items] == ["E", "D", "B", "C", "A"]


def test_build_is_deterministic() -> None:
    rows = [
        exc(f"E{n}", rule, severity=sev, measure=Decimal(n))
        for n, (rule, sev) in enumerate(
            [("ar_overdue", "high"), ("price_band", "low"), ("eta_slipped", "medium")] * 4
        )
    ]
    alerted = {("R1", "ar_overdue", "entity-E0"), ("R1", "price_band", "entity-E4")}
    expected = [render(d) for d in build_digests(rows, REPS, alerted, AS_OF)]
    for seed in range(5):
        shuffled = rows[:]
        random.Random(seed).shuffle(shuffled)
        assert [render(d) for d in build_digests(shuffled, list(reversed(REPS)), alerted, AS_OF)] == expected


def test_accepts_records_and_mappings_alike() -> None:
    from_rows = build_digests([exc("E1")], REPS, set(), AS_OF)
    from_records = build_digests([OrderException.from_row(exc("E1"))], REPS, set(), AS_OF)
    assert from_rows == from_records


# -- finance routing --------------------------------------------------------------------------------------
def test_a_finance_rule_goes_to_the_finance_team_and_never_to_a_rep() -> None:
    rows = [
        exc("E1"),
        finance_exc("F1"),
        finance_exc("F2", "BANK_STMT_INTEGRITY", severity="high", entity_key="17"),
        finance_exc("F3", owner_rep_id="R1", customer_id="C001"),  # a rep on the row changes nothing
        finance_exc("F4", status="resolved"),
        finance_exc("F5", last_seen_date=date(2026, 9, 26)),
    ]
    digests = build_digests(rows, REPS, set(), AS_OF, finance=FINANCE_TEAM)
    assert [d.recipient.recipient_id for d in digests] == ["R1", FINANCE_RECIPIENT_ID]
    assert [i.exception.exception_id for i in only(digests, "R1").items] == ["E1"]
    finance = only(digests, FINANCE_RECIPIENT_ID)
    assert finance.recipient.emails == ("finance@example.com", "ar@example.com")
    assert finance.audience == "finance"
    assert [i.exception.exception_id for i in finance.items] == ["F2", "F1", "F3"]  # the high rule first
    assert unroutable_rep_ids(rows, REPS, AS_OF) == []  # no "(no owner)" for the finance rules


def test_the_finance_digest_is_built_without_addresses_for_the_outbox() -> None:
    [digest] = build_digests([finance_exc("F1")], REPS, set(), AS_OF)
    assert digest.recipient == Recipient.finance_team() and digest.recipient.emails == ()
    msg = build_message(
        digest, sender="o2c <alerts@o2c.example>", sent_at=datetime(2026, 9, 27, 1, tzinfo=UTC)
    )
    assert msg["To"] == "undisclosed-recipients:;"
    assert msg["X-O2C-Alert-Key"] == alert_key(AS_OF, FINANCE_RECIPIENT_ID) == "2026-09-27:team:finance"


def test_finance_alerts_once_and_per_recipient() -> None:
    rows = [finance_exc("F1"), finance_exc("F2")]
    alerted = {(FINANCE_RECIPIENT_ID, "UNAPPLIED_CASH", "payment-F1")}
    [digest] = build_digests(rows, REPS, alerted, AS_OF, finance=FINANCE_TEAM)
    assert [(i.exception.exception_id, i.is_new) for i in digest.items] == [("F2", True), ("F1", False)]
    alerted |= {(FINANCE_RECIPIENT_ID, "UNAPPLIED_CASH", "payment-F2")}
    assert build_digests(rows, REPS, alerted, AS_OF, finance=FINANCE_TEAM) == []
    # alerted to a rep under the same rule and key: still new to finance
    assert build_digests(rows, REPS, {("R1", "UNAPPLIED_CASH", "payment-F1")}, AS_OF)[0].new_count == 2


def test_a_rule_with_an_unknown_owner_is_reported_not_sent() -> None:
    rows = [exc("E1", rule_owner="logistics"), exc("E2", owner_rep_id=None)]
    assert build_digests(rows, REPS, set(), AS_OF) == []
    assert unroutable_rep_ids(rows, REPS, AS_OF) == ["(no owner)", "(rule owner logistics)"]


@pytest.mark.parametrize(
    ("setting", "emails", "problems"),
    [
        (None, (), []),
        ("", (), []),
        ("Finance <finance@example.com>, ar@example.com", ("finance@example.com", "ar@example.com"), []),
        ("finance@example.com, not-an-address", ("finance@example.com",), ["'not-an-address'"]),
        ("two words@example.com", (), ["'two words@example.com'"]),
    ],
)
def test_finance_addresses_come_from_the_setting(
    setting: str | None, emails: tuple[str, ...], problems: list[str]
) -> None:
    env = {} if setting is None else {"O2C_FINANCE_EMAIL": setting}
    recipient, found = finance_recipient(load_settings(env))
    assert recipient.recipient_id == FINANCE_RECIPIENT_ID and recipient.emails == emails
    assert len(found) == len(problems)
    for problem, needle in zip(found, problems, strict=True):
        assert problem.startswith("O2C_FINANCE_EMAIL: ") and needle in problem


# -- escalation -------------------------------------------------------------------------------------------
def test_an_escalated_exception_is_alerted_again() -> None:
    rows = [exc("E1", severity="high"), exc("E2", severity="medium")]
    alerted = {("R1", "ar_overdue", "entity-E1"): "medium", ("R1", "ar_overdue", "entity-E2"): "medium"}
    digest = only(build_digests(rows, REPS, alerted, AS_OF), "R1")
    assert [(i.exception.exception_id, i.is_new, i.escalated_from) for i in digest.items] == [
        ("E1", False, "medium"),
        ("E2", False, None),
    ]
    assert (digest.new_count, digest.escalated_count, digest.open_count) == (0, 1, 2)
    assert (
        render(digest)[0]
        == "[o2c] 1 条升级异常订单（共 2 条未关闭） / 1 escalated abnormal order (2 open) — 2026-09-27"
    )


def test_no_realert_at_the_same_or_a_lower_severity_or_without_severities() -> None:
    rows = [exc("E1", severity="high"), exc("E2", severity="low")]
    alerted_high = {("R1", "ar_overdue", "entity-E1"): "high", ("R1", "ar_overdue", "entity-E2"): "medium"}
    assert build_digests(rows, REPS, alerted_high, AS_OF) == []
    assert build_digests(rows, REPS, set(alerted_high), AS_OF) == []  # a set: escalation unknown


def test_new_and_escalated_items_are_told_apart() -> None:
    rows = [
        exc("E1", severity="high"),
        exc("E2"),
        finance_exc("F1", severity="high", measure=Decimal(12)),
        finance_exc("F2", measure=Decimal(6)),
    ]
    alerted = {
        ("R1", "ar_overdue", "entity-E1"): "medium",
        (FINANCE_RECIPIENT_ID, "UNAPPLIED_CASH", "payment-F1"): "medium",
    }
    digests = build_digests(rows, REPS, alerted, AS_OF, finance=FINANCE_TEAM)
    subject, text, body = render(only(digests, "R1"))
    assert subject == "[o2c] 1 条新增异常订单，1 条升级 / 1 new abnormal order, 1 escalated — 2026-09-27"
    assert "[ESCALATED] Sales order SO-E1" in text and "【升级】销售订单 SO-E1" in text
    assert "Severity: high (was medium)" in text and "严重程度：高（此前为中）" in text
    assert text.index("NEW: not alerted before") < text.index("ESCALATED: alerted before, more severe now")
    assert "升级：此前已提醒，现严重程度提高" in text and "[ESCALATED]</span>" in body
    assert "As of 2026-09-27 you have 1 new abnormal order, 1 escalated and 2 open in total." in text
    subject, text, _ = render(only(digests, FINANCE_RECIPIENT_ID))
    assert subject == "[o2c] 1 new finance exception, 1 escalated / 1 条新增财务异常，1 条升级 — 2026-09-27"
    assert "[ESCALATED] payment-F1" in text and "[NEW] payment-F2" in text


# -- render -----------------------------------------------------------------------------------------------
def test_subject_in_both_languages() -> None:
    digests = build_digests(
        [exc("E1"), exc("E2", owner_rep_id="R2"), exc("E3", owner_rep_id="R2")], REPS, set(), AS_OF
    )
    assert render(only(digests, "R2"))[0] == "[o2c] 2 new abnormal orders / 2 条新增异常订单 — 2026-09-27"
    assert render(only(digests, "R1"))[0] == "[o2c] 1 条新增异常订单 / 1 new abnormal order — 2026-09-27"


def test_subject_counts_open_when_some_were_alerted_before() -> None:
    digest = build_digests([exc("E1"), exc("E2")], REPS, {("R1", "ar_overdue", "entity-E2")}, AS_OF)[0]
    assert "1 new abnormal order (2 open)" in render(digest)[0]
    assert "1 条新增异常订单（共 2 条未关闭）" in render(digest)[0]


def test_body_has_both_languages_preferred_first() -> None:
    row = exc("E1", invoice_id="INV-9", measure=Decimal(45), owner_rep_id="R2")
    digests = build_digests([row, exc("E2", invoice_id="INV-8")], REPS, set(), AS_OF)
    _, text_en, html_en = render(only(digests, "R2"))
    _, text_zh, html_zh = render(only(digests, "R1"))
    for text in (text_en, text_zh):
        assert "Abnormal orders" in text and "异常订单" in text
        assert "[NEW]" in text and "【新增】" in text
        assert "Acme Chemicals" in text and "阿克米化工" in text
    assert text_en.index("Abnormal orders") < text_en.index("异常订单")
    assert text_zh.index("异常订单") < text_zh.index("Abnormal orders")
    assert html_en.index('lang="en"') < html_en.index('lang="zh-CN"')
    assert html_zh.index('lang="zh-CN"') < html_zh.index('lang="en"')
    for needle in ("Sales order SO-E1", "Invoice INV-9", "45 days", "45 天", "2026-09-20"):
        assert needle in text_en
    assert "销售订单 SO-E2" in text_zh and "发票 INV-8" in text_zh
    assert "Receivable overdue" in text_en and "应收账款逾期" in text_en
    assert "Detail of E1" in text_en and "E1 的说明" in text_en


def test_html_escapes_every_value() -> None:
    row = exc(
        "E1",
        customer_name='Smith & Sons <script>alert("x")</script>',
        detail_en="qty < 95% & price > band",
        detail_zh="数量 < 95% 且价格 > 区间",
        rule_name_en="Price <b>off</b>",
    )
    _, text, body = render(build_digests([row], REPS, set(), AS_OF)[0])
    assert "<script>" not in body and "<b>off</b>" not in body
    assert "Smith &amp; Sons &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in body
    assert "qty &lt; 95% &amp; price &gt; band" in body
    assert "数量 &lt; 95% 且价格 &gt; 区间" in body
    assert 'Smith & Sons <script>alert("x")</script>' in text  # plain text stays plain


@pytest.mark.parametrize(
    ("measure", "unit", "en", "zh"),
    [
        (Decimal(45), "days", "45 days", "45 天"),
        (Decimal(1), "days", "1 day", "1 天"),
        (Decimal("12.345"), "pct", "12.35%", "12.35%"),
        (Decimal("7.50"), "pct", "7.5%", "7.5%"),
        (Decimal(3), "MT", "3 MT", "3 MT"),
        (None, None, "", ""),
    ],
)
def test_measure_with_unit(measure: Decimal | None, unit: str | None, en: str, zh: str) -> None:
    record = OrderException.from_row(exc("E1", measure=measure, measure_unit=unit))
    assert (format_measure(record, "EN"), format_measure(record, "ZH")) == (en, zh)


def test_finance_digest_in_both_languages_english_first() -> None:
    rows = [
        finance_exc("F1", measure=Decimal(7)),
        finance_exc(
            "F2",
            "BANK_STMT_INTEGRITY",
            severity="high",
            entity_key="17",
            measure=Decimal(2),
            detail_en="account NL91ABNA0417164300 (EUR): statement 61 of 2026-09-21 opens at 1200.00",
            detail_zh="账户 NL91ABNA0417164300（EUR）：对账单 61（2026-09-21）的期初余额 1200.00",
        ),
    ]
    [digest] = build_digests(rows, REPS, set(), AS_OF, finance=FINANCE_TEAM)
    subject, text, body = render(digest)
    assert subject == "[o2c] 2 new finance exceptions / 2 条新增财务异常 — 2026-09-27"
    for part in (text, body):
        assert "Finance exceptions" in part and "财务异常" in part
        assert "You receive this digest as the finance team." in part and "您作为财务团队收到本摘要。" in part
        assert "Hello Finance team," in part and "财务团队，您好：" in part
        assert "Unapplied cash older than 5 days" in part and "未核销款项超过 5 天" in part
        assert "Bank statement integrity break" in part and "银行对账单连续性中断" in part
        assert "statement 61 of 2026-09-21 opens at 1200.00" in part
        assert "对账单 61（2026-09-21）的期初余额 1200.00" in part
        assert "7 days" in part and "7 天" in part
        assert "owner of these customers" not in part and "客户订单的负责人" not in part
        assert "abnormal order" not in part
    assert text.index("Finance exceptions") < text.index("财务异常")  # English first
    assert body.index('lang="en"') < body.index('lang="zh-CN"')
    assert text.index("[BANK_STMT_INTEGRITY]") < text.index("[UNAPPLIED_CASH]")  # the high rule first
    assert "[NEW] 17" in text and "【新增】payment-F1" in text  # no order or invoice: the entity key
    assert "Customer:" not in text and "客户：" not in text  # no customer line for a finance exception
    assert ">Reference</th>" in body and ">参考编号</th>" in body
    assert "Apply the cash in the ERP".lower() in text.lower() and "核销款项" in text


def test_finance_message_goes_to_every_finance_address(tmp_path: Path) -> None:
    [digest] = build_digests([finance_exc("F1")], REPS, set(), AS_OF, finance=FINANCE_TEAM)
    msg = build_message(
        digest, sender="o2c <alerts@o2c.example>", sent_at=datetime(2026, 9, 27, 1, tzinfo=UTC)
    )
    assert msg["To"] == "Finance <finance@example.com>, ar@example.com"
    assert [a.addr_spec for a in msg["To"].addresses] == ["finance@example.com", "ar@example.com"]
    assert msg["Message-ID"] == "<o2c-alert.2026-09-27.team_finance@o2c.example>"
    assert msg["Content-Language"] == "en, zh-CN"
    path = write_outbox(msg, tmp_path, AS_OF, digest.recipient.recipient_id)
    assert path == tmp_path / "2026-09-27" / "team_finance.eml"


# -- message and outbox -----------------------------------------------------------------------------------
def _message() -> email.message.EmailMessage:
    digest = build_digests([exc("E1")], REPS, set(), AS_OF)[0]
    return build_message(
        digest, sender="o2c <alerts@o2c.example>", sent_at=datetime(2026, 9, 27, 1, tzinfo=UTC)
    )


def test_message_is_multipart_alternative_utf8() -> None:
    msg = _message()
    assert msg.get_content_type() == "multipart/alternative"
    assert msg["To"] == "Li Wei <li.wei@example.com>"
    assert msg["Message-ID"] == "<o2c-alert.2026-09-27.R1@o2c.example>"
    assert msg["Content-Language"] == "zh-CN, en"
    assert msg["X-O2C-Alert-Key"] == "2026-09-27:R1"
    parts = {part.get_content_type(): part for part in msg.iter_parts()}
    assert set(parts) == {"text/plain", "text/html"}
    for part in parts.values():
        assert part.get_content_charset() == "utf-8"
        assert "阿克米化工" in part.get_content() and "Acme Chemicals" in part.get_content()


def test_outbox_file_is_written_atomically(tmp_path: Path) -> None:
    msg = _message()
    path = write_outbox(msg, tmp_path, AS_OF, "R1")
    assert path == tmp_path / "2026-09-27" / "R1.eml" == outbox_path(tmp_path, AS_OF, "R1")
    assert write_outbox(msg, tmp_path, AS_OF, "R1") == path  # overwriting is fine
    assert [p.name for p in path.parent.iterdir()] == ["R1.eml"]  # no temporary file left behind
    parsed = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    assert str(parsed["Subject"]) == str(msg["Subject"])
    assert "李伟" in parsed.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def test_outbox_file_name_is_safe(tmp_path: Path) -> None:
    assert outbox_path(tmp_path, AS_OF, "../etc/passwd").parent == tmp_path / "2026-09-27"


@pytest.mark.parametrize("address", ["", "no-at-sign", "a@@b", "two words@example.com"])
def test_invalid_recipient_address_is_refused(address: str) -> None:
    with pytest.raises(ValueError, match="not a valid e-mail address"):
        recipient_address("Someone", address)


# -- SMTP failure handling --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (ConnectionRefusedError(111, "Connection refused"), True),
        (TimeoutError("timed out"), True),
        (smtplib.SMTPServerDisconnected("gone"), True),
        (smtplib.SMTPConnectError(421, b"busy"), True),
        (smtplib.SMTPDataError(451, b"try later"), True),
        (smtplib.SMTPRecipientsRefused({"a@b.c": (450, b"mailbox busy")}), True),
        (smtplib.SMTPRecipientsRefused({"a@b.c": (550, b"no such user")}), False),
        (smtplib.SMTPDataError(554, b"rejected"), False),
        (smtplib.SMTPAuthenticationError(535, b"bad credentials"), False),
        (smtplib.SMTPNotSupportedError("no AUTH"), False),
        (ssl.SSLCertVerificationError("certificate verify failed"), False),
    ],
)
def test_transient_failures(error: Exception, transient: bool) -> None:
    assert is_transient(error) is transient


def test_closed_port_retries_then_names_server_and_recipient() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    delays: list[float] = []
    config = SmtpConfig(host="127.0.0.1", port=port, timeout=2, max_attempts=3, backoff_seconds=0.5)
    with pytest.raises(AlertSendError) as info:
        send_message(_message(), config, sleep=delays.append)
    assert info.value.attempts == 3
    assert delays == [0.5, 1.0]
    assert f"127.0.0.1:{port}" in str(info.value) and "li.wei@example.com" in str(info.value)
