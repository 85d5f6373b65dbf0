"""The files the banks send, when they become available, and their delivery into the inbox.

Per weekday and account: the final statement (available at 01:00 the next morning, before the night's
cutoff); for USD an MT942 and for CNY a camt.052 intraday report at ``intraday_hour``; for CNY a camt.054
notification of each batch booking, ten minutes after it. Injected faults (ground truth ``bank_files.csv``,
by ``kind``): the CNY statement of ``bad_bank_file_day`` first sent with a wrong closing balance
(``corrupt``) and sent again correctly the next morning (``resend``); the USD statement a week later sent a
second time under another name (``duplicate``); and one statement never sent at all (``missing``, never
delivered: the next statement of its account opens at a balance the last one delivered did not close at).
Names follow ``TRDB_<currency>_<format>_<YYYYMMDD>[_<HHMM[SS]>][_R1|_COPY].<sta|xml>``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import cached_property, partial
from pathlib import Path

from o2c.business_calendar import BUSINESS_TZ
from o2c.simulate.bank.camt import render_camt052, render_camt053, render_camt054
from o2c.simulate.bank.mt940 import render_mt940, render_mt942
from o2c.simulate.bank.statements import DayStatement, statements
from o2c.simulate.catalog import at
from o2c.simulate.world import World

MISSING_ACCOUNTS = ("EUR", "SGD")
"""Accounts whose statement may go missing, in order of preference (no intraday report refers to it)."""


@dataclass
class BankFile:
    """A file the banks send. Its bytes are rendered when first read (``content``): listing three years of
    files (names, days, kinds) costs no rendering, and each advance renders only the files it delivers."""

    name: str
    day: date
    """the business day it is delivered with (``drop_files``)"""
    render: Callable[[], bytes] = field(repr=False, compare=False)
    kind: str = "normal"
    """normal | intraday | notification | corrupt | resend | duplicate | missing (never delivered)"""
    available_at: datetime | None = None
    """when the bank makes it available (UTC)"""
    currency: str = ""
    message: str = ""
    """mt940, mt942, camt.052.001.08, camt.053.001.02, camt.053.001.08 or camt.054.001.08"""
    statement_seq: int = 0

    @cached_property
    def content(self) -> bytes:
        return self.render()


def missing_statement(world: World, days: list[DayStatement]) -> DayStatement | None:
    """The statement never sent: the first with an entry on or after ``missing_bank_statement_day``, of the
    first account in :data:`MISSING_ACCOUNTS` that has one (``None``: no gap in this scenario)."""
    cfg = world.config
    if cfg.missing_bank_statement_day is None:
        return None
    first = cfg.start + timedelta(days=cfg.missing_bank_statement_day)
    for currency in MISSING_ACCOUNTS:
        for stmt in days:
            # the last statement of an account cannot go missing: nothing would show the gap
            if stmt.currency == currency and stmt.day >= first and stmt.entries and stmt.day < cfg.end:
                return stmt
    return None


def _file(
    name: str,
    stmt: DayStatement,
    render: Callable[[], bytes],
    kind: str,
    available_at: datetime | None,
    message: str | None = None,
    day: date | None = None,
) -> BankFile:
    """A file of ``stmt``'s account and day (``message``: the statement's unless said; ``day``: delivered with
    another day than the statement's)."""
    return BankFile(
        name,
        day or stmt.day,
        render,
        kind,
        available_at,
        stmt.currency,
        message or stmt.account.statement,
        stmt.seq,
    )


def bank_files(world: World) -> list[BankFile]:
    """Every file the banks send over the whole horizon, including the injected bad ones, in the order they
    become available."""
    cfg = world.config
    files: list[BankFile] = []
    bad_day = cfg.start + timedelta(days=cfg.bad_bank_file_day) if cfg.bad_bank_file_day is not None else None
    while bad_day is not None and bad_day.weekday() >= 5:
        bad_day += timedelta(days=1)
    days = statements(world)
    missing = missing_statement(world, days)
    for stmt in days:
        account = stmt.account
        stamp = f"{stmt.day:%Y%m%d}"
        if account.intraday is not None:
            until = at(stmt.day, cfg.intraday_hour)
            hhmm = until.astimezone(BUSINESS_TZ).strftime("%H%M")
            intraday = account.intraday
            if intraday == "mt942":
                render: Callable[[], bytes] = partial(render_mt942, stmt, until)
                name = f"TRDB_{stmt.currency}_MT942_{stamp}_{hhmm}.sta"
            else:
                render = partial(render_camt052, stmt, until)
                name = f"TRDB_{stmt.currency}_CAMT052_{stamp}_{hhmm}.xml"
            files.append(_file(name, stmt, render, "intraday", until + timedelta(minutes=5), intraday))
        if account.notifications is not None:
            for entry in stmt.entries:
                if entry.is_batch:
                    sent = entry.booked_at + timedelta(minutes=10)
                    files.append(
                        _file(
                            f"TRDB_{stmt.currency}_CAMT054_{stamp}_{sent.astimezone(BUSINESS_TZ):%H%M%S}.xml",
                            stmt,
                            partial(render_camt054, stmt, entry, sent),
                            "notification",
                            sent,
                            account.notifications,
                        )
                    )
        mt = account.statement == "mt940"
        render_statement = render_mt940 if mt else render_camt053
        ext = "sta" if mt else "xml"
        name = f"TRDB_{stmt.currency}_{account.format.upper()}_{stamp}.{ext}"
        closing_time = datetime.combine(stmt.day + timedelta(days=1), time(1, 0), tzinfo=BUSINESS_TZ)
        if stmt is missing:
            files.append(_file(name, stmt, partial(render_statement, stmt), "missing", None))
        elif bad_day == stmt.day and stmt.currency == "CNY":
            # the bank's first transmission is broken (closing balance does not add up); a corrected
            # resend arrives the next morning under another name
            render_corrupt = partial(render_statement, stmt, stmt.closing + Decimal("100.00"))
            files.append(_file(name, stmt, render_corrupt, "corrupt", closing_time))
            files.append(
                _file(
                    name.replace(f".{ext}", f"_R1.{ext}"),
                    stmt,
                    partial(render_statement, stmt),
                    "resend",
                    closing_time + timedelta(hours=8),
                    day=stmt.day + timedelta(days=1),
                )
            )
        else:
            files.append(_file(name, stmt, partial(render_statement, stmt), "normal", closing_time))
            if bad_day is not None and stmt.day == bad_day + timedelta(days=7) and stmt.currency == "USD":
                # the same statement sent twice under two names: must load once
                files.append(
                    _file(
                        name.replace(f".{ext}", f"_COPY.{ext}"),
                        stmt,
                        partial(render_statement, stmt),
                        "duplicate",
                        closing_time + timedelta(hours=8, minutes=30),
                        day=stmt.day + timedelta(days=1),
                    )
                )
    far = datetime.max.replace(tzinfo=BUSINESS_TZ)
    files.sort(key=lambda f: (f.available_at or far, f.name))
    return files


def drop_files(world: World, inbox: Path, delivered_registry: Path, through: date) -> list[str]:
    """Drop into ``inbox`` every file the banks had sent for business days up to ``through``, in the order
    they became available (a day's intraday reports and notifications before its statement); a ``missing``
    statement is never sent.

    A file already delivered once (recorded in ``delivered_registry``) is not delivered again.
    """
    inbox.mkdir(parents=True, exist_ok=True)
    delivered = set(delivered_registry.read_text().split()) if delivered_registry.exists() else set()
    new = []
    for bank_file in bank_files(world):
        if bank_file.day <= through and bank_file.kind != "missing" and bank_file.name not in delivered:
            tmp = inbox / f".{bank_file.name}.part"
            tmp.write_bytes(bank_file.content)
            tmp.rename(inbox / bank_file.name)  # atomic: the ingest never sees half a file
            new.append(bank_file.name)
    if new:
        delivered_registry.parent.mkdir(parents=True, exist_ok=True)
        with delivered_registry.open("a") as handle:
            handle.write("".join(f"{n}\n" for n in new))
    return new
