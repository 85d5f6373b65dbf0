"""Send one message over SMTP: STARTTLS when offered, login when configured, retry transient failures.

Transient: the server cannot be reached (connection refused or reset, timeout), it hangs up, or it answers
with a 4xx code. Those are retried with exponential backoff, a few attempts in all. Permanent failures (5xx,
a TLS certificate the system does not trust) end at once. The final failure is an :class:`AlertSendError`
naming the server, the recipient and the reason.
"""

from __future__ import annotations

import contextlib
import logging
import smtplib
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage

from o2c.config import Settings

log = logging.getLogger(__name__)


class AlertSendError(RuntimeError):
    """A message could not be delivered to the SMTP server; the message says to whom, where and why."""

    def __init__(self, server: str, recipient: str, attempts: int, reason: str) -> None:
        self.server = server
        self.recipient = recipient
        self.attempts = attempts
        self.reason = reason
        plural = "" if attempts == 1 else "s"
        super().__init__(
            f"could not send the alert to {recipient} via SMTP server {server} "
            f"after {attempts} attempt{plural}: {reason}"
        )


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how to send; build from settings with :meth:`from_settings`."""

    host: str
    port: int = 25
    user: str | None = None
    password: str | None = None
    timeout: float = 30.0
    max_attempts: int = 3
    backoff_seconds: float = 2.0

    @property
    def server(self) -> str:
        return f"{self.host}:{self.port}"

    @classmethod
    def from_settings(
        cls, settings: Settings, *, timeout: float = 30.0, max_attempts: int = 3, backoff_seconds: float = 2.0
    ) -> SmtpConfig:
        """The SMTP settings of ``settings``; raises ``ValueError`` when no SMTP host is configured."""
        if not settings.smtp_host:
            raise ValueError("no SMTP server configured (set O2C_SMTP_HOST)")
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            user=settings.smtp_user,
            password=settings.smtp_password,
            timeout=timeout,
            max_attempts=max(1, max_attempts),
            backoff_seconds=backoff_seconds,
        )


def is_transient(exc: BaseException) -> bool:
    """Whether a retry may succeed: network trouble, a hang-up, or a 4xx answer."""
    if isinstance(exc, ssl.SSLError):
        return False
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        return bool(codes) and all(400 <= code < 500 for code in codes)
    if isinstance(exc, smtplib.SMTPResponseException):
        return 400 <= exc.smtp_code < 500
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return True
    if isinstance(exc, smtplib.SMTPException):  # an OSError too, but e.g. "no AUTH method" will not heal
        return False
    return isinstance(exc, OSError)


def describe(exc: BaseException) -> str:
    """A one-line reason for logs and ``ops.alert_log.error``."""
    if isinstance(exc, smtplib.SMTPResponseException):
        text = (
            exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else exc.smtp_error
        )
        return f"{type(exc).__name__}: {exc.smtp_code} {text}".strip()
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        refused = "; ".join(
            f"{rcpt}: {code} {msg.decode('utf-8', 'replace') if isinstance(msg, bytes) else msg}"
            for rcpt, (code, msg) in sorted(exc.recipients.items())
        )
        return f"recipient refused ({refused})"
    return f"{type(exc).__name__}: {exc}"


def _send_once(message: EmailMessage, config: SmtpConfig) -> None:
    client = smtplib.SMTP(config.host, config.port, timeout=config.timeout)
    try:
        client.ehlo_or_helo_if_needed()
        if client.has_extn("starttls"):
            client.starttls(context=ssl.create_default_context())
            client.ehlo()
        elif config.user:
            log.warning("SMTP server %s offers no STARTTLS: logging in without encryption", config.server)
        if config.user:
            client.login(config.user, config.password or "")
        client.send_message(message)
    finally:
        # the message is accepted once DATA is answered 250: a failing QUIT must not cause a resend
        with contextlib.suppress(smtplib.SMTPException, OSError):
            client.quit()
        client.close()


def send_message(
    message: EmailMessage, config: SmtpConfig, *, sleep: Callable[[float], None] = time.sleep
) -> int:
    """Send ``message``; return the number of attempts it took, or raise :class:`AlertSendError`."""
    recipient = str(message.get("To", "?"))
    for attempt in range(1, config.max_attempts + 1):
        try:
            _send_once(message, config)
            return attempt
        except Exception as exc:
            if not is_transient(exc) or attempt == config.max_attempts:
                raise AlertSendError(config.server, recipient, attempt, describe(exc)) from exc
            delay = config.backoff_seconds * 2 ** (attempt - 1)
            log.warning(
                "sending to %s via %s failed (attempt %d of %d, retrying in %.1fs): %s",
                recipient,
                config.server,
                attempt,
                config.max_attempts,
                delay,
                describe(exc),
            )
            sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises
