"""JWKS documents: fetch them safely, keep only public signing keys, cache them per URL."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

import requests

log = logging.getLogger("cds_service.auth")

_PUBLIC_MEMBERS = ("kty", "kid", "alg", "use", "crv", "x", "y", "n", "e")
MAX_JWKS_BYTES = 1_000_000
REFETCH_INTERVAL = 30.0  # at most one forced JWKS refetch per URL per interval (protects the EHR)


def public_keys(jwks: Any) -> list[dict[str, Any]]:
    """Return the usable public signing JWKs of a JWKS document (anything else is dropped)."""
    listed = jwks.get("keys") if isinstance(jwks, Mapping) else None
    if not isinstance(listed, list):
        return []
    keys = []
    for jwk in listed:
        if not isinstance(jwk, Mapping) or jwk.get("kty") not in ("EC", "RSA"):
            continue
        if jwk.get("use", "sig") != "sig":
            continue
        keys.append({m: jwk[m] for m in _PUBLIC_MEMBERS if isinstance(jwk.get(m), str)})
    return keys


def fetch_jwks_http(url: str) -> Mapping[str, Any]:
    """GET a JWKS (2 s timeout, no redirects, ≤ 1 MB); return {} on any failure."""
    try:
        with requests.get(
            url,
            timeout=2,
            allow_redirects=False,
            stream=True,
            headers={"Accept": "application/json"},
        ) as response:
            if response.status_code != 200:
                return {}
            body = b""
            for chunk in response.iter_content(65_536):
                body += chunk
                if len(body) > MAX_JWKS_BYTES:
                    return {}
        data = json.loads(body)
    except (requests.RequestException, ValueError, OSError):
        return {}
    return data if isinstance(data, dict) else {}


class JwksCache:
    """JWKS per URL with a TTL, plus a rate-limited forced refresh for key rotation."""

    def __init__(
        self,
        fetch: Callable[[str], Mapping[str, Any]],
        *,
        ttl: float,
        clock: Callable[[], float],
        min_refetch: float = REFETCH_INTERVAL,
    ) -> None:
        self._fetch_fn = fetch
        self._ttl = ttl
        self._clock = clock
        self._min_refetch = min_refetch
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, tuple[dict[str, Any], ...]]] = {}
        self._forced: dict[str, float] = {}  # url -> time of the last refetch for an unknown kid

    def get(self, url: str) -> tuple[dict[str, Any], ...]:
        """Return the keys at ``url``, fetching when absent or older than the TTL."""
        with self._lock:
            now = self._clock()
            entry = self._entries.get(url)
            if entry is not None:
                fetched_at, keys = entry
                # A failed (empty) answer is retried sooner than a good one, but still rate-limited.
                if now - fetched_at < (self._ttl if keys else self._min_refetch):
                    return keys
            return self._fetch(url, now)

    def refresh(self, url: str) -> tuple[dict[str, Any], ...]:
        """Refetch ``url`` for an unknown kid, at most once per refetch interval."""
        with self._lock:
            now = self._clock()
            last = self._forced.get(url)
            if last is not None and now - last < self._min_refetch:
                entry = self._entries.get(url)
                return entry[1] if entry is not None else ()
            self._forced[url] = now
            return self._fetch(url, now)

    def _fetch(self, url: str, now: float) -> tuple[dict[str, Any], ...]:
        try:
            keys = tuple(public_keys(self._fetch_fn(url)))
        except Exception as exc:  # an injected fetcher may raise; it means "no keys"
            log.warning("jwks fetch failed url=%s error=%s", url, type(exc).__name__)
            keys = ()
        log.info("jwks fetched url=%s keys=%d", url, len(keys))
        self._entries[url] = (now, keys)
        return keys
