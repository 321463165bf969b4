"""Server-side storage for SMART launches: pending state and access tokens never reach the browser.

The browser holds only an opaque id inside Flask's signed, HttpOnly session cookie. One process
keeps entries in memory; with several workers or hosts, ``CDS_REDIS_URL`` makes them shared.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

_PREFIX = "cds:smart:"


class SessionStore(Protocol):
    def put(self, key: str, value: Mapping[str, Any], ttl: float) -> None: ...

    def get(self, key: str) -> dict[str, Any] | None: ...

    def pop(self, key: str) -> dict[str, Any] | None: ...


class MemorySessionStore:
    """A TTL dictionary guarded by a lock, bounded so a flood of launches cannot exhaust memory."""

    def __init__(
        self, *, max_entries: int = 10_000, clock: Callable[[], float] = time.time
    ) -> None:
        self._entries: dict[str, tuple[float, dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self._max_entries = max_entries
        self._clock = clock

    def put(self, key: str, value: Mapping[str, Any], ttl: float) -> None:
        with self._lock:
            now = self._clock()
            self._entries = {k: v for k, v in self._entries.items() if v[0] > now}
            if len(self._entries) >= self._max_entries:
                oldest = min(self._entries, key=lambda k: self._entries[k][0])
                del self._entries[oldest]
            self._entries[key] = (now + ttl, dict(value))

    def get(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] <= self._clock():
                return None
            return dict(entry[1])

    def pop(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            entry = self._entries.pop(key, None)
        if entry is None or entry[0] <= self._clock():
            return None
        return entry[1]


class RedisSessionStore:
    """The same contract in Redis (values as JSON with a native expiry)."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def put(self, key: str, value: Mapping[str, Any], ttl: float) -> None:
        self._client.set(_PREFIX + key, json.dumps(dict(value)), px=max(1, int(ttl * 1000)))

    def get(self, key: str) -> dict[str, Any] | None:
        return _loads(self._client.get(_PREFIX + key))

    def pop(self, key: str) -> dict[str, Any] | None:
        return _loads(self._client.getdel(_PREFIX + key))


def _loads(raw: Any) -> dict[str, Any] | None:
    if raw is None:
        return None
    value = json.loads(raw)
    return value if isinstance(value, dict) else None


def make_session_store(settings: Mapping[str, Any]) -> SessionStore:
    """Use Redis when configured, else process memory."""
    if settings.get("REDIS_URL"):
        import redis

        return RedisSessionStore(redis.Redis.from_url(settings["REDIS_URL"]))
    return MemorySessionStore()
