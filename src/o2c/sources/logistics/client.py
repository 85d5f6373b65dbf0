"""Read the forwarder's shipment API: paginated, filtered by ``updated_since``, with retries.

HTTP 429 waits for ``Retry-After``; 5xx, timeouts and refused connections back off exponentially.
Anything else (4xx, a body that is not the expected JSON) fails at once with the URL and the reason.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any
from urllib.parse import urlencode


class LogisticsAPIError(RuntimeError):
    """The API could not be read; the message names the URL and the reason."""


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


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
        self.page_size = page_size
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
                    retry_after = exc.headers.get("Retry-After") if exc.code == 429 else None
                    wait = float(retry_after) if retry_after and retry_after.isdigit() else delay
                    self.retries += 1
                    self.sleep(min(wait, 60))
                    delay *= 2
                    continue
                raise LogisticsAPIError(f"{url}: HTTP {exc.code} {exc.reason}") from exc
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
        return payload

    def shipments(self, updated_since: datetime | None) -> Iterator[dict[str, Any]]:
        """Every shipment changed after ``updated_since`` (all when ``None``), page by page."""
        page: int | None = 1
        while page is not None:
            query: dict[str, Any] = {"page": page, "page_size": self.page_size}
            if updated_since is not None:
                query["updated_since"] = _iso(updated_since)
            payload = self._get(f"{self.base_url}/v1/shipments?{urlencode(query)}")
            for record in payload["data"]:
                if not isinstance(record, dict) or "shipment_id" not in record or "updated_at" not in record:
                    raise LogisticsAPIError(
                        f"{self.base_url} page {page}: a record lacks shipment_id/updated_at: {record!r:.200}"
                    )
                yield record
            next_page = payload.get("next_page")
            page = int(next_page) if next_page else None
