"""China's public holidays and adjusted working days, from the maintained ``holidays`` library.

``dim_dates`` marks Asia/Shanghai working days from ``raw_reference.public_holidays``, which this module
refreshes before every dbt build (``o2c.transform.publish.build_and_publish``). China moves working days
around its holidays (调休): the State Council publishes, each year, the statutory holidays, the extra days
off ("substituted" days) and the weekend days that become working days. ``holidays.China`` holds all three
for every year it has published; for a later year it computes the statutory holidays only (a newer
``holidays`` release adds the rest: upgrade it once the State Council has published the next year).

One row per (country, date, kind): ``holiday`` (a day off, with its name) or ``working_day`` (a weekend day
worked). The refresh replaces the rows of the years it covers in one transaction, so a reader sees the old
calendar or the new one, never a mix; it writes nothing when nothing changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import holidays as holiday_library
import psycopg

COUNTRY = "CN"
FIRST_YEAR = 2000
"""The calendar's first year: before any business history o2c loads (dim_dates starts there)."""
YEARS_AHEAD = 2
"""Years after the as-of date's year covered too (due dates, contract validity, forecasts)."""


@dataclass(frozen=True)
class CalendarDay:
    holiday_date: date
    kind: str
    """``holiday`` (a day off) or ``working_day`` (a weekend day worked instead)"""
    name: str


def china_calendar(first_year: int, last_year: int) -> list[CalendarDay]:
    """China's days off and weekend working days from ``first_year`` through ``last_year``."""
    calendar = holiday_library.country_holidays(COUNTRY, years=range(first_year, last_year + 1))
    days = [CalendarDay(day, "holiday", str(name)) for day, name in calendar.items()]
    days += [CalendarDay(day, "working_day", "Adjusted working day") for day in calendar.weekend_workdays]
    return sorted(days, key=lambda d: (d.holiday_date, d.kind))


def refresh_public_holidays(conn: psycopg.Connection, through_year: int) -> int:
    """Replace the calendar of ``FIRST_YEAR``..``through_year`` in ``raw_reference.public_holidays`` when it
    differs from the library's; return the number of rows written (0: unchanged)."""
    days = china_calendar(FIRST_YEAR, through_year)
    wanted = {(d.holiday_date, d.kind, d.name) for d in days}
    with conn.transaction():
        rows = conn.execute(
            "select holiday_date, kind, name from raw_reference.public_holidays"
            " where country_code = %s and extract(year from holiday_date) between %s and %s",
            (COUNTRY, FIRST_YEAR, through_year),
        ).fetchall()
        if set(rows) == wanted and len(rows) == len(wanted):
            return 0
        conn.execute(
            "delete from raw_reference.public_holidays"
            " where country_code = %s and extract(year from holiday_date) between %s and %s",
            (COUNTRY, FIRST_YEAR, through_year),
        )
        with conn.cursor().copy(
            "copy raw_reference.public_holidays (country_code, holiday_date, kind, name, source) from stdin"
        ) as copy:
            source = f"holidays {holiday_library.__version__}"
            for day in days:
                copy.write_row((COUNTRY, day.holiday_date, day.kind, day.name, source))
    return len(days)
