"""Report the ERP rows that broke a staging type contract: once each, after the build that found them.

Every raw ERP column that staging casts declares its type contract (``_erp__sources.yml``; macros in
``dbt_project/macros/type_contracts.sql``). A landed version that breaks one is left out of staging, so no
cast can fail the build, and the dbt model ``ops.type_contract_rejects`` records it: one row per version and
column, with the reason naming the table, the column and the value (``VBAP.KWMENG = 'abc' is not a
number``).

After each build, successful or not, :func:`report_rejects` claims the rejects no run has reported yet (it
stamps ``reported_at``), writes them to the data team's outbox and e-mails them when SMTP is configured
(:func:`o2c.alerts.data_team.notify_rejects`), logs a warning and returns the summary that the pipeline step
returns (``o2c run`` prints it; Airflow keeps it as the task's result). The claim and the outbox copy commit
together, so a reject is reported once; if the outbox cannot be written, nothing is claimed and the next
run reports it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import Any

import psycopg

from o2c.config import Settings

log = logging.getLogger(__name__)

REJECTS_TABLE = "ops.type_contract_rejects"
"""The dbt model (dbt_project/models/ops/type_contract_rejects.sql); named as such in the SQL below."""
EXAMPLES_PER_COLUMN = 20
"""Rejects listed per table and column in the report; all are counted, and all are in the table."""

_CLAIM = """
with claimed as (
    update ops.type_contract_rejects set reported_at = now()
    where reported_at is null
    returning source_table, source_key, column_name, reason, changed_at, batch_id
)
select
    source_table,
    column_name,
    count(*),
    (array_agg(
        reason || ' (key ' || source_key || ', changed ' || coalesce(changed_at::text, '?') || ', batch '
        || coalesce(batch_id, '?') || ')'
        order by changed_at, source_key
    ))[1:%(examples)s]
from claimed
group by source_table, column_name
order by source_table, column_name
"""


@dataclass(frozen=True)
class RejectGroup:
    """The rejects of one table and column reported by one run."""

    source_table: str
    column_name: str
    count: int
    examples: tuple[str, ...]

    @property
    def column(self) -> str:
        return f"{self.source_table}.{self.column_name}"


@dataclass(frozen=True)
class RejectReport:
    """What a run reports: the rejects not reported before, by table and column."""

    as_of: date
    groups: tuple[RejectGroup, ...] = ()
    outbox_file: str | None = None
    email: str | None = None
    """'sent', 'outbox_only' or 'failed' when there was something to tell."""
    error: str | None = None
    """Why the report could not be made (the rejects stay unreported for the next run)."""

    @property
    def count(self) -> int:
        return sum(g.count for g in self.groups)

    def summary(self) -> dict[str, Any]:
        """The report as the pipeline step returns it."""
        out: dict[str, Any] = {"new": self.count, "table": REJECTS_TABLE}
        if self.groups:
            out["by_column"] = {g.column: g.count for g in self.groups}
            out["examples"] = [e for g in self.groups for e in g.examples[:3]]
        if self.outbox_file:
            out["outbox_file"] = self.outbox_file
        if self.email:
            out["email"] = self.email
        if self.error:
            out["error"] = self.error
        return out


def claim_unreported(conn: psycopg.Connection) -> tuple[RejectGroup, ...]:
    """Stamp ``reported_at`` on every reject not reported yet and return them by table and column (in the
    caller's transaction). No rejects table yet (no build made it): nothing."""
    row = conn.execute("select to_regclass(%s) is not null", (REJECTS_TABLE,)).fetchone()
    if not (row and row[0]):
        return ()
    return tuple(
        RejectGroup(str(table), str(column), int(count), tuple(examples or ()))
        for table, column, count, examples in conn.execute(_CLAIM, {"examples": EXAMPLES_PER_COLUMN})
    )


def report_rejects(url: str, as_of: date, settings: Settings) -> RejectReport:
    """Report the rejects no run has reported yet: warning in the log, the data team's outbox and e-mail.

    Never raises: a report that fails leaves the rejects unreported (the next run reports them) and says
    why in ``error``.
    """
    from o2c.alerts.data_team import notify_rejects, write_rejects_to_outbox

    try:
        with psycopg.connect(url, connect_timeout=30) as conn, conn.transaction():
            groups = claim_unreported(conn)
            outbox = write_rejects_to_outbox(as_of, groups, settings) if groups else None
    except (psycopg.Error, OSError) as exc:
        log.exception("could not report the rows rejected by type contracts (they stay unreported)")
        return RejectReport(as_of, error=f"{type(exc).__name__}: {exc}")
    if not groups:
        return RejectReport(as_of)
    total = sum(g.count for g in groups)
    log.warning(
        "%d ERP row version(s) broke a staging type contract and are not in staging (%s): %s",
        total,
        REJECTS_TABLE,
        "; ".join(f"{g.column} {g.count}" for g in groups),
    )
    for group in groups:
        for example in group.examples[:3]:
            log.warning("rejected: %s", example)
    status = notify_rejects(outbox, settings) if outbox else None
    return RejectReport(as_of, groups, str(outbox.path) if outbox else None, status)
