"""What the end-to-end tests share: a real SMTP server on 127.0.0.1 that keeps what it receives, and an o2c
home with its own embedded warehouse, simulator API port and Airflow metadata database."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from o2c import pipeline
from o2c.config import Settings, load_settings
from o2c.demo import _airflow
from o2c.orchestration import airflow_env
from o2c.simulate.driver import Simulation
from o2c.warehouse.embedded import EmbeddedWarehouse
from tests.conftest import free_port


@dataclass(frozen=True)
class Mail:
    to: list[str]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def body(self) -> str:
        """The plain-text part."""
        return self.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]


class Inbox:
    """An aiosmtpd handler: every message delivered, in order."""

    def __init__(self) -> None:
        self.messages: list[Mail] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append(Mail(list(envelope.rcpt_tos), message))  # type: ignore[arg-type]
        return "250 OK"


@dataclass(frozen=True)
class Stack:
    settings: Settings
    airflow: dict[str, str]
    """the environment of Airflow commands"""
    inbox: Inbox
    log: Path
    """where Airflow commands write"""


@contextmanager
def e2e_stack(home: Path, extra_env: dict[str, str] | None = None) -> Iterator[Stack]:
    """An SMTP sink, an o2c home prepared (warehouse, simulator) and Airflow's database migrated; everything
    stopped afterwards."""
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    env = {
        "O2C_HOME": str(home),
        "O2C_WAREHOUSE_PORT": str(free_port()),
        "O2C_LOGISTICS_API_URL": f"http://127.0.0.1:{free_port()}",
        "O2C_SMTP_HOST": "127.0.0.1",
        "O2C_SMTP_PORT": str(smtp.port),
        "O2C_TASK_RETRIES": "0",
        **(extra_env or {}),
    }
    settings = load_settings(env)
    try:
        pipeline.prepare(settings)
        base = {k: v for k, v in os.environ.items() if not k.startswith("O2C_")}
        airflow = airflow_env(settings, {**base, **env})
        log = home / "airflow.log"
        _airflow(["db", "migrate"], airflow, log)
        yield Stack(settings, airflow, inbox, log)
    finally:
        Simulation(settings).stop_api()
        EmbeddedWarehouse(settings.home, settings.warehouse_port).stop()
        smtp.stop()
