"""Send each sales rep, and the finance team, one digest of their exceptions per as-of date, exactly once.

For the as-of date D: read the open exceptions last seen on D (``marts.fct_order_exceptions``) and the reps
(``marts.dim_sales_reps``). A ``sales_rep`` rule's exception goes to the rep owning the customer; a
``finance`` rule's to the finance team at ``O2C_FINANCE_EMAIL`` (never to a rep). Without that setting the
finance digest is still built and written to the outbox (status ``outbox_only``), and the run's summary says
so under ``warnings``. An exception is *new* to a recipient unless an alert of another date that was sent
(or written to the outbox only) already included it (``ops.alert_items`` joined to ``ops.alert_log``); it is
*escalated* when it is more severe now than in any of those alerts, and is alerted again. Each digest has
the key ``<D>:<recipient_id>`` (``<D>:team:finance`` for the finance team); under a transaction-scoped
advisory lock on that key, a digest whose key is already logged as ``sent``/``outbox_only`` is skipped, so
a re-run (or two runs at once) sends nothing twice. Otherwise the message is written to the outbox, sent
over SMTP when a server and an address are configured, and the outcome and the exceptions it included are
logged in the same transaction. A failed send is logged as ``failed`` and retried by the next run; the
other recipients are still served.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.message import EmailMessage
from email.utils import getaddresses
from typing import Any

import psycopg
from psycopg.rows import dict_row

from o2c.alerts.digest import (
    SEVERITY_RANK,
    AlertedKey,
    Digest,
    OrderException,
    Recipient,
    SalesRep,
    build_digests,
    subject,
    unroutable_rep_ids,
)
from o2c.alerts.outbox import alert_key, build_message, recipient_address, write_outbox
from o2c.alerts.smtp import AlertSendError, SmtpConfig, send_message
from o2c.checks.rules import FINANCE
from o2c.config import Settings, load_settings
from o2c.warehouse.db import connect, warehouse_url
from o2c.warehouse.locks import CHECK_RESULTS

log = logging.getLogger(__name__)

DONE_STATUSES = ("sent", "outbox_only")
"""Statuses of an alert that must never be sent again."""

CHANNEL = "email"
ADVISORY_LOCK_CLASS = CHECK_RESULTS
"""First key of ``pg_advisory_xact_lock(int, int)``; the second is ``hashtext(alert_key)``."""

EXCEPTION_COLUMNS = (
    "exception_id, rule_id, rule_name_en, rule_name_zh, severity, entity_key, order_id, invoice_id, "
    "customer_id, customer_name, customer_name_zh, owner_rep_id, rule_owner, first_seen_date, last_seen_date, "
    "status, measure, measure_unit, detail_en, detail_zh"
)
REP_COLUMNS = "sales_rep_id, rep_name, rep_name_zh, email, preferred_language"


class AlertDispatchError(RuntimeError):
    """At least one digest could not be sent; ``summary`` is what :func:`send_alerts` would have returned."""

    def __init__(self, message: str, summary: dict[str, Any]) -> None:
        super().__init__(message)
        self.summary = summary


NO_FINANCE_ADDRESS = "(none: O2C_FINANCE_EMAIL is not set)"
"""``ops.alert_log.recipient`` of a finance digest written to the outbox for want of an address."""


@dataclass(frozen=True)
class Outcome:
    """What happened to one digest in this run."""

    status: str
    """``sent``, ``outbox_only``, ``failed`` or ``skipped``."""
    addresses: tuple[str, ...]
    error: str | None = None
    outbox_file: str | None = None

    @property
    def recipient(self) -> str:
        """The addresses, comma-separated (empty when there are none)."""
        return ", ".join(self.addresses)


def finance_recipient(settings: Settings) -> tuple[Recipient, list[str]]:
    """The finance team at the valid addresses of ``O2C_FINANCE_EMAIL`` (comma-separated; display names
    allowed), and a problem per address that is not valid (it is left out, and the run reports it)."""
    addresses: list[tuple[str, str]] = []
    problems: list[str] = []
    raw = settings.finance_email or ""
    for name, address in getaddresses([raw]):
        if not address and not name:
            continue
        try:
            recipient_address(name, address)
        except ValueError as exc:
            problems.append(f"O2C_FINANCE_EMAIL: {exc}")
            continue
        addresses.append((name, address))
    if raw.strip() and not addresses and not problems:
        problems.append(f"O2C_FINANCE_EMAIL: {raw!r} holds no e-mail address")
    return Recipient.finance_team(addresses), problems


# -- reading ----------------------------------------------------------------------------------------------
def read_exceptions(conn: psycopg.Connection, as_of_date: date) -> list[OrderException]:
    """The open exceptions last seen on ``as_of_date``."""
    sql = (
        f"select {EXCEPTION_COLUMNS} from marts.fct_order_exceptions "  # noqa: S608 - constant column list
        "where status = 'open' and last_seen_date = %s order by exception_id"
    )
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(sql, (as_of_date,)).fetchall()
    return [OrderException.from_row(row) for row in rows]


def read_reps(conn: psycopg.Connection) -> list[SalesRep]:
    """All sales reps."""
    sql = f"select {REP_COLUMNS} from marts.dim_sales_reps order by sales_rep_id"  # noqa: S608 - constants
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(sql).fetchall()
    return [SalesRep.from_row(row) for row in rows]


def read_already_alerted(conn: psycopg.Connection, as_of_date: date) -> dict[AlertedKey, str]:
    """``(recipient_id, rule_id, entity_key)`` included in an alert of another date that was sent or
    written, mapped to the most severe severity it was included with (an escalation beyond it re-alerts).

    Alerts of ``as_of_date`` itself are left out, so a re-run rebuilds the same digests (and skips them).
    """
    rows = conn.execute(
        "select distinct item.rep_id, item.rule_id, item.entity_key, item.severity "
        "from ops.alert_items as item "
        "inner join ops.alert_log as alert on alert.alert_key = item.alert_key "
        "where alert.status = any(%s) and alert.as_of_date <> %s",
        (list(DONE_STATUSES), as_of_date),
    ).fetchall()
    alerted: dict[AlertedKey, str] = {}
    unknown = len(SEVERITY_RANK)
    for recipient, rule, entity, severity in rows:
        key = (str(recipient), str(rule), str(entity))
        known = alerted.get(key)
        if known is None or SEVERITY_RANK.get(str(severity), unknown) < SEVERITY_RANK.get(known, unknown):
            alerted[key] = str(severity)
    return alerted


def _read_inputs(
    conn: psycopg.Connection, as_of_date: date
) -> tuple[list[OrderException], list[SalesRep], dict[AlertedKey, str]]:
    try:
        with conn.transaction():
            return read_exceptions(conn, as_of_date), read_reps(conn), read_already_alerted(conn, as_of_date)
    except psycopg.errors.UndefinedTable as exc:
        raise AlertDispatchError(
            f"cannot build the alerts for {as_of_date}: {exc.diag.message_primary or exc}; "
            "build the marts (dbt build) before sending alerts",
            {},
        ) from exc
    except psycopg.errors.UndefinedColumn as exc:
        raise AlertDispatchError(
            f"cannot build the alerts for {as_of_date}: {exc.diag.message_primary or exc}; "
            "marts.fct_order_exceptions predates this version: run the checks (o2c run / run_checks) first",
            {},
        ) from exc


# -- writing ----------------------------------------------------------------------------------------------
def _log_alert(
    conn: psycopg.Connection,
    digest: Digest,
    message: EmailMessage,
    outbox_file: str,
    outcome: Outcome,
    attempts: int,
) -> None:
    key = alert_key(digest.as_of_date, digest.recipient.recipient_id)
    conn.execute(
        "insert into ops.alert_log (alert_key, as_of_date, recipient, channel, rule_ids, exception_count, "
        "subject, outbox_file, status, error, attempts, sent_at) "
        "values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, now()) "
        "on conflict (alert_key) do update set recipient = excluded.recipient, channel = excluded.channel, "
        "rule_ids = excluded.rule_ids, exception_count = excluded.exception_count, subject = excluded.subject, "
        "outbox_file = excluded.outbox_file, status = excluded.status, error = excluded.error, "
        "attempts = excluded.attempts, sent_at = excluded.sent_at",
        (
            key,
            digest.as_of_date,
            outcome.recipient or NO_FINANCE_ADDRESS,
            CHANNEL,
            digest.rule_ids,
            len(digest.items),
            str(message["Subject"]),
            outbox_file,
            outcome.status,
            outcome.error,
            attempts,
        ),
    )
    conn.execute("delete from ops.alert_items where alert_key = %s", (key,))
    with conn.cursor() as cur:
        cur.executemany(
            "insert into ops.alert_items (alert_key, rep_id, rule_id, entity_key, exception_id, severity, is_new) "
            "values (%s, %s, %s, %s, %s, %s, %s)",
            [
                (
                    key,
                    digest.recipient.recipient_id,
                    item.exception.rule_id,
                    item.exception.entity_key,
                    item.exception.exception_id,
                    item.exception.severity,
                    item.is_new,
                )
                for item in digest.items
            ],
        )


def _deliver(
    message: EmailMessage, smtp: SmtpConfig | None, addresses: tuple[str, ...]
) -> tuple[str, str | None, int]:
    """``(status, error, attempts)`` of sending ``message`` (outbox only when no SMTP server is set or the
    digest has no address)."""
    if smtp is None or not addresses:
        return "outbox_only", None, 1
    try:
        return "sent", None, send_message(message, smtp)
    except AlertSendError as exc:
        log.error("%s", exc)
        return "failed", str(exc), exc.attempts


def dispatch_digest(
    conn: psycopg.Connection, digest: Digest, settings: Settings, smtp: SmtpConfig | None
) -> Outcome:
    """Write, send and log one digest unless its key is already done; one transaction, locked on the key."""
    recipient = digest.recipient
    key = alert_key(digest.as_of_date, recipient.recipient_id)
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(%s, hashtext(%s))", (ADVISORY_LOCK_CLASS, key))
        row = conn.execute(
            "select status, attempts from ops.alert_log where alert_key = %s", (key,)
        ).fetchone()
        if row is not None and row[0] in DONE_STATUSES:
            log.info("alert %s is already %s: not sending it again", key, row[0])
            return Outcome("skipped", recipient.emails)
        message = build_message(digest, sender=settings.smtp_sender, sent_at=datetime.now(UTC))
        path = write_outbox(message, settings.outbox_dir, digest.as_of_date, recipient.recipient_id)
        status, error, attempts = _deliver(message, smtp, recipient.emails)
        outcome = Outcome(status, recipient.emails, error, str(path))
        previous_attempts = int(row[1]) if row is not None else 0
        _log_alert(conn, digest, message, str(path), outcome, previous_attempts + attempts)
    log.info("alert %s to %s: %s (%s)", key, outcome.recipient or NO_FINANCE_ADDRESS, status, subject(digest))
    return outcome


# -- the run ----------------------------------------------------------------------------------------------
def _routable(digest: Digest) -> bool:
    """Whether a rep's digest has a valid address (the finance team's addresses were checked already)."""
    if digest.audience == FINANCE:
        return True
    try:
        for name, address in digest.recipient.addresses:
            recipient_address(name, address)
    except ValueError as exc:
        log.warning("rep %s cannot be alerted: %s", digest.recipient.recipient_id, exc)
        return False
    return bool(digest.recipient.addresses)


def _new_summary(as_of_date: date) -> dict[str, Any]:
    return {
        "as_of_date": as_of_date.isoformat(),
        "digests": 0,
        "sent": 0,
        "outbox_only": 0,
        "failed": 0,
        "skipped_already_sent": 0,
        "recipients": [],
        "errors": [],
        "unroutable": [],
        "finance": None,
        "warnings": [],
    }


def _record(summary: dict[str, Any], outcome: Outcome) -> None:
    if outcome.status == "skipped":
        summary["skipped_already_sent"] += 1
        return
    summary[outcome.status] += 1
    if outcome.status == "failed":
        summary["errors"].append(outcome.error)
    else:
        summary["recipients"].extend(outcome.addresses)


def _record_finance(summary: dict[str, Any], digest: Digest, outcome: Outcome) -> None:
    """The finance digest's outcome in ``summary["finance"]``, and a warning when it has no address."""
    summary["finance"] = {
        "status": outcome.status,
        "exceptions": len(digest.items),
        "new": digest.new_count,
        "escalated": digest.escalated_count,
        "recipients": list(outcome.addresses),
        "outbox_file": outcome.outbox_file,
    }
    if outcome.status != "outbox_only" or outcome.addresses:
        return
    warning = (
        f"O2C_FINANCE_EMAIL is not set (or holds no valid address): the finance digest of {digest.as_of_date} "
        f"({len(digest.items)} exceptions, {digest.new_count} new, {digest.escalated_count} escalated) "
        f"is in the outbox only: {outcome.outbox_file}"
    )
    summary["warnings"].append(warning)
    log.warning("%s", warning)


def _run(
    conn: psycopg.Connection, as_of_date: date, settings: Settings, smtp: SmtpConfig | None
) -> dict[str, Any]:
    exceptions, reps, already_alerted = _read_inputs(conn, as_of_date)
    summary = _new_summary(as_of_date)
    finance, problems = finance_recipient(settings)
    for problem in problems:
        log.warning("%s", problem)
    summary["warnings"].extend(problems)
    unroutable = set(unroutable_rep_ids(exceptions, reps, as_of_date))
    for digest in build_digests(exceptions, reps, already_alerted, as_of_date, finance=finance):
        if not _routable(digest):
            unroutable.add(digest.recipient.recipient_id)
            continue
        summary["digests"] += 1
        outcome = dispatch_digest(conn, digest, settings, smtp)
        _record(summary, outcome)
        if digest.audience == FINANCE:
            _record_finance(summary, digest, outcome)
    summary["unroutable"] = sorted(unroutable)
    if unroutable:
        log.warning(
            "open exceptions of %s have no rep with a valid e-mail address", ", ".join(sorted(unroutable))
        )
    return summary


def send_alerts(
    as_of_date: date,
    settings: Settings | None = None,
    conn: psycopg.Connection | None = None,
    *,
    raise_on_failure: bool = True,
    smtp_timeout: float = 30.0,
    smtp_attempts: int = 3,
    smtp_backoff_seconds: float = 2.0,
) -> dict[str, Any]:
    """Send the abnormal-order digests of ``as_of_date``; return a summary of what happened.

    The summary holds ``digests`` (built for reps with a valid address, and the finance team's), ``sent``,
    ``outbox_only``, ``failed``, ``skipped_already_sent``, ``recipients`` (addresses served in this run),
    ``errors`` (one per failed send), ``unroutable`` (owners of open exceptions with no known rep or no
    valid address), ``finance`` (the finance digest's status, exception counts, recipients and outbox file;
    ``None`` when there was none to send) and ``warnings`` (e.g. the finance digest reached nobody because
    ``O2C_FINANCE_EMAIL`` is not set, or an address in it is invalid).
    ``conn`` should be an autocommit connection or one with no open transaction (each digest commits on its
    own); without it the warehouse of ``settings`` is used. With ``raise_on_failure``, an
    :class:`AlertDispatchError` carrying the summary is raised after every rep was processed if any send
    failed, so a scheduler retries the task; the failed keys are retried by that next run.
    """
    settings = settings or load_settings()
    smtp = (
        SmtpConfig.from_settings(
            settings, timeout=smtp_timeout, max_attempts=smtp_attempts, backoff_seconds=smtp_backoff_seconds
        )
        if settings.smtp_host
        else None
    )
    if conn is None:
        with connect(warehouse_url(settings), autocommit=True) as own_conn:
            summary = _run(own_conn, as_of_date, settings, smtp)
    else:
        summary = _run(conn, as_of_date, settings, smtp)
    log.info("alerts for %s: %s", as_of_date, {k: v for k, v in summary.items() if k != "errors"})
    if raise_on_failure and summary["failed"]:
        raise AlertDispatchError(
            f"{summary['failed']} of {summary['digests']} alert digests for {as_of_date} could not be sent "
            "(logged as 'failed' in ops.alert_log; the next run retries them): "
            + "; ".join(summary["errors"]),
            summary,
        )
    return summary
