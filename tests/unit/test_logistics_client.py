"""The logistics client against the simulator's real HTTP API: pagination, filters, 429/5xx retries."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from o2c.simulate.logistics_api import LogisticsAPI, make_server
from o2c.simulate.world import SimConfig, build_world
from o2c.sources.logistics.client import LogisticsAPIError, LogisticsClient

CFG = SimConfig(seed=3, days=20, customers=12, lines_per_day=10.0)
NOW = datetime(2026, 6, 15, 18, tzinfo=UTC)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, LogisticsAPI]]:
    clock = tmp_path_factory.mktemp("sim") / "clock.json"
    clock.write_text(json.dumps({"now": NOW.isoformat()}))
    handler = LogisticsAPI(build_world(CFG), clock, throttle_every=4, fail_every=7)
    server = make_server(handler, 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
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
    assert client.retries > 0 and 1.0 in waits  # Retry-After honoured


def test_updated_since_returns_only_later_changes(api) -> None:
    url, _ = api
    since = NOW - timedelta(days=3)
    client = LogisticsClient(url, page_size=50, sleep=lambda _: None)
    records = list(client.shipments(since))
    assert records
    assert all(datetime.fromisoformat(r["updated_at"].replace("Z", "+00:00")) > since for r in records)
    assert all(datetime.fromisoformat(r["updated_at"].replace("Z", "+00:00")) <= NOW for r in records)


def _serve(body: bytes, status: int = 200) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(status)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (b"<html>oops</html>", 200, "not JSON"),
        (b'{"items": []}', 200, "no 'data' list"),
        (b'{"data": [{"id": 1}]}', 200, "lacks shipment_id"),
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
        assert "127.0.0.1" in str(info.value)
    finally:
        server.shutdown()


def test_unreachable_api_fails_after_retries(tmp_path: Path) -> None:
    from tests.conftest import free_port

    client = LogisticsClient(f"http://127.0.0.1:{free_port()}", max_attempts=2, sleep=lambda _: None)
    with pytest.raises(LogisticsAPIError, match="unreachable after 2 attempts"):
        list(client.shipments(None))
