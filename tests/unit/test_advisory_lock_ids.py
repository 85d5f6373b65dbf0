"""Advisory lock ids are kept in one module so that no two jobs share one: check they are distinct."""

from __future__ import annotations

from o2c.warehouse import locks


def test_every_advisory_lock_id_is_distinct() -> None:
    ids = {name: value for name, value in vars(locks).items() if name.isupper() and isinstance(value, int)}
    single = {name: value for name, value in ids.items() if name != "ENTITY"}
    assert len(set(single.values())) == len(single), single
