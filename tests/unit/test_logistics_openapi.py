"""The forwarder API's OpenAPI document: valid, served, and obeyed by both sides of the real traffic.

A recording proxy sits between the client and the simulator's HTTP server: every request the client sends
and every response the server returns (200, 400, 429 in both ``Retry-After`` forms, 503) is validated
against the document with openapi-core.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from openapi_core import OpenAPI
from openapi_core.exceptions import OpenAPIError
from openapi_core.testing import MockRequest, MockResponse
from openapi_spec_validator import validate

import o2c.simulate
from o2c.simulate.logistics_api import LogisticsAPI, make_server, openapi_document
from o2c.simulate.world import SimConfig, World, build_world
from o2c.sources.logistics.client import REQUIRED_FIELDS, LogisticsAPIError, LogisticsClient

SPEC_FILE = Path(o2c.simulate.__file__).with_name("logistics_openapi.yaml")
NOW = datetime(2026, 6, 12, 18, tzinfo=UTC)


@dataclass
class Exchange:
    path: str
    status: int
    headers: Message
    body: bytes


@pytest.fixture(scope="module")
def spec() -> dict[str, object]:
    document: dict[str, object] = yaml.safe_load(SPEC_FILE.read_text(encoding="utf-8"))
    return document


@pytest.fixture(scope="module")
def openapi(spec: dict[str, object]) -> OpenAPI:
    return OpenAPI.from_dict(spec)


@pytest.fixture(scope="module")
def world() -> World:
    return build_world(SimConfig(seed=5, days=15, customers=10, lines_per_day=10.0))


def _proxy(upstream: str, log: list[Exchange]) -> ThreadingHTTPServer:
    """Forward GETs to ``upstream`` unchanged, recording each request path and response."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            try:
                with urllib.request.urlopen(upstream + self.path) as response:  # noqa: S310
                    status, headers, body = response.status, response.headers, response.read()
            except urllib.error.HTTPError as exc:
                status, headers, body = exc.code, exc.headers, exc.read()
            log.append(Exchange(self.path, status, headers, body))
            self.send_response_only(status)
            for key, value in headers.items():
                if key.lower() not in {"connection", "transfer-encoding"}:
                    self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="module")
def traffic(world: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[Exchange]]]:
    """The client reading everything (and since a moment) through the recording proxy."""
    clock = tmp_path_factory.mktemp("sim") / "clock.json"
    clock.write_text(json.dumps({"now": NOW.isoformat()}))
    api = make_server(LogisticsAPI(world, clock, throttle_every=3, fail_every=5), 0)
    threading.Thread(target=api.serve_forever, daemon=True).start()
    log: list[Exchange] = []
    proxy = _proxy(f"http://127.0.0.1:{api.server_address[1]}", log)
    url = f"http://127.0.0.1:{proxy.server_address[1]}"
    try:
        client = LogisticsClient(url, page_size=20, sleep=lambda _: None)
        assert len(list(client.shipments(None))) == len(world.shipments_as_of(NOW))
        assert list(
            LogisticsClient(url, page_size=500, sleep=lambda _: None).shipments(NOW - timedelta(days=2))
        )
        with pytest.raises(LogisticsAPIError, match="HTTP 400"):  # a cursor the API never issued
            LogisticsClient(url, max_attempts=9, sleep=lambda _: None)._get(
                f"{url}/v1/shipments?cursor=eyJ4Ijo"
            )
        yield url, log
    finally:
        proxy.shutdown()
        api.shutdown()


def _request(url: str, path: str) -> MockRequest:
    parts = urlsplit(path)
    return MockRequest(url, "GET", parts.path, args=parse_qs(parts.query, keep_blank_values=True))


def _response(exchange: Exchange, body: bytes | None = None, **headers: str) -> MockResponse:
    merged = {**dict(exchange.headers.items()), **headers}
    return MockResponse(
        exchange.body if body is None else body,
        status_code=exchange.status,
        headers={k: v for k, v in merged.items() if v != "<absent>"},
        content_type=exchange.headers.get_content_type(),
    )


def test_the_document_is_valid_openapi_3(spec: dict[str, object]) -> None:
    validate(spec)
    assert str(spec["openapi"]).startswith("3.")


def test_the_simulator_serves_the_packaged_document(spec: dict[str, object], tmp_path: Path) -> None:
    clock = tmp_path / "clock.json"
    clock.write_text(json.dumps({"now": NOW.isoformat()}))
    server = make_server(LogisticsAPI(build_world(SimConfig(days=2, customers=3)), clock), 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.server_address[1]}/openapi.json") as response:
            assert json.loads(response.read()) == spec == openapi_document()
    finally:
        server.shutdown()


def test_the_client_requires_exactly_the_documented_fields(spec: dict[str, object]) -> None:
    shipment = spec["components"]["schemas"]["Shipment"]  # type: ignore[index]
    assert sorted(REQUIRED_FIELDS) == sorted(shipment["required"])
    assert set(shipment["required"]) <= set(shipment["properties"])


def test_every_request_and_response_matches_the_document(openapi: OpenAPI, traffic) -> None:
    url, log = traffic
    assert {e.status for e in log} == {200, 400, 429, 503}
    retry_after = [e.headers["Retry-After"] for e in log if e.status == 429]
    assert any(v.isdigit() for v in retry_after) and any(v.endswith(" GMT") for v in retry_after)
    assert any("cursor=" in e.path for e in log if e.status == 200)
    assert any("updated_since=" in e.path for e in log if e.status == 200)
    for exchange in log:
        request = _request(url, exchange.path)
        openapi.validate_request(request)
        openapi.validate_response(request, _response(exchange))


def _page(log: list[Exchange]) -> Exchange:
    return next(e for e in log if e.status == 200 and json.loads(e.body)["data"])


@pytest.mark.parametrize(
    "breach",
    [
        "record lacks created_at",
        "record lacks plan_revisions",
        "etd_planned is not a string",
        "plan revision lacks revised_at",
        "next_cursor is a number",
        "no next_cursor",
        "429 without Retry-After",
        "Retry-After is neither seconds nor an HTTP date",
    ],
)
def test_a_response_breaking_the_document_is_caught(openapi: OpenAPI, traffic, breach: str) -> None:
    url, log = traffic
    exchange = _page(log)
    body = json.loads(exchange.body)
    record = body["data"][0]
    headers: dict[str, str] = {}
    if breach == "record lacks created_at":
        del record["created_at"]
    elif breach == "record lacks plan_revisions":
        del record["plan_revisions"]
    elif breach == "etd_planned is not a string":
        record["etd_planned"] = 20260701
    elif breach == "plan revision lacks revised_at":
        del record["plan_revisions"][0]["revised_at"]
    elif breach == "next_cursor is a number":
        body["next_cursor"] = 2
    elif breach == "no next_cursor":
        del body["next_cursor"]
    else:
        exchange = next(e for e in log if e.status == 429)
        headers["Retry-After"] = "<absent>" if breach.startswith("429") else "in a while"
    request = _request(url, exchange.path)
    response = _response(exchange, None if headers else json.dumps(body).encode(), **headers)
    with pytest.raises(OpenAPIError):
        openapi.validate_response(request, response)
    # and the untouched response passes
    openapi.validate_response(request, _response(exchange))


@pytest.mark.parametrize(
    "query", ["cursor=not%20a%20token", "page_size=0", "page_size=501", "updated_since=tomorrow"]
)
def test_a_request_breaking_the_document_is_caught(openapi: OpenAPI, traffic, query: str) -> None:
    url, _ = traffic
    with pytest.raises(OpenAPIError):
        openapi.validate_request(_request(url, f"/v1/shipments?{query}"))


def test_the_client_caps_page_size_to_the_documented_maximum(spec: dict[str, object]) -> None:
    parameters = spec["paths"]["/v1/shipments"]["get"]["parameters"]  # type: ignore[index]
    maximum = next(p["schema"]["maximum"] for p in parameters if p["name"] == "page_size")
    assert LogisticsClient("http://127.0.0.1:9", page_size=10_000).page_size == maximum == 500
