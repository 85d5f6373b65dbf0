"""Send each sales rep one digest of their abnormal orders per as-of date, exactly once.

For the as-of date D: read the open exceptions last seen on D (``marts.fct_order_exceptions``) and the reps
(``marts.dim_sales_reps``); an exception is *new* to a rep unless an alert of another date that was sent (or
written to the outbox only) already included it (``ops.alert_items`` joined to ``ops.alert_log``). Each
digest has the key ``<D>:<rep_id>``; under a transaction-scoped advisory lock on that key, a digest whose key
is already logged as ``sent``/``outbox_only`` is skipped, so a re-run (or two runs at once) sends nothing
twice. Otherwise the message is written to the outbox, sent over SMTP when a server is configured, and the
outcome and the exceptions it included are logged in the same transaction. A failed send is logged as
``failed`` and retried by the next run; the other reps are still served.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.message import EmailMessage
from typing import Any

import psycopg
from psycopg.rows import dict_row

from o2c.alerts.digest import (
    AlertedKey,
    Digest,
    OrderException,
    SalesRep,
    build_digests,
    subject,
    unroutable_rep_ids,
)
from o2c.alerts.outbox import alert_key, build_message, recipient_address, write_outbox
from o2c.alerts.smtp import AlertSendError, SmtpConfig, send_message
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
    "customer_id, customer_name, customer_name_zh, owner_rep_id, first_seen_date, last_seen_date, status, "
    "measure, measure_unit, detail_en, detail_zh"
)
REP_COLUMNS = "sales_rep_id, rep_name, rep_name_zh, email, preferred_language"


class AlertDispatchError(RuntimeError):
    """At least one digest could not be sent; ``summary`` is what :func:`send_alerts` would have returned."""

    def __init__(self, message: str, summary: dict[str, Any]) -> None:
        super().__init__(message)
        self.summary = summary


@dataclass(frozen=True)
class Outcome:
    """What happened to one digest in this run."""

    status: str
    """``sent``, ``outbox_only``, ``failed`` or ``skipped``."""
    recipient: str
    error: str | None = None


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


def read_already_alerted(conn: psycopg.Connection, as_of_date: date) -> set[AlertedKey]:
    """``(rep_id, rule_id, entity_key)`` included in an alert of another date that was sent or written.

    Alerts of ``as_of_date`` itself are left out, so a re-run rebuilds the same digests (and skips them).
    """
    rows = conn.execute(
        "select distinct item.rep_id, item.rule_id, item.entity_key "
        "from ops.alert_items as item "
        "inner join ops.alert_log as alert on alert.alert_key = item.alert_key "
        "where alert.status = any(%s) and alert.as_of_date <> %s",
        (list(DONE_STATUSES), as_of_date),
    ).fetchall()
    return {(str(rep), str(rule), str(entity)) for rep, rule, entity in rows}


def _read_inputs(
    conn: psycopg.Connection, as_of_date: date
) -> tuple[list[OrderException], list[SalesRep], set[AlertedKey]]:
    try:
        with conn.transaction():
            return read_exceptions(conn, as_of_date), read_reps(conn), read_already_alerted(conn, as_of_date)
    except psycopg.errors.UndefinedTable as exc:
        raise AlertDispatchError(
            f"cannot build the alerts for {as_of_date}: {exc.diag.message_primary or exc}; "
            "build the marts (dbt build) before sending alerts",
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
    key = alert_key(digest.as_of_date, digest.rep.sales_rep_id)
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
            outcome.recipient,
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
                    digest.rep.sales_rep_id,
                    item.exception.rule_id,
                    item.exception.entity_key,
                    item.exception.exception_id,
                    item.exception.severity,
                    item.is_new,
                )
                for item in digest.items
            ],
        )


def _deliver(message: EmailMessage, smtp: SmtpConfig | None) -> tuple[str, str | None, int]:
    """``(status, error, attempts)`` of sending ``message`` (outbox only when no SMTP server is set)."""
    if smtp is None:
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
    key = alert_key(digest.as_of_date, digest.rep.sales_rep_id)
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(%s, hashtext(%s))", (ADVISORY_LOCK_CLASS, key))
        row = conn.execute(
            "select status, attempts from ops.alert_log where alert_key = %s", (key,)
        ).fetchone()
        if row is not None and row[0] in DONE_STATUSES:
            log.info("alert %s is already %s: not sending it again", key, row[0])
            return Outcome("skipped", digest.rep.email)
        message = build_message(digest, sender=settings.smtp_sender, sent_at=datetime.now(UTC))
        path = write_outbox(message, settings.outbox_dir, digest.as_of_date, digest.rep.sales_rep_id)
        status, error, attempts = _deliver(message, smtp)
        outcome = Outcome(status, digest.rep.email, error)
        previous_attempts = int(row[1]) if row is not None else 0
        _log_alert(conn, digest, message, str(path), outcome, previous_attempts + attempts)
    log.info("alert %s to %s: %s (%s)", key, digest.rep.email, status, subject(digest))
    return outcome


# -- the run ----------------------------------------------------------------------------------------------
def _routable(digest: Digest) -> bool:
    try:
        recipient_address(digest.rep.rep_name, digest.rep.email)
    except ValueError as exc:
        log.warning("rep %s cannot be alerted: %s", digest.rep.sales_rep_id, exc)
        return False
    return True


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
    }


def _record(summary: dict[str, Any], outcome: Outcome) -> None:
    if outcome.status == "skipped":
        summary["skipped_already_sent"] += 1
        return
    summary[outcome.status] += 1
    if outcome.status == "failed":
        summary["errors"].append(outcome.error)
    else:
        summary["recipients"].append(outcome.recipient)


def _run(
    conn: psycopg.Connection, as_of_date: date, settings: Settings, smtp: SmtpConfig | None
) -> dict[str, Any]:
    exceptions, reps, already_alerted = _read_inputs(conn, as_of_date)
    summary = _new_summary(as_of_date)
    unroutable = set(unroutable_rep_ids(exceptions, reps, as_of_date))
    for digest in build_digests(exceptions, reps, already_alerted, as_of_date):
        if not _routable(digest):
            unroutable.add(digest.rep.sales_rep_id)
            continue
        summary["digests"] += 1
        _record(summary, dispatch_digest(conn, digest, settings, smtp))
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

    The summary holds ``digests`` (built for reps with a valid address), ``sent``, ``outbox_only``,
    ``failed``, ``skipped_already_sent``, ``recipients`` (addresses served in this run), ``errors`` (one per
    failed send) and ``unroutable`` (owners of open exceptions with no known rep or no valid address).
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
