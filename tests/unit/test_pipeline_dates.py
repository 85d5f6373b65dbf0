"""The nightly interval ↔ business date mapping (02:00 Asia/Shanghai)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from o2c.pipeline import as_of_for, interval_for
from o2c.simulate.driver import cutoff_for


def test_interval_closes_the_previous_shanghai_day() -> None:
    start, end = interval_for(date(2026, 9, 24))
    assert start == datetime(2026, 9, 23, 18, 0, tzinfo=UTC)  # 2026-09-24 02:00 CST
    assert end == datetime(2026, 9, 24, 18, 0, tzinfo=UTC)  # 2026-09-25 02:00 CST
    assert as_of_for(end) == date(2026, 9, 24)


def test_round_trip_over_a_year() -> None:
    day = date(2026, 1, 1)
    for offset in range(366):
        current = date.fromordinal(day.toordinal() + offset)
        assert as_of_for(interval_for(current)[1]) == current


def test_simulator_cutoff_is_the_interval_end() -> None:
    assert cutoff_for(date(2026, 9, 24)) == interval_for(date(2026, 9, 24))[1]
