"""The forwarder's (TMS) REST API, served by the simulator on 127.0.0.1.

``GET /v1/shipments?updated_since=<ISO-8601>&cursor=<token>&page_size=<k>`` returns the shipments changed
after ``updated_since`` (exclusive) as the forwarder knew them at the simulator's clock, in
``(updated_at, shipment_id)`` order, one page at a time::

    {"data": [...], "page_size": 200, "next_cursor": "WyIyMDI2LTA2LTAx..."}

Paging is by keyset, not offset: ``next_cursor`` is an opaque token for the last record served (its
``updated_at`` and ``shipment_id``) and the next page starts strictly after it. A shipment updated while a
client pages moves behind the cursor and is served again later (clients deduplicate); no other record
shifts, so none is skipped. ``next_cursor`` is ``null`` on the last page. A malformed cursor or an unknown
parameter (such as the retired ``page``) is answered with HTTP 400.

Each shipment carries ``created_at`` (the booking) and ``plan_revisions``: every ETD/ETA plan up to its
version, oldest first, the first being the plan at booking. The contract is the OpenAPI 3.1 document
``logistics_openapi.yaml`` next to this module, served at ``GET /openapi.json``.

Like a real API it is rate-limited (HTTP 429 with ``Retry-After``, alternately in seconds and as an HTTP
date) and now and then fails (HTTP 503); both happen deterministically every N requests so that clients'
retries are exercised.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import json
import threading
import time
from datetime import datetime
from email.utils import formatdate
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

from o2c.simulate.world import World

PAGE_SIZE_DEFAULT = 200
PAGE_SIZE_MAX = 500
PARAMETERS = frozenset({"updated_since", "cursor", "page_size"})
RETRY_AFTER_SECONDS = 1
"""How long a throttled client is asked to wait: as ``Retry-After: 1`` or as an HTTP date this far on..."""
RETRY_AFTER_DATE_SECONDS = 2
"""... or as an HTTP date this many seconds after the response's ``Date`` (so tests can tell them apart)."""


@cache
def openapi_document() -> dict[str, Any]:
    """The API's OpenAPI 3.1 description (``logistics_openapi.yaml``, packaged with this module)."""
    text = files("o2c.simulate").joinpath("logistics_openapi.yaml").read_text(encoding="utf-8")
    document: dict[str, Any] = yaml.safe_load(text)
    return document


def _parse_ts(value: str) -> datetime:
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"{value!r} has no UTC offset")
    return moment


def encode_cursor(updated_at: str, shipment_id: str) -> str:
    """The opaque token for "after this record": urlsafe base64 of ``[updated_at, shipment_id]``."""
    raw = json.dumps([updated_at, shipment_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str) -> tuple[datetime, str]:
    """``(updated_at, shipment_id)`` of a token from :func:`encode_cursor`; ``ValueError`` if malformed."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        updated_at, shipment_id = json.loads(raw)
        if not isinstance(updated_at, str) or not isinstance(shipment_id, str) or not shipment_id:
            raise TypeError("not a pair of strings")
        return _parse_ts(updated_at), shipment_id
    except (ValueError, TypeError, binascii.Error) as exc:
        raise ValueError(f"malformed cursor {token[:60]!r}: pass back a next_cursor as received") from exc


class LogisticsAPI:
    """Request handling independent of the HTTP plumbing (also used directly by tests)."""

    def __init__(self, world: World, clock_file: Path, throttle_every: int = 9, fail_every: int = 13) -> None:
        self.world = world
        self.identity = str(clock_file.parent.resolve())
        self.clock_file = clock_file
        self.throttle_every = throttle_every
        self.fail_every = fail_every
        self.requests = 0
        self.throttled = 0
        self.lock = threading.Lock()
        self._cache: tuple[str, list[dict[str, object]], list[tuple[datetime, str]]] | None = None

    def now(self) -> datetime:
        return _parse_ts(json.loads(self.clock_file.read_text())["now"])

    def _snapshot(self) -> tuple[list[dict[str, object]], list[tuple[datetime, str]]]:
        """The shipments at the clock, sorted by ``(updated_at, shipment_id)``, and those sort keys."""
        stamp = self.clock_file.read_text()
        if self._cache is None or self._cache[0] != stamp:
            keyed = [
                ((_parse_ts(str(r["updated_at"])), str(r["shipment_id"])), r)
                for r in self.world.shipments_as_of(self.now())
            ]
            keyed.sort(key=lambda pair: pair[0])
            self._cache = (stamp, [r for _, r in keyed], [k for k, _ in keyed])
        return self._cache[1], self._cache[2]

    def _throttle_headers(self) -> dict[str, str]:
        """``Retry-After`` in seconds, and every other time as an HTTP date (RFC 9110 §10.2.3)."""
        with self.lock:
            self.throttled += 1
            as_date = self.throttled % 2 == 0
        if not as_date:
            return {"Retry-After": str(RETRY_AFTER_SECONDS)}
        now = int(time.time())  # the response's Date is this same second, so the wait is exact
        return {
            "Date": formatdate(now, usegmt=True),
            "Retry-After": formatdate(now + RETRY_AFTER_DATE_SECONDS, usegmt=True),
        }

    def handle(self, path: str) -> tuple[int, dict[str, str], dict[str, object]]:
        parts = urlsplit(path)
        if parts.path == "/healthz":
            return 200, {}, {"status": "ok", "simulation": self.identity}
        if parts.path == "/openapi.json":
            return 200, {}, openapi_document()
        if parts.path != "/v1/shipments":
            return 404, {}, {"error": f"no such resource: {parts.path}"}
        with self.lock:
            self.requests += 1
            n = self.requests
        if self.throttle_every and n % self.throttle_every == 0:
            return 429, self._throttle_headers(), {"error": "rate limit exceeded"}
        if self.fail_every and n % self.fail_every == 0:
            return 503, {}, {"error": "upstream timeout"}
        query = parse_qs(parts.query, keep_blank_values=True)
        unknown = sorted(set(query) - PARAMETERS)
        if unknown:
            hint = " (offset paging was retired: follow next_cursor)" if "page" in unknown else ""
            return 400, {}, {"error": f"unknown query parameter(s): {', '.join(unknown)}{hint}"}
        repeated = sorted(name for name, values in query.items() if len(values) > 1)
        if repeated:
            return 400, {}, {"error": f"query parameter(s) given more than once: {', '.join(repeated)}"}
        try:
            since = _parse_ts(query["updated_since"][0]) if "updated_since" in query else None
        except ValueError as exc:
            return 400, {}, {"error": f"bad updated_since (ISO-8601 with a UTC offset): {exc}"}
        try:
            size = min(int(query.get("page_size", [str(PAGE_SIZE_DEFAULT)])[0]), PAGE_SIZE_MAX)
        except ValueError as exc:
            return 400, {}, {"error": f"bad page_size: {exc}"}
        if size < 1:
            return 400, {}, {"error": f"page_size must be between 1 and {PAGE_SIZE_MAX}"}
        try:
            after = decode_cursor(query["cursor"][0]) if "cursor" in query else None
        except ValueError as exc:
            return 400, {}, {"error": str(exc)}
        with self.lock:
            rows, keys = self._snapshot()
        start = 0
        if since is not None:  # exclusive: skip every record updated at or before ``since``
            start = bisect.bisect_right(keys, since, key=lambda k: k[0])
        if after is not None:  # strictly after the cursor's record, which may have moved on since
            start = max(start, bisect.bisect_right(keys, after))
        chunk = rows[start : start + size]
        more = start + size < len(rows)
        last = chunk[-1] if chunk else None
        return (
            200,
            {},
            {
                "data": chunk,
                "page_size": size,
                "next_cursor": (
                    encode_cursor(str(last["updated_at"]), str(last["shipment_id"]))
                    if more and last
                    else None
                ),
            },
        )


def make_server(api: LogisticsAPI, port: int, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, headers, body = api.handle(self.path)
            payload = json.dumps(body, ensure_ascii=False).encode()
            headers = dict(headers)
            self.send_response_only(status)
            self.send_header("Server", self.version_string())
            self.send_header("Date", headers.pop("Date", "") or self.date_time_string())
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:
            return

    return ThreadingHTTPServer((host, port), Handler)
