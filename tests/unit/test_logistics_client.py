"""The logistics client against the simulator's real HTTP API: keyset pagination, filters, 429/5xx retries,
and the shipments the simulator serves (no events yet, plan revisions)."""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from o2c.simulate.logistics_api import LogisticsAPI, decode_cursor, encode_cursor, make_server
from o2c.simulate.world import RULE_ORDER_OVERDUE, SimConfig, World, build_world
from o2c.sources.logistics.client import LogisticsAPIError, LogisticsClient, retry_after_seconds

CFG = SimConfig(seed=3, days=20, customers=12, lines_per_day=10.0)
NOW = datetime(2026, 6, 15, 18, tzinfo=UTC)


@pytest.fixture(scope="module")
def world() -> World:
    return build_world(CFG)


def _clock(path: Path, now: datetime) -> None:
    path.write_text(json.dumps({"now": now.isoformat()}))


def _start(handler: LogisticsAPI) -> ThreadingHTTPServer:
    server = make_server(handler, 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="module")
def api(world: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, LogisticsAPI]]:
    clock = tmp_path_factory.mktemp("sim") / "clock.json"
    _clock(clock, NOW)
    handler = LogisticsAPI(world, clock, throttle_every=4, fail_every=7)
    server = _start(handler)
    yield f"http://127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()


def test_reads_every_page_through_throttling_and_failures(api) -> None:
    url, handler = api
    waits: list[float] = []
    client = LogisticsClient(url, page_size=25, sleep=waits.append)
    records = list(client.shipments(None))
    expected = handler.world.shipments_as_of(NOW)
    assert len(records) == len(expected) > 25
    assert len({r["shipment_id"] for r in records}) == len(records)
    assert [(r["updated_at"], r["shipment_id"]) for r in records] == sorted(
        (r["updated_at"], r["shipment_id"]) for r in expected
    )
    # Retry-After honoured in both forms the simulator sends: "1" (seconds) and an HTTP date 2 s on
    assert client.retries > 0 and {1.0, 2.0} <= set(waits)


def test_updated_since_returns_only_later_changes(api) -> None:
    url, handler = api
    since = NOW - timedelta(days=3)
    client = LogisticsClient(url, page_size=50, sleep=lambda _: None)
    records = list(client.shipments(since))
    assert records
    assert all(datetime.fromisoformat(r["updated_at"].replace("Z", "+00:00")) > since for r in records)
    assert all(datetime.fromisoformat(r["updated_at"].replace("Z", "+00:00")) <= NOW for r in records)
    later = [r for r in handler.world.shipments_as_of(NOW) if r["updated_at"] > "2026-06-12T18:00:00Z"]
    assert len(records) == len(later)


# -- keyset pagination ------------------------------------------------------------------------------------


def test_a_shipment_updated_between_pages_skips_nothing(world: World, tmp_path: Path) -> None:
    """The clock moves on after the first page: shipments read on it get newer versions and move behind the
    cursor. Offset paging then skipped the records that slid onto the pages already read; keyset paging
    must serve every shipment, each at its latest version, the moved ones twice."""
    clock = tmp_path / "clock.json"
    early, late = datetime(2026, 6, 4, 18, tzinfo=UTC), datetime(2026, 6, 14, 18, tzinfo=UTC)
    _clock(clock, early)
    server = _start(LogisticsAPI(world, clock, throttle_every=0, fail_every=0))
    try:
        client = LogisticsClient(f"http://127.0.0.1:{server.server_address[1]}", page_size=10)
        reader = client.shipments(None)
        first_page = [next(reader) for _ in range(10)]
        _clock(clock, late)  # between two page reads
        rest = list(reader)
    finally:
        server.shutdown()
    at_late = {r["shipment_id"]: r["updated_at"] for r in world.shipments_as_of(late)}
    moved = {r["shipment_id"] for r in first_page if at_late[r["shipment_id"]] != r["updated_at"]}
    assert moved, "the scenario must move shipments that were already read"
    assert len(world.shipments_as_of(early)) > 20  # more than the first page and the next
    read = {(r["shipment_id"], r["updated_at"]) for r in first_page + rest}
    assert {s for s, _ in read} == set(at_late)  # nobody skipped (shipments never disappear)
    assert set(at_late.items()) <= read  # and every shipment at its latest version
    assert moved <= {r["shipment_id"] for r in rest}  # the moved ones came again


def test_the_next_page_starts_after_the_cursor_even_when_records_moved(world: World, tmp_path: Path) -> None:
    clock = tmp_path / "clock.json"
    _clock(clock, datetime(2026, 6, 5, 18, tzinfo=UTC))
    handler = LogisticsAPI(world, clock, throttle_every=0, fail_every=0)
    status, _, first = handler.handle("/v1/shipments?page_size=3")
    assert status == 200
    page = first["data"]
    assert isinstance(page, list) and len(page) == 3
    cursor = str(first["next_cursor"])
    assert decode_cursor(cursor) == (_utc(page[-1]["updated_at"]), page[-1]["shipment_id"])
    _clock(clock, datetime(2026, 6, 15, 18, tzinfo=UTC))
    rows = world.shipments_as_of(datetime(2026, 6, 15, 18, tzinfo=UTC))
    rows.sort(key=lambda r: (_utc(r["updated_at"]), r["shipment_id"]))
    after = [r for r in rows if (_utc(r["updated_at"]), r["shipment_id"]) > decode_cursor(cursor)]
    _, _, second = handler.handle(f"/v1/shipments?page_size=3&cursor={cursor}")
    assert second["data"] == after[:3]
    assert second["data"] != rows[3:6]  # what offset paging would have served
    moved = [r for r in page if r["shipment_id"] in {a["shipment_id"] for a in after}]
    assert moved  # read on the first page, updated since: served again further on


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("cursor=not-a-cursor", "malformed cursor"),
        ("cursor=" + encode_cursor("yesterday", "SHP1"), "malformed cursor"),
        ("cursor=W10", "malformed cursor"),  # "[]"
        ("page=2", "unknown query parameter.*page.*next_cursor"),
        ("page_size=0", "page_size"),
        ("page_size=ten", "page_size"),
        ("updated_since=2026-06-01T00:00:00", "UTC offset"),
        ("page_size=5&page_size=6", "more than once"),
    ],
)
def test_bad_queries_are_answered_400(world: World, tmp_path: Path, query: str, message: str) -> None:
    clock = tmp_path / "clock.json"
    _clock(clock, NOW)
    status, _, body = LogisticsAPI(world, clock, throttle_every=0, fail_every=0).handle(
        f"/v1/shipments?{query}"
    )
    assert status == 400
    assert re.search(message, str(body["error"]))


def test_client_reports_a_400_with_the_apis_reason(world: World, tmp_path: Path) -> None:
    clock = tmp_path / "clock.json"
    _clock(clock, NOW)
    server = _start(LogisticsAPI(world, clock, throttle_every=0, fail_every=0))
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        client = LogisticsClient(url, sleep=lambda _: None)
        with pytest.raises(LogisticsAPIError, match=r"HTTP 400 Bad Request: malformed cursor") as info:
            client._get(f"{url}/v1/shipments?cursor=%21%21")
        assert url in str(info.value)
    finally:
        server.shutdown()


# -- Retry-After ----------------------------------------------------------------------------------------


def test_the_simulator_sends_retry_after_in_seconds_and_as_an_http_date(world: World, tmp_path: Path) -> None:
    clock = tmp_path / "clock.json"
    _clock(clock, NOW)
    handler = LogisticsAPI(world, clock, throttle_every=1, fail_every=0)
    forms = [handler.handle("/v1/shipments") for _ in range(4)]
    assert [status for status, _, _ in forms] == [429] * 4
    assert [headers["Retry-After"] for _, headers, _ in forms][::2] == ["1", "1"]
    for _, headers, _ in forms[1::2]:
        assert headers["Retry-After"].endswith(" GMT") and "Date" in headers
        assert retry_after_seconds(headers) == 2.0


def _scripted(responses: list[tuple[int, dict[str, str], bytes]]) -> ThreadingHTTPServer:
    """A server answering with ``responses`` in turn (then the last one again)."""
    queue = list(responses)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, headers, body = queue.pop(0) if len(queue) > 1 else queue[0]
            self.send_response_only(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


EMPTY_PAGE = b'{"data": [], "page_size": 200, "next_cursor": null}'
SERVED = 1_780_000_000  # the scripted server's Date, as a Unix time


@pytest.mark.parametrize(
    ("headers", "wait"),
    [
        ({"Retry-After": "7"}, 7.0),
        ({"Retry-After": "600"}, 60.0),  # capped
        ({"Date": formatdate(SERVED, usegmt=True), "Retry-After": formatdate(SERVED + 5, usegmt=True)}, 5.0),
        (
            {"Date": formatdate(SERVED, usegmt=True), "Retry-After": formatdate(SERVED + 3600, usegmt=True)},
            60.0,
        ),
        ({"Date": formatdate(SERVED, usegmt=True), "Retry-After": formatdate(SERVED - 30, usegmt=True)}, 0.0),
        ({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0),  # long past by our own clock: never negative
        ({"Retry-After": "soon"}, 0.5),  # unreadable: exponential backoff
        ({}, 0.5),
    ],
)
def test_retry_after_seconds_or_http_date_is_honoured(headers: dict[str, str], wait: float) -> None:
    server = _scripted([(429, headers, b'{"error": "slow down"}'), (200, {}, EMPTY_PAGE)])
    try:
        waits: list[float] = []
        client = LogisticsClient(f"http://127.0.0.1:{server.server_address[1]}", sleep=waits.append)
        assert list(client.shipments(None)) == []
        assert waits == [wait] and client.retries == 1
    finally:
        server.shutdown()


def test_an_http_date_without_a_date_header_counts_from_our_clock() -> None:
    soon = formatdate((datetime.now(UTC) + timedelta(seconds=30)).timestamp(), usegmt=True)
    assert 25 <= (retry_after_seconds({"Retry-After": soon}) or 0) <= 30


def test_5xx_backs_off_exponentially() -> None:
    server = _scripted([(503, {}, b"{}"), (500, {}, b"{}"), (502, {}, b"{}"), (200, {}, EMPTY_PAGE)])
    try:
        waits: list[float] = []
        client = LogisticsClient(f"http://127.0.0.1:{server.server_address[1]}", sleep=waits.append)
        assert list(client.shipments(None)) == []
        assert waits == [0.5, 1.0, 2.0]
    finally:
        server.shutdown()


# -- garbage and outages ---------------------------------------------------------------------------------


def _serve(body: bytes, status: int = 200) -> ThreadingHTTPServer:
    return _scripted([(status, {}, body)])


def _record(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        name: None
        for name in [
            "order_id", "order_item", "delivery_id", "customer_id", "mode", "carrier", "port_of_loading",
            "port_of_discharge", "etd_planned", "eta_planned", "etd_actual", "eta_actual", "vessel", "voyage",
            "bl_number", "status",
        ]
    }  # fmt: skip
    base.update(
        shipment_id="SHP1",
        updated_at="2026-06-02T00:00:00Z",
        created_at="2026-06-01T00:00:00Z",
        containers=[],
        events=[],
        plan_revisions=[],
    )
    base.update(changes)
    return {k: v for k, v in base.items() if v != "<absent>"}


def _page(*records: dict[str, object]) -> bytes:
    return json.dumps({"data": list(records), "page_size": 200, "next_cursor": None}).encode()


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (b"<html>oops</html>", 200, "not JSON"),
        (b'{"items": []}', 200, "no 'data' list"),
        (b'{"data": [], "page": 1, "next_page": 2}', 200, "no 'next_cursor'"),
        (b'{"data": [{"id": 1}], "next_cursor": null}', 200, "lacks required field.*shipment_id, updated_at"),
        (
            _page(_record(created_at="<absent>")),
            200,
            r"shipment 'SHP1'\) lacks required field\(s\) created_at",
        ),
        (_page(_record(plan_revisions="<absent>")), 200, r"lacks required field\(s\) plan_revisions"),
        (_page(_record(updated_at="yesterday")), 200, "updated_at is not an ISO-8601"),
        (_page(_record(), _record(shipment_id="")), 200, "record 1 .* no usable shipment_id"),
        (b'{"data": [1], "next_cursor": null}', 200, "record 0 is not an object"),
        (b'{"data": [], "next_cursor": "abc"}', 200, "next_cursor does not advance"),
        (b"{}", 404, "HTTP 404"),
        (b"{}", 503, "HTTP 503 after 3 attempts"),
    ],
)
def test_garbage_fails_with_the_url_and_reason(body: bytes, status: int, message: str) -> None:
    server = _serve(body, status)
    try:
        client = LogisticsClient(
            f"http://127.0.0.1:{server.server_address[1]}", max_attempts=3, sleep=lambda _: None
        )
        with pytest.raises(LogisticsAPIError, match=message) as info:
            list(client.shipments(None))
        assert f"127.0.0.1:{server.server_address[1]}/v1/shipments?" in str(info.value)
    finally:
        server.shutdown()


def test_unreachable_api_fails_after_retries(tmp_path: Path) -> None:
    from tests.conftest import free_port

    client = LogisticsClient(f"http://127.0.0.1:{free_port()}", max_attempts=2, sleep=lambda _: None)
    with pytest.raises(LogisticsAPIError, match="unreachable after 2 attempts"):
        list(client.shipments(None))


def test_a_naive_updated_since_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        list(LogisticsClient("http://127.0.0.1:9").shipments(datetime(2026, 6, 1)))


# -- what the simulator serves --------------------------------------------------------------------------


def test_shipments_without_events_yet_are_served(world: World, tmp_path: Path) -> None:
    booked_unconfirmed = [s for s in world.shipments if not s.versions[0][1]["events"]]
    assert booked_unconfirmed, "some bookings wait for the carrier's confirmation"
    clock = tmp_path / "clock.json"
    now = booked_unconfirmed[len(booked_unconfirmed) // 2].versions[0][0] + timedelta(minutes=1)
    _clock(clock, now)
    waiting = [r for r in world.shipments_as_of(now) if not r["events"]]
    assert waiting
    server = _start(LogisticsAPI(world, clock, throttle_every=0, fail_every=0))
    try:
        client = LogisticsClient(f"http://127.0.0.1:{server.server_address[1]}", page_size=7)
        records = {r["shipment_id"]: r for r in client.shipments(None)}
    finally:
        server.shutdown()
    for shipment in waiting:
        served = records[shipment["shipment_id"]]
        assert served["events"] == [] and served["status"] == "REQUESTED"
        assert served["created_at"] == served["updated_at"] == served["plan_revisions"][0]["revised_at"]
    # every shipment has its booking time, no later than any version of it
    assert all(r["created_at"] <= r["updated_at"] for r in records.values())


def _utc(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_plan_revisions_are_the_plan_history_and_cumulative(world: World) -> None:
    cutoffs = [
        datetime.combine(CFG.start, datetime.min.time(), tzinfo=UTC) + timedelta(days=d) for d in range(90)
    ]
    history: dict[str, list[dict[str, object]]] = {}
    for cutoff in cutoffs:
        for shipment in world.shipments_as_of(cutoff):
            revisions = shipment["plan_revisions"]
            earlier = history.get(shipment["shipment_id"], [])
            assert revisions[: len(earlier)] == earlier  # cumulative: history never rewritten
            history[shipment["shipment_id"]] = revisions
            first, last = revisions[0], revisions[-1]
            assert first["revised_at"] == shipment["created_at"] and first["reason"] is None
            assert (last["etd_planned"], last["eta_planned"]) == (
                shipment["etd_planned"],
                shipment["eta_planned"],
            )
            stamps = [_utc(r["revised_at"]) for r in revisions]
            assert stamps == sorted(set(stamps)) and stamps[-1] <= _utc(shipment["updated_at"]) <= cutoff
            assert all(r["reason"] for r in revisions[1:])
            pairs = [(r["etd_planned"], r["eta_planned"]) for r in revisions]
            assert all(a != b for a, b in itertools.pairwise(pairs))
    final = world.shipments_as_of(cutoffs[-1])
    # realistic: some shipments are never revised before departure, others 1-3 times, always in advance
    before_departure = {}
    for shipment in final:
        revisions = [r for r in shipment["plan_revisions"][1:] if r["reason"] != "ETA_ON_DEPARTURE"]
        before_departure[shipment["shipment_id"]] = len(revisions)
        departed = [e["at"] for e in shipment["events"] if e["code"] == "DEPARTED"]
        for revision in revisions:
            assert date.fromisoformat(revision["etd_planned"]) > _utc(revision["revised_at"]).date()
            assert not departed or _utc(revision["revised_at"]) < _utc(departed[0])
    counts = set(before_departure.values())
    assert {0, 1, 2} <= counts <= {0, 1, 2, 3}
    # the overdue ("slipped") orders keep their revision: ETD 10 days later, cargo not ready
    overdue = {
        c.entity_key for c in world.cases if c.rule_id == RULE_ORDER_OVERDUE and c.note == "never delivered"
    }
    slipped = [s for s in final if f"{s['order_id']}-{s['order_item']}" in overdue]
    assert slipped
    for shipment in slipped:
        original, revised = shipment["plan_revisions"][0], shipment["plan_revisions"][-1]
        assert revised["reason"] == "CARGO_NOT_READY"
        slip = date.fromisoformat(revised["etd_planned"]) - date.fromisoformat(original["etd_planned"])
        assert slip == timedelta(days=10)
