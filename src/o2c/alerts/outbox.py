"""The digest as an RFC 5322 message, and its copy in the outbox folder.

Every digest is written to ``<outbox_dir>/<as_of_date>/<recipient_id>.eml`` before any send (a rep's id, or
``team_finance`` for the finance team): the outbox is the record of what each recipient was (or would have
been) told, readable by any mail client. Files are written to
a temporary name in the same folder and renamed, so a reader never sees half a message.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from datetime import date, datetime
from email import errors, policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from pathlib import Path

from o2c.alerts.digest import LABELS, Digest, render

_UNSAFE_FILE_CHARS = re.compile(r"[^A-Za-z0-9._-]")


def alert_key(as_of_date: date, recipient_id: str) -> str:
    """The idempotency key of one digest: ``<as_of_date>:<recipient_id>`` (a rep's id, or ``team:finance``)."""
    return f"{as_of_date}:{recipient_id}"


def safe_file_stem(rep_id: str) -> str:
    """``rep_id`` usable as a file name: anything but letters, digits, ``.``, ``_`` and ``-`` becomes ``_``."""
    stem = _UNSAFE_FILE_CHARS.sub("_", rep_id).lstrip(".")
    return stem or "_"


def recipient_address(name: str, email_address: str) -> Address:
    """The ``To`` address; raises ``ValueError`` naming the address when it is not a valid one."""
    try:
        address = Address(display_name=name, addr_spec=email_address)
    except (ValueError, IndexError, errors.MessageError) as exc:
        raise ValueError(f"{email_address!r} is not a valid e-mail address: {exc}") from exc
    if not address.username or not address.domain:
        raise ValueError(f"{email_address!r} is not a valid e-mail address: it needs a user and a domain")
    return address


def _message_id(digest: Digest, sender: str) -> str:
    domain = parseaddr(sender)[1].rpartition("@")[2] or "o2c.localhost"
    return f"<o2c-alert.{digest.as_of_date}.{safe_file_stem(digest.recipient.recipient_id)}@{domain}>"


def build_message(digest: Digest, *, sender: str, sent_at: datetime) -> EmailMessage:
    """A multipart/alternative (text + HTML, UTF-8) message to the digest's recipient.

    ``To`` holds every address of the recipient (the finance team may have several), or
    ``undisclosed-recipients:;`` when it has none (the finance team without ``O2C_FINANCE_EMAIL``: a copy
    for the outbox only). The ``Message-ID`` is derived from the alert key, so a resent digest is
    recognisably the same message. ``sent_at`` (timezone-aware) becomes the ``Date`` header; the caller owns
    the clock. Raises ``ValueError`` naming an invalid address.
    """
    subject, text_body, html_body = render(digest)
    preferred = digest.recipient.preferred_language
    first = preferred if preferred in LABELS else "EN"
    languages = [LABELS[first]["lang"], LABELS["ZH" if first == "EN" else "EN"]["lang"]]
    addresses = [recipient_address(name, address) for name, address in digest.recipient.addresses]
    msg = EmailMessage(policy=policy.SMTP)
    msg["Subject"] = subject
    msg["From"] = sender
    msg["To"] = addresses or "undisclosed-recipients:;"
    msg["Date"] = format_datetime(sent_at)
    msg["Message-ID"] = _message_id(digest, sender)
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-O2C-Alert-Key"] = alert_key(digest.as_of_date, digest.recipient.recipient_id)
    msg.set_content(text_body, charset="utf-8")
    msg.add_alternative(html_body, subtype="html", charset="utf-8")
    msg["Content-Language"] = ", ".join(languages)  # after set_content, which clears Content-* headers
    return msg


def outbox_path(outbox_dir: Path, as_of_date: date, recipient_id: str) -> Path:
    """``<outbox_dir>/<as_of_date>/<recipient_id>.eml`` (unsafe characters replaced: ``team_finance.eml``)."""
    return Path(outbox_dir) / as_of_date.isoformat() / f"{safe_file_stem(recipient_id)}.eml"


def write_atomically(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write ``data`` to a temporary file next to ``path``, flush it to disk, then rename it over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, mode)
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def write_outbox(message: EmailMessage, outbox_dir: Path, as_of_date: date, recipient_id: str) -> Path:
    """Write ``message`` as an ``.eml`` file (CRLF line ends, as on the wire) and return its path."""
    path = outbox_path(outbox_dir, as_of_date, recipient_id)
    write_atomically(path, message.as_bytes(policy=policy.SMTP))
    return path
