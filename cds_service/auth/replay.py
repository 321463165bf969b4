"""JWT ``jti`` replay caches: one in process memory, one in Redis shared by every worker.

A cache remembers a key until the token it came from expires (plus leeway); CONFORMANCE.md
"Trusting the client": a ``jti`` is never accepted twice within the token lifetime.
"""

from __future__ import annotations

import hashlib
import heapq
import logging
import math
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

log = logging.getLogger("cds_service.auth")

REDIS_KEY_PREFIX = "cds:jti:"
DEFAULT_MAX_ENTRIES = 100_000


class ReplayStoreError(Exception):
    """The cache cannot answer (full, or its store is down): the token must be refused."""


class ReplayCache(Protocol):
    def first_use(self, key: str, expires_at: float) -> bool:
        """Record ``key`` until ``expires_at``; True if it was new, False if it is a replay."""
        ...


class MemoryReplayCache:
    """Thread-safe, bounded, per-process cache (one gunicorn worker sees only its own tokens).

    A remembered key costs one object, the key itself: expiry times are whole seconds, rounded
    up (a key is never forgotten early), and every key that expires in the same second shares
    one bucket. Objects that outlive a call stay scattered among the memory later calls
    allocate: with three of them per call (key, expiry, heap entry) a 1,000-resource call was
    1-3 % slower in paired runs than with one (bench/README.md).
    """

    def __init__(
        self, *, max_entries: int = DEFAULT_MAX_ENTRIES, clock: Callable[[], float] = time.time
    ) -> None:
        if max_entries <= 0:
            raise ValueError("max_entries must be positive")
        self._max_entries = max_entries
        self._clock = clock
        self._lock = threading.Lock()
        self._expiry: dict[str, _Bucket] = {}  # key -> the bucket of the second it expires
        self._buckets: dict[int, _Bucket] = {}
        self._seconds: list[int] = []  # heap of the buckets' seconds

    def __len__(self) -> int:
        with self._lock:
            return len(self._expiry)

    def first_use(self, key: str, expires_at: float) -> bool:
        """Record ``key`` until ``expires_at``; True if it was new, False if it is a replay."""
        with self._lock:
            now = self._clock()
            self._prune(now)
            known = self._expiry.get(key)
            if known is not None and known.second > now:
                return False
            if len(self._expiry) >= self._max_entries:
                # Forgetting a live jti would let that token be replayed: refuse new ones instead.
                raise ReplayStoreError("replay cache full")
            second = math.ceil(expires_at)
            bucket = self._buckets.get(second)
            if bucket is None:
                bucket = self._buckets[second] = _Bucket(second)
                heapq.heappush(self._seconds, second)
            bucket.keys.append(key)
            self._expiry[key] = bucket
            return True

    def _prune(self, now: float) -> None:
        while self._seconds and self._seconds[0] <= now:
            bucket = self._buckets.pop(heapq.heappop(self._seconds))
            for key in bucket.keys:
                if self._expiry.get(key) is bucket:  # not re-added since with a later expiry
                    del self._expiry[key]


class _Bucket:
    """The keys that expire in one whole second."""

    __slots__ = ("keys", "second")

    def __init__(self, second: int) -> None:
        self.second = second
        self.keys: list[str] = []


class RedisReplayCache:
    """Cache in Redis via ``SET key NX PX``, so every worker and host shares one view."""

    def __init__(self, client: Any, *, clock: Callable[[], float] = time.time) -> None:
        self._client = client
        self._clock = clock

    def first_use(self, key: str, expires_at: float) -> bool:
        """Record ``key`` until ``expires_at``; True if it was new, False if it is a replay."""
        import redis

        ttl_ms = max(1, int((expires_at - self._clock()) * 1000))
        try:
            created = self._client.set(redis_key(key), b"1", nx=True, px=ttl_ms)
        except redis.RedisError as exc:
            raise ReplayStoreError(type(exc).__name__) from None
        return bool(created)


def redis_key(key: str) -> str:
    """Return the Redis key for a replay key (hashed: bounded length, no raw jti at rest)."""
    return REDIS_KEY_PREFIX + hashlib.sha256(key.encode("utf-8")).hexdigest()


def make_replay_cache(settings: Mapping[str, Any]) -> ReplayCache:
    """Build the Redis cache when ``REDIS_URL`` is set, else the in-memory one."""
    url = str(settings.get("REDIS_URL") or "")
    if not url:
        return MemoryReplayCache()
    import redis

    # from_url does not connect; short timeouts keep a dead Redis from stalling requests.
    client = redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
    log.info("jti replay cache: redis")
    return RedisReplayCache(client)
