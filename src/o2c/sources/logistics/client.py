"""Read the forwarder's shipment API: keyset-paginated (``cursor``), filtered by ``updated_since``, retried.

Pages follow ``next_cursor`` until it is null. A shipment updated while we page comes back on a later page
(the caller deduplicates on ``(shipment_id, updated_at)``); nothing is skipped.

HTTP 429 waits for ``Retry-After``, given either in seconds or as an HTTP date (RFC 9110 §10.2.3, measured
from the response's ``Date``), capped at 60 s and never negative; 5xx, timeouts and refused connections
back off exponentially (or wait for a 503's ``Retry-After``). Anything else (4xx, a body that is not the
expected JSON, a record lacking a required field) fails at once with the URL and the reason.
"""

from __future__ import annotations

import contextlib
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from email.message import Message
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode

PAGE_SIZE_MAX = 500
RETRY_AFTER_CAP = 60.0
"""Longest wait the client accepts from ``Retry-After`` (seconds)."""

REQUIRED_FIELDS = (
    "shipment_id",
    "updated_at",
    "created_at",
    "order_id",
    "order_item",
    "delivery_id",
    "customer_id",
    "mode",
    "carrier",
    "port_of_loading",
    "port_of_discharge",
    "etd_planned",
    "eta_planned",
    "etd_actual",
    "eta_actual",
    "vessel",
    "voyage",
    "bl_number",
    "containers",
    "status",
    "events",
    "plan_revisions",
)
"""Fields every shipment carries (the API contract's ``Shipment.required``; some may be null)."""


class LogisticsAPIError(RuntimeError):
    """The API could not be read; the message names the URL and the reason."""


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError(f"updated_since must be timezone-aware, got {moment!r}")
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def retry_after_seconds(headers: Mapping[str, str] | Message | None) -> float | None:
    """The wait a ``Retry-After`` header asks for, in seconds within ``[0, RETRY_AFTER_CAP]``; ``None`` if
    the header is absent or unreadable.

    An HTTP date is measured from the response's ``Date`` header (the server's clock, so clock skew does not
    matter), or from our clock if the response has none.
    """
    value = headers.get("Retry-After") if headers is not None else None
    if value is None or not str(value).strip():
        return None
    value = str(value).strip()
    try:
        wait = float(value)
    except ValueError:
        try:
            target = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        reference = datetime.now(UTC)
        served = headers.get("Date") if headers is not None else None
        if served:
            with contextlib.suppress(TypeError, ValueError, IndexError):
                reference = _aware(parsedate_to_datetime(str(served)))
        wait = (_aware(target) - reference).total_seconds()
    if wait != wait:  # NaN
        return None
    return min(max(wait, 0.0), RETRY_AFTER_CAP)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class LogisticsClient:
    def __init__(
        self,
        base_url: str,
        page_size: int = 200,
        max_attempts: int = 6,
        timeout: float = 30,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.page_size = max(1, min(page_size, PAGE_SIZE_MAX))
        self.max_attempts = max_attempts
        self.timeout = timeout
        self.sleep = sleep
        self.retries = 0

    def _get(self, url: str) -> dict[str, Any]:
        delay = 0.5
        for attempt in range(1, self.max_attempts + 1):
            try:
                with urllib.request.urlopen(url, timeout=self.timeout) as response:  # noqa: S310
                    body = response.read()
                break
            except urllib.error.HTTPError as exc:
                if exc.code == 429 or exc.code >= 500:
                    if attempt == self.max_attempts:
                        raise LogisticsAPIError(f"{url}: HTTP {exc.code} after {attempt} attempts") from exc
                    retry_after = retry_after_seconds(exc.headers) if exc.code in (429, 503) else None
                    self.retries += 1
                    self.sleep(retry_after if retry_after is not None else delay)
                    delay *= 2
                    continue
                raise LogisticsAPIError(f"{url}: HTTP {exc.code} {_reason(exc)}") from exc
            except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
                if attempt == self.max_attempts:
                    raise LogisticsAPIError(f"{url}: unreachable after {attempt} attempts ({exc})") from exc
                self.retries += 1
                self.sleep(delay)
                delay *= 2
        try:
            payload = json.loads(body)
        except ValueError as exc:
            raise LogisticsAPIError(f"{url}: response is not JSON ({exc})") from exc
        if not isinstance(payload, dict) or not isinstance(payload.get("data"), list):
            raise LogisticsAPIError(f"{url}: response has no 'data' list")
        if "next_cursor" not in payload:
            raise LogisticsAPIError(f"{url}: response has no 'next_cursor' (not a cursor-paginated API?)")
        return payload

    def shipments(self, updated_since: datetime | None) -> Iterator[dict[str, Any]]:
        """Every shipment changed after ``updated_since`` (all when ``None``), page by page; a shipment
        changed while we read may come twice (two versions, or the same version again)."""
        cursor: str | None = None
        while True:
            query: dict[str, Any] = {"page_size": self.page_size}
            if updated_since is not None:
                query["updated_since"] = _iso(updated_since)
            if cursor is not None:
                query["cursor"] = cursor
            url = f"{self.base_url}/v1/shipments?{urlencode(query)}"
            payload = self._get(url)
            for index, record in enumerate(payload["data"]):
                _check_record(url, index, record)
                yield record
            next_cursor = payload["next_cursor"]
            if next_cursor is None:
                return
            if not isinstance(next_cursor, str) or not next_cursor:
                raise LogisticsAPIError(f"{url}: next_cursor is not a token: {next_cursor!r:.100}")
            if next_cursor == cursor or not payload["data"]:
                raise LogisticsAPIError(f"{url}: next_cursor does not advance ({next_cursor!r:.100})")
            cursor = next_cursor


def _reason(exc: urllib.error.HTTPError) -> str:
    """The HTTP reason, with the API's ``{"error": ...}`` message when it sent one."""
    try:
        detail = json.loads(exc.read()).get("error")
    except (ValueError, AttributeError, OSError):
        detail = None
    return f"{exc.reason}: {detail}" if detail else str(exc.reason)


def _check_record(url: str, index: int, record: object) -> None:
    if not isinstance(record, dict):
        raise LogisticsAPIError(f"{url}: record {index} is not an object: {record!r:.200}")
    missing = [name for name in REQUIRED_FIELDS if name not in record]
    label = f"record {index} (shipment {record.get('shipment_id')!r})"
    if missing:
        raise LogisticsAPIError(
            f"{url}: {label} lacks required field(s) {', '.join(missing)}: {record!r:.200}"
        )
    if not isinstance(record["shipment_id"], str) or not record["shipment_id"]:
        raise LogisticsAPIError(f"{url}: {label} has no usable shipment_id")
    for name in ("updated_at", "created_at"):
        value = record[name]
        try:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            moment = None
        if not isinstance(value, str) or moment is None or moment.tzinfo is None:
            raise LogisticsAPIError(f"{url}: {label} field {name} is not an ISO-8601 UTC time: {value!r:.60}")
