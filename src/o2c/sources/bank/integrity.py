"""Statement integrity across files, per account, as banks and SAP's statement import check it.

Inside one file, :mod:`o2c.sources.bank.parse` checks that each report adds up. Across files only the
warehouse can tell whether an account's statements form an unbroken chain:

- **balance break**: a statement's opening balance differs from the closing balance of the account's
  previous statement (an entry booked twice or missing, a statement missing between them);
- **sequence gap**: the statement numbers do not follow (``:28C:`` number/page in MT940, ``ElctrncSeqNb``
  in camt; a restart at 1 in a new year is not a gap).

A break or gap is recorded in ``ops.bank_integrity_issues`` (account, both statements, dates, amounts,
the missing numbers) and becomes a warning of the file; it stops nothing (the file still loads) and is
alerted to finance through the ``BANK_STMT_INTEGRITY`` rule. Statements arrive out of order: a statement
is checked against its neighbours on both sides, so a missing statement that arrives later resolves the
issue it explained (``resolved_at``). Only final statements (not intraday reports or notifications) are
chained. The neighbours are looked up within :data:`WINDOW_DAYS` of the statement: the check costs the same
whatever the length of history.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import psycopg

from o2c.sources.bank.model import REPORT_STATEMENT
from o2c.sources.bank.rows import LandedReport

WINDOW_DAYS = 62
"""How far around a statement its neighbours are looked for (a monthly statement's predecessor is within)."""
_DIGITS = re.compile(r"^\d{1,9}$")


@dataclass(frozen=True)
class Link:
    """One statement of an account's chain, as landed."""

    key: str
    statement_id: str
    sequence: str | None
    file_format: str
    opening: Decimal | None
    opening_date: date | None
    closing: Decimal | None
    closing_date: date | None
    file_name: str

    @property
    def day(self) -> date:
        return self.closing_date or self.opening_date or date.min

    @property
    def number(self) -> tuple[int | None, int | None]:
        """(statement number, page): MT940 ``:28C:`` number and page; camt ``ElctrncSeqNb`` and no page."""
        if self.file_format in ("mt940", "mt942"):
            number = int(self.statement_id) if _DIGITS.match(self.statement_id) else None
            page = int(self.sequence) if self.sequence and _DIGITS.match(self.sequence) else None
            return number, page
        return (int(self.sequence) if self.sequence and _DIGITS.match(self.sequence) else None), None

    @property
    def label(self) -> str:
        seq = f"/{self.sequence}" if self.sequence else ""
        return f"statement {self.statement_id}{seq}"

    def order(self) -> tuple[date, int, int, str]:
        number, page = self.number
        return (self.day, number if number is not None else -1, page or 0, self.key)


@dataclass(frozen=True)
class Issue:
    kind: str
    account_id: str
    currency: str
    statement: Link
    previous: Link
    expected_opening: Decimal | None
    stated_opening: Decimal | None
    missing: str | None
    message: str


def _sequence_gap(previous: Link, current: Link) -> str | None:
    """The statement numbers missing between two neighbours, or ``None`` when they follow."""
    (prev_no, prev_page), (cur_no, cur_page) = previous.number, current.number
    if prev_no is None or cur_no is None:
        return None
    if cur_no == prev_no:
        if prev_page is None or cur_page is None or cur_page == prev_page + 1:
            return None
        return (
            f"page {prev_page + 1}" if cur_page == prev_page + 2 else f"pages {prev_page + 1}-{cur_page - 1}"
        )
    if cur_no == prev_no + 1 and (cur_page is None or cur_page == 1):
        return None
    if cur_no == 1 and current.day.year > previous.day.year:
        return None  # numbering restarts each year
    if cur_no <= prev_no:
        return f"number {cur_no} follows {prev_no}"
    first, last = prev_no + 1, cur_no - 1
    if first > last:  # the next number, but not its first page
        return f"pages 1-{(cur_page or 2) - 1} of statement {cur_no}"
    return str(first) if first == last else f"{first}-{last}"


def _issues(account: str, currency: str, previous: Link, current: Link) -> list[Issue]:
    """The breaks between two neighbouring statements of an account."""
    found = []
    if previous.closing is not None and current.opening is not None and previous.closing != current.opening:
        difference = current.opening - previous.closing
        found.append(
            Issue(
                "balance_break",
                account,
                currency,
                current,
                previous,
                previous.closing,
                current.opening,
                None,
                f"account {account} ({currency}): {current.label} of {current.opening_date} opens at"
                f" {current.opening}, but the previous {previous.label} of {previous.closing_date}"
                f" (file {previous.file_name}) closed at {previous.closing}: a difference of {difference}"
                " (a statement missing between them, or entries booked twice or left out)",
            )
        )
    gap = _sequence_gap(previous, current)
    if gap is not None:
        found.append(
            Issue(
                "sequence_gap",
                account,
                currency,
                current,
                previous,
                previous.closing,
                current.opening,
                gap,
                f"account {account} ({currency}): {current.label} of {current.opening_date or current.day}"
                f" follows {previous.label} of {previous.day} (file {previous.file_name}): statement"
                f" number(s) {gap} missing",
            )
        )
    return found


def _chain(conn: psycopg.Connection, account: str, currency: str, around: LandedReport) -> list[Link]:
    head, tail = around.head, around.tail
    day = (tail.closing.on if tail.closing else None) or (head.opening.on if head.opening else None)
    if day is None:
        return []
    rows = conn.execute(
        """
        select s.statement_key, s.statement_id, s.sequence_number, s.file_format, s.opening_balance,
            s.opening_date, s.closing_balance, s.closing_date, coalesce(f.file_name, s._source)
        from raw_bank.statements as s
        left join ops.bank_files as f on f.file_sha256 = s.file_sha256
        where s.account_id = %s and s.currency = %s and s.report_kind = 'statement'
            and coalesce(s.closing_date, s.opening_date) between %s and %s
        """,
        (account, currency, day - timedelta(days=WINDOW_DAYS), day + timedelta(days=WINDOW_DAYS)),
    ).fetchall()
    return sorted((Link(*row) for row in rows), key=Link.order)


def check_landed(
    conn: psycopg.Connection, reports: list[LandedReport], sha: str, file_name: str
) -> list[str]:
    """Check each newly landed statement against its neighbours; record issues, resolve the ones closed.

    Runs inside the file's transaction, after its statements landed. Returns the warnings to add to the
    file's result.
    """
    warnings: list[str] = []
    for report in reports:
        head = report.head
        if head.report_kind != REPORT_STATEMENT:
            continue
        chain = _chain(conn, head.account_id, head.currency, report)
        position = next((i for i, link in enumerate(chain) if link.key == report.key), None)
        if position is None:
            continue
        current = chain[position]
        pairs = []
        if position > 0:
            pairs.append((chain[position - 1], current))
        if position + 1 < len(chain):
            following = chain[position + 1]
            pairs.append((current, following))
            # the issues recorded on the following statement against an older predecessor: this one
            # stands between them now
            conn.execute(
                """
                update ops.bank_integrity_issues set resolved_at = now(), resolved_by_file = %s
                where statement_key = %s and previous_statement_key <> %s and resolved_at is null
                """,
                (file_name, following.key, current.key),
            )
        for previous, later in pairs:
            for issue in _issues(head.account_id, head.currency, previous, later):
                inserted = conn.execute(
                    """
                    insert into ops.bank_integrity_issues (kind, account_id, currency, statement_key,
                        statement_id, sequence_number, statement_date, previous_statement_key,
                        previous_statement_id, previous_sequence_number, previous_date, expected_opening,
                        stated_opening, difference, missing_sequences, message, file_sha256, file_name)
                    values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
                    on conflict (statement_key, previous_statement_key, kind) do nothing
                    """,
                    (
                        issue.kind,
                        issue.account_id,
                        issue.currency,
                        issue.statement.key,
                        issue.statement.statement_id,
                        issue.statement.sequence,
                        issue.statement.opening_date or issue.statement.day,
                        issue.previous.key,
                        issue.previous.statement_id,
                        issue.previous.sequence,
                        issue.previous.closing_date or issue.previous.day,
                        issue.expected_opening,
                        issue.stated_opening,
                        None
                        if issue.expected_opening is None or issue.stated_opening is None
                        else issue.stated_opening - issue.expected_opening,
                        issue.missing,
                        issue.message,
                        sha,
                        file_name,
                    ),
                ).rowcount
                if inserted:
                    warnings.append(issue.message)
    return warnings
