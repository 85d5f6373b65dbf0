"""Business dates and the nightly cutoff: the one place that says when a business day closes.

Business dates (order, due, as-of dates) are calendar dates in Asia/Shanghai; timestamps are UTC. A
business date ``D`` closes at ``CUTOFF`` (02:00) Shanghai time on ``D + 1``: the nightly data interval is
``[D 02:00, D+1 02:00)`` and its as-of date is ``D``. dbt receives the cutoff through the
``business_day_cutoff`` variable (``o2c.transform.build``), so SQL and Python agree.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

BUSINESS_TZ = ZoneInfo("Asia/Shanghai")
CUTOFF = time(2, 0)
"""Wall-clock time (business time zone) at which the previous business date closes."""


def cutoff_for(as_of: date) -> datetime:
    """The moment business date ``as_of`` closes (UTC): ``as_of + 1`` at the cutoff, Shanghai time."""
    return datetime.combine(as_of + timedelta(days=1), CUTOFF, tzinfo=BUSINESS_TZ).astimezone(UTC)


def interval_for(as_of: date) -> tuple[datetime, datetime]:
    """The nightly data interval that closes business date ``as_of``: [as_of 02:00, as_of+1 02:00) CST."""
    end = cutoff_for(as_of)
    return cutoff_for(as_of - timedelta(days=1)), end


def as_of_for(interval_end: datetime) -> date:
    """The business date an interval ending at ``interval_end`` closes (02:00 → the previous day)."""
    local = interval_end.astimezone(BUSINESS_TZ)
    closes = datetime.combine(local.date(), CUTOFF, tzinfo=BUSINESS_TZ)
    return local.date() - timedelta(days=1 if local <= closes else 0)
