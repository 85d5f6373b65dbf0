"""The simulated ERP moves from one cutoff to another by the keys that changed in between (the demo's
nights), and bank files render only when read: both must give exactly what a full rebuild gives."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from o2c.business_calendar import cutoff_for
from o2c.simulate.bank.files import bank_files, drop_files
from o2c.simulate.world import SimConfig, World, build_world

SMALL = SimConfig(
    seed=11, start=date(2026, 3, 2), days=45, customers=25, lines_per_day=12.0, bad_bank_file_day=20
)


@pytest.fixture(scope="module")
def world() -> World:
    return build_world(SMALL)


def _state(world: World, table: str, cutoff) -> dict[tuple[str, ...], dict[str, object]]:
    from o2c.simulate.erp_tables import KEYS

    return {tuple(str(r[k]) for k in KEYS[table]): r for r in world.erp_as_of(table, cutoff)}


@pytest.mark.parametrize("forward", [True, False])
def test_changed_keys_turn_one_cutoff_into_another(world: World, forward: bool) -> None:
    """State at B = state at A with the changed keys' rows replaced (removed when deleted by B), whether B
    is after A (a night) or before it (the demo run again); late commits included."""
    early, late = cutoff_for(SMALL.start + timedelta(days=20)), cutoff_for(SMALL.start + timedelta(days=23))
    since, cutoff = (early, late) if forward else (late, early)
    changed_tables = 0
    for table in world.erp:
        before, after = _state(world, table, since), _state(world, table, cutoff)
        keys = world.erp_keys_changed(table, since, cutoff)
        patched = {k: r for k, r in before.items() if k not in keys}
        patched.update(_state_of(world, table, cutoff, keys))
        assert patched == after, table
        changed_tables += bool(keys)
    assert changed_tables > 5, "the nights change orders, deliveries, billing and customer items"


def _state_of(world: World, table: str, cutoff, keys) -> dict[tuple[str, ...], dict[str, object]]:
    from o2c.simulate.erp_tables import KEYS

    return {tuple(str(r[k]) for k in KEYS[table]): r for r in world.erp_as_of(table, cutoff, keys=keys)}


def test_late_commits_count_as_changes_when_they_commit(world: World) -> None:
    """A clearing committed after the 02:00 cutoff changes the ERP when it commits, not at its CHANGED_AT."""
    assert world.commit_times, "the scenario has late commits"
    for (table, key, changed_at), committed in world.commit_times.items():
        assert committed > changed_at
        assert key in world.erp_keys_changed(table, committed - timedelta(microseconds=1), committed)


def test_bank_files_render_only_when_read_and_the_same_bytes(world: World, tmp_path) -> None:
    files = bank_files(world)
    assert all("content" not in f.__dict__ for f in files), "listing renders nothing"
    dropped = drop_files(
        world, tmp_path / "inbox", tmp_path / "delivered.txt", SMALL.start + timedelta(days=10)
    )
    rendered = [f.name for f in files if "content" in f.__dict__]
    assert rendered == [], "drop_files renders its own copies"
    again = {f.name: f.content for f in bank_files(world)}
    assert dropped and all((tmp_path / "inbox" / name).read_bytes() == again[name] for name in dropped)
    assert drop_files(world, tmp_path / "inbox", tmp_path / "delivered.txt", SMALL.end) != []
    assert not set(dropped) & set(
        drop_files(world, tmp_path / "inbox", tmp_path / "delivered.txt", SMALL.end)
    ), "a file is delivered once"
