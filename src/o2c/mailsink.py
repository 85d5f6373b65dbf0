"""A local SMTP server on 127.0.0.1 that files every message it receives (the demo's mail catcher)."""

from __future__ import annotations

import socket
from email import message_from_bytes
from email.header import decode_header, make_header
from pathlib import Path
from typing import Any


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class MailSink:
    def __init__(self, folder: Path, port: int | None = None) -> None:
        self.folder = folder
        self.port = port or _free_port()
        self.received: list[dict[str, Any]] = []
        self._controller: Any = None

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        self.folder.mkdir(parents=True, exist_ok=True)
        sink = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
                message = message_from_bytes(envelope.content)
                record = {
                    "from": envelope.mail_from,
                    "to": list(envelope.rcpt_tos),
                    "subject": str(make_header(decode_header(message.get("Subject", "")))),
                }
                sink.received.append(record)
                name = f"{len(sink.received):05d}-{envelope.rcpt_tos[0].split('@')[0]}.eml"
                (sink.folder / name).write_bytes(envelope.content)
                return "250 Message accepted for delivery"

        self._controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
