"""Tell the data team when a pipeline task fails (one e-mail per failed task try, and never raise), and
which ERP rows a build rejected for breaking a staging type contract (:func:`notify_rejects`).

``o2c_nightly`` calls :func:`alert_task_failure` as the ``on_failure_callback`` of every task (Airflow runs it
once a task has failed for good, after its retries). The message names the DAG, the run, the task and its
try, the as-of date, the error, the failing dbt nodes when dbt failed, what BI users see meanwhile (the
marts last published) and where the logs are. Like the reps' digests, it is first written to the outbox
(``<outbox>/data-team/<as-of>/<dag>__<task>__<run>__try<n>.eml``), then sent over SMTP to
``O2C_DATA_TEAM_EMAIL`` when a server and an address are configured. Each alert is logged in
``ops.pipeline_failure_alerts`` under the key ``<dag>:<run>:<task>:<try>``; an alert already sent under its
key is not sent again.

A failure to alert must not hide the failure being alerted: each step (warehouse lookups, outbox, SMTP,
log) is attempted on its own, problems are logged, and nothing is raised to Airflow.

Rejected rows (``o2c.transform.rejects``) are not a failure: the build succeeds without them. The rows a
build found are listed in one message per report, written to ``<outbox>/data-team/<as-of>/
type-contract-rejects__<time>.eml`` (in the transaction that marks them reported) and then sent like the
failure alerts; a failed send is logged and not retried (the outbox copy and ops.type_contract_rejects
remain).
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, make_msgid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg

from o2c.alerts.outbox import safe_file_stem, write_atomically
from o2c.alerts.smtp import AlertSendError, SmtpConfig, send_message
from o2c.business_calendar import as_of_for
from o2c.config import Settings, load_settings

if TYPE_CHECKING:
    from o2c.transform.rejects import RejectGroup

log = logging.getLogger(__name__)

MAX_ERROR_CHARS = 4000
"""Longer error texts are cut in the message and the log (dbt's output can be long)."""


@dataclass(frozen=True)
class TaskFailure:
    """One failed task try, as the data team needs to know it."""

    dag_id: str
    run_id: str
    task_id: str
    try_number: int
    as_of_date: date | None
    error_type: str
    error: str
    failing_nodes: tuple[str, ...] = ()
    log_locations: tuple[str, ...] = ()
    interval: tuple[datetime, datetime] | None = None
    published: str | None = None
    """What BI users see meanwhile (the marts last published), when the warehouse could tell."""

    @property
    def key(self) -> str:
        return f"{self.dag_id}:{self.run_id}:{self.task_id}:{self.try_number}"

    @property
    def subject(self) -> str:
        as_of = f", as of {self.as_of_date}" if self.as_of_date else ""
        return f"[o2c] {self.dag_id} failed: {self.task_id}{as_of} (run {self.run_id})"


@dataclass
class AlertOutcome:
    status: str  # 'sent' | 'outbox_only' | 'failed'
    recipients: list[str] = field(default_factory=list)
    outbox_file: Path | None = None
    error: str | None = None
    attempts: int = 0


def alert_task_failure(context: Mapping[str, Any], settings: Settings | None = None) -> AlertOutcome | None:
    """Airflow ``on_failure_callback``: alert the data team about the failed task in ``context``.

    Never raises; returns what was done, or None when not even the message could be built.
    """
    try:
        s = settings or load_settings()
        failure = failure_from_context(context)
        url = _warehouse_url(s)
        failure, reachable = _with_published_marts(failure, url)
        return notify_data_team(failure, s, url=url if reachable else None)
    except Exception:
        log.exception("could not alert the data team about a failed task")
        return None


def failure_from_context(context: Mapping[str, Any]) -> TaskFailure:
    """The failure described by an Airflow task context (``ti``, ``run_id``, ``data_interval_*``, ``exception``)."""
    ti = context.get("ti") or context.get("task_instance")
    dag_id = str(getattr(ti, "dag_id", None) or getattr(context.get("dag"), "dag_id", "?"))
    task_id = str(getattr(ti, "task_id", None) or getattr(context.get("task"), "task_id", "?"))
    run_id = str(context.get("run_id") or getattr(ti, "run_id", "?"))
    try_number = int(getattr(ti, "try_number", 0) or 0)
    start, end = context.get("data_interval_start"), context.get("data_interval_end")
    as_of = as_of_for(end) if isinstance(end, datetime) else None
    interval = (start, end) if isinstance(start, datetime) and isinstance(end, datetime) else None
    exception = context.get("exception")
    error_type = type(exception).__name__ if isinstance(exception, BaseException) else "error"
    error = str(exception) if exception is not None else "the task failed (no exception was passed)"
    nodes = tuple(str(n) for n in getattr(exception, "failures", ()) or ())
    logs: list[str] = []
    log_url = getattr(ti, "log_url", None)
    if log_url:
        logs.append(f"Airflow task log: {log_url}")
    dbt_log = getattr(exception, "log_path", None)
    if dbt_log:
        logs.append(f"dbt log: {dbt_log}")
        logs.append(f"dbt results: {Path(dbt_log).parent.parent / 'target' / 'run_results.json'}")
    return TaskFailure(
        dag_id=dag_id,
        run_id=run_id,
        task_id=task_id,
        try_number=try_number,
        as_of_date=as_of,
        error_type=error_type,
        error=_cut(error),
        failing_nodes=nodes,
        log_locations=tuple(logs),
        interval=interval,
    )


def build_failure_message(
    failure: TaskFailure, *, sender: str, recipients: list[str], sent_at: datetime
) -> EmailMessage:
    """A plain-text message to the data team (``recipients`` may be empty: an outbox-only copy)."""
    lines = [
        "An o2c pipeline task failed.",
        "",
        f"DAG:         {failure.dag_id}",
        f"Run:         {failure.run_id}",
        f"Task:        {failure.task_id} (try {failure.try_number})",
        f"As-of date:  {failure.as_of_date or 'unknown'}",
    ]
    if failure.interval:
        lines.append(f"Interval:    {failure.interval[0].isoformat()} to {failure.interval[1].isoformat()}")
    lines += ["", f"Error ({failure.error_type}):", *("    " + line for line in failure.error.splitlines())]
    if failure.failing_nodes:
        lines += ["", "Failing dbt nodes:", *(f"  - {node}" for node in failure.failing_nodes)]
    if failure.published:
        lines += ["", f"What BI users see meanwhile: {failure.published}"]
    lines += ["", "Logs:", *(f"  {location}" for location in failure.log_locations or ("(none recorded)",))]
    lines += ["", f"Alert key: {failure.key}"]
    msg = EmailMessage(policy=policy.SMTP)
    msg["Subject"] = failure.subject
    msg["From"] = sender
    msg["To"] = ", ".join(recipients) if recipients else "undisclosed-recipients:;"
    msg["Date"] = format_datetime(sent_at)
    msg["Message-ID"] = make_msgid("o2c-pipeline-failure")
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-O2C-Alert-Key"] = failure.key
    msg.set_content("\n".join(lines) + "\n", charset="utf-8")
    return msg


def outbox_file(outbox_dir: Path, failure: TaskFailure) -> Path:
    day = failure.as_of_date.isoformat() if failure.as_of_date else "unknown-date"
    stem = safe_file_stem(f"{failure.dag_id}__{failure.task_id}__{failure.run_id}__try{failure.try_number}")
    return Path(outbox_dir) / "data-team" / day / f"{stem}.eml"


def notify_data_team(failure: TaskFailure, settings: Settings, *, url: str | None = None) -> AlertOutcome:
    """Write the alert to the outbox, send it when SMTP and recipients are configured, log it. Never raises
    on a send failure (the outcome says ``failed``)."""
    recipients = [address for _, address in getaddresses([settings.data_team_email or ""]) if address]
    if url and _already_sent(url, failure.key):
        log.info("the data team was already alerted about %s", failure.key)
        return AlertOutcome("sent", recipients)
    message = build_failure_message(
        failure, sender=settings.smtp_sender, recipients=recipients, sent_at=datetime.now(UTC)
    )
    outcome = AlertOutcome("outbox_only", recipients)
    try:
        path = outbox_file(settings.outbox_dir, failure)
        write_atomically(path, message.as_bytes(policy=policy.SMTP))
        outcome.outbox_file = path
    except OSError:
        log.exception("could not write the data team's alert to the outbox")
    if not recipients:
        log.warning("O2C_DATA_TEAM_EMAIL is not set: the failure of %s is in the outbox only", failure.key)
    elif not settings.smtp_host:
        log.warning("O2C_SMTP_HOST is not set: the failure of %s is in the outbox only", failure.key)
    else:
        try:
            config = SmtpConfig.from_settings(settings, timeout=15.0, max_attempts=3, backoff_seconds=2.0)
            outcome.attempts = send_message(message, config)
            outcome.status = "sent"
        except AlertSendError as exc:
            outcome.status, outcome.error, outcome.attempts = "failed", str(exc), exc.attempts
            log.error("could not e-mail the data team: %s", exc)
    log.warning("pipeline failure %s: data team alert %s", failure.key, outcome.status)
    if url:
        _log_alert(url, failure, outcome)
    return outcome


def _warehouse_url(settings: Settings) -> str | None:
    try:
        from o2c.warehouse.db import warehouse_url

        return warehouse_url(settings)
    except Exception:
        log.exception("no warehouse to log the data team's alert in")
        return None


def _connect(url: str) -> psycopg.Connection:
    return psycopg.connect(url, autocommit=True, connect_timeout=10)


def _with_published_marts(failure: TaskFailure, url: str | None) -> tuple[TaskFailure, bool]:
    """Add what BI users see: the marts of the last publish (``ops.published_marts``); and whether the
    warehouse answered (if not, the alert is not logged there: no more waiting on it)."""
    if not url:
        return failure, False
    try:
        with _connect(url) as conn:
            row = conn.execute(
                "select max(as_of_date), max(published_at), count(*) from ops.published_marts"
            ).fetchone()
    except Exception:
        log.exception("could not read the last published marts")
        return failure, False
    if not row or not row[2]:
        seen = "no marts have been published yet."
    else:
        seen = (
            f"the marts published for as-of {row[0]} at {row[1]:%Y-%m-%d %H:%M %Z} ({row[2]} marts); "
            "nothing a failed build made is visible."
        )
    return dataclasses.replace(failure, published=seen), True


def _already_sent(url: str, key: str) -> bool:
    try:
        with _connect(url) as conn:
            row = conn.execute(
                "select status from ops.pipeline_failure_alerts where alert_key = %s", (key,)
            ).fetchone()
    except Exception:
        log.exception("could not look up earlier alerts of %s", key)
        return False
    return bool(row and row[0] == "sent")


def _log_alert(url: str, failure: TaskFailure, outcome: AlertOutcome) -> None:
    try:
        with _connect(url) as conn:
            conn.execute(
                "insert into ops.pipeline_failure_alerts (alert_key, dag_id, run_id, task_id, try_number, "
                "as_of_date, error, failing_nodes, log_location, recipient, subject, outbox_file, status, "
                "send_error, attempts) values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                "on conflict (alert_key) do update set status = excluded.status, send_error = excluded.send_error, "
                "attempts = ops.pipeline_failure_alerts.attempts + excluded.attempts, "
                "outbox_file = excluded.outbox_file, alerted_at = now()",
                (
                    failure.key,
                    failure.dag_id,
                    failure.run_id,
                    failure.task_id,
                    failure.try_number,
                    failure.as_of_date,
                    failure.error,
                    json.dumps(list(failure.failing_nodes)),
                    "\n".join(failure.log_locations) or None,
                    ", ".join(outcome.recipients) or None,
                    failure.subject,
                    str(outcome.outbox_file) if outcome.outbox_file else None,
                    outcome.status,
                    outcome.error,
                    outcome.attempts,
                ),
            )
    except Exception:
        log.exception("could not log the data team's alert of %s in ops.pipeline_failure_alerts", failure.key)


def _cut(text: str) -> str:
    return text if len(text) <= MAX_ERROR_CHARS else text[:MAX_ERROR_CHARS] + "\n… (cut; see the logs)"


# ── rows rejected by type contracts ───────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class OutboxMessage:
    """A message written to the data team's outbox, to be sent to ``recipients``."""

    path: Path
    message: EmailMessage
    recipients: tuple[str, ...]


def build_rejects_message(
    as_of: date, groups: tuple[RejectGroup, ...], *, sender: str, recipients: list[str], sent_at: datetime
) -> EmailMessage:
    """A plain-text message listing the rejected rows by table and column (``recipients`` may be empty)."""
    total = sum(g.count for g in groups)
    versions = "1 ERP row version that breaks" if total == 1 else f"{total} ERP row versions that break"
    lines = [
        f"The o2c build for as-of {as_of} found {versions} a staging type contract.",
        "They are not in staging: each key keeps its previous valid version, or is absent if it has none.",
        "The build went on without them. Correct the values in the ERP: the next load picks the change up.",
        "",
        "By table and column:",
        *(f"  {g.column:<24} {g.count:>8}" for g in groups),
    ]
    for group in groups:
        shown = f" (first {len(group.examples)})" if len(group.examples) < group.count else ""
        lines += ["", f"{group.column}{shown}:", *(f"  - {example}" for example in group.examples)]
    lines += [
        "",
        "All of them: select * from ops.type_contract_rejects where reported_at is not null order by detected_at desc;",
        "Contracts: dbt_project/models/staging/erp/_erp__sources.yml (DECISIONLOG, Extraction and landing).",
    ]
    msg = EmailMessage(policy=policy.SMTP)
    msg["Subject"] = (
        f"[o2c] {total} ERP {'row' if total == 1 else 'rows'} rejected by type contracts, as of {as_of}"
    )
    msg["From"] = sender
    msg["To"] = ", ".join(recipients) if recipients else "undisclosed-recipients:;"
    msg["Date"] = format_datetime(sent_at)
    msg["Message-ID"] = make_msgid("o2c-type-contract-rejects")
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content("\n".join(lines) + "\n", charset="utf-8")
    return msg


def write_rejects_to_outbox(
    as_of: date, groups: tuple[RejectGroup, ...], settings: Settings, *, now: datetime | None = None
) -> OutboxMessage:
    """Write the rejects' message to ``<outbox>/data-team/<as-of>/type-contract-rejects__<time>.eml``.

    Raises ``OSError`` when it cannot be written (the caller then leaves the rejects unreported).
    """
    sent_at = now or datetime.now(UTC)
    recipients = [address for _, address in getaddresses([settings.data_team_email or ""]) if address]
    message = build_rejects_message(
        as_of, groups, sender=settings.smtp_sender, recipients=recipients, sent_at=sent_at
    )
    stem = safe_file_stem(f"type-contract-rejects__{sent_at:%Y%m%dT%H%M%S%fZ}")
    path = Path(settings.outbox_dir) / "data-team" / as_of.isoformat() / f"{stem}.eml"
    write_atomically(path, message.as_bytes(policy=policy.SMTP))
    return OutboxMessage(path, message, tuple(recipients))


def notify_rejects(outbox: OutboxMessage, settings: Settings) -> str:
    """Send the rejects' message written to the outbox: 'sent', 'outbox_only' (no address or SMTP host) or
    'failed' (logged; not retried). Never raises."""
    if not outbox.recipients or not settings.smtp_host:
        log.warning(
            "O2C_DATA_TEAM_EMAIL or O2C_SMTP_HOST is not set: the rejected rows are in %s only", outbox.path
        )
        return "outbox_only"
    try:
        config = SmtpConfig.from_settings(settings, timeout=15.0, max_attempts=3, backoff_seconds=2.0)
        send_message(outbox.message, config)
    except (AlertSendError, ValueError) as exc:
        log.error("could not e-mail the data team the rejected rows (%s): %s", outbox.path, exc)
        return "failed"
    return "sent"
