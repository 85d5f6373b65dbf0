"""The forwarder's (TMS) REST API, served by the simulator on 127.0.0.1.

``GET /v1/shipments?updated_since=<ISO-8601>&page=<n>&page_size=<k>`` returns shipments changed after
``updated_since`` as the forwarder knew them at the simulator's clock, oldest change first::

    {"data": [...], "page": 1, "page_size": 200, "total": 1234, "next_page": 2}

Like a real API it is rate-limited (HTTP 429 with ``Retry-After``) and now and then fails (HTTP 503);
both happen deterministically every N requests so that clients' retries are exercised.
"""

from __future__ import annotations

import json
import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from o2c.simulate.world import World


def _parse_ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class LogisticsAPI:
    """Request handling independent of the HTTP plumbing (also used directly by tests)."""

    def __init__(self, world: World, clock_file: Path, throttle_every: int = 9, fail_every: int = 13) -> None:
        self.world = world
        self.identity = str(clock_file.parent.resolve())
        self.clock_file = clock_file
        self.throttle_every = throttle_every
        self.fail_every = fail_every
        self.requests = 0
        self.lock = threading.Lock()
        self._cache: tuple[str, list[dict[str, object]]] | None = None

    def now(self) -> datetime:
        return _parse_ts(json.loads(self.clock_file.read_text())["now"])

    def _snapshot(self) -> list[dict[str, object]]:
        stamp = self.clock_file.read_text()
        if self._cache is None or self._cache[0] != stamp:
            rows = self.world.shipments_as_of(self.now())
            rows.sort(key=lambda r: (str(r["updated_at"]), str(r["shipment_id"])))
            self._cache = (stamp, rows)
        return self._cache[1]

    def handle(self, path: str) -> tuple[int, dict[str, str], dict[str, object]]:
        parts = urlsplit(path)
        if parts.path == "/healthz":
            return 200, {}, {"status": "ok", "simulation": self.identity}
        if parts.path != "/v1/shipments":
            return 404, {}, {"error": f"no such resource: {parts.path}"}
        with self.lock:
            self.requests += 1
            n = self.requests
        if self.throttle_every and n % self.throttle_every == 0:
            return 429, {"Retry-After": "1"}, {"error": "rate limit exceeded"}
        if self.fail_every and n % self.fail_every == 0:
            return 503, {}, {"error": "upstream timeout"}
        query = parse_qs(parts.query)
        try:
            since = _parse_ts(query["updated_since"][0]) if "updated_since" in query else None
            page = int(query.get("page", ["1"])[0])
            size = min(int(query.get("page_size", ["200"])[0]), 500)
        except ValueError as exc:
            return 400, {}, {"error": f"bad query: {exc}"}
        if page < 1 or size < 1:
            return 400, {}, {"error": "page and page_size must be positive"}
        with self.lock:
            rows = self._snapshot()
        if since is not None:
            rows = [r for r in rows if _parse_ts(str(r["updated_at"])) > since]
        start = (page - 1) * size
        chunk = rows[start : start + size]
        more = start + size < len(rows)
        return (
            200,
            {},
            {
                "data": chunk,
                "page": page,
                "page_size": size,
                "total": len(rows),
                "next_page": page + 1 if more else None,
            },
        )


def make_server(api: LogisticsAPI, port: int, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, headers, body = api.handle(self.path)
            payload = json.dumps(body, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:
            return

    return ThreadingHTTPServer((host, port), Handler)
