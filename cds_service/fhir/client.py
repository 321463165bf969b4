"""The FHIR client: fetch the prefetch keys the EHR did not send, in parallel, under one deadline.

Only ``fhirServer`` hosts on the allow-list are ever contacted (CONFORMANCE.md "Prefetch": "only
fetch from allowed hosts"); redirects are never followed and bodies are read with a byte cap, so
a hostile or broken server cannot send us elsewhere or exhaust memory. The access token travels
only in the ``Authorization`` header of each request: it is never logged and never stored.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from http.cookiejar import DefaultCookiePolicy
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit

import requests

from cds_service.fhir.shapes import listed

__all__ = ["FetchOutcome", "FhirFetcher", "host_allowed", "resource_type_of", "with_page_size"]

log = logging.getLogger("cds_service.fhir")

FHIR_JSON = "application/fhir+json"
# application/json+fhir is the DSTU2-era name; the Sandbox's default (DSTU2) server still uses it.
_JSON_TYPES = frozenset({FHIR_JSON, "application/json", "application/json+fhir"})
_DEFAULT_PORTS = {"http": 80, "https": 443}
_CHUNK = 64 * 1024
# Entries per page we ask a search for: servers page at 20-50 by default, which turns years of
# labs into dozens of sequential round trips. A server may cap it; ``next`` links still work.
DEFAULT_PAGE_SIZE = 1000


@dataclass(frozen=True)
class FetchOutcome:
    """What fetching one key gave: its resources, or the reason it failed (never both)."""

    resources: tuple[dict[str, Any], ...] = ()
    skipped: int = 0
    error: str | None = None
    status: int | None = None
    pages: int = 0

    @property
    def ok(self) -> bool:
        return self.error is None


class _FetchFailed(Exception):
    """One key cannot be had; ``reason`` is a short code safe to log (no URL, no token)."""

    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


Origin = tuple[str, str, int]


def _origin(url: str) -> Origin | None:
    """Return (scheme, host, port) of an http(s) URL, or None when it is not one we would call."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    # Userinfo in the URL would be a second credential channel we never want to use.
    if scheme not in _DEFAULT_PORTS or not parts.hostname or "@" in parts.netloc:
        return None
    return scheme, parts.hostname.lower(), port or _DEFAULT_PORTS[scheme]


def host_allowed(url: str, allowed_hosts: Sequence[str]) -> bool:
    """Say whether ``url`` is http(s) on a host (or host:port) named exactly in the allow-list."""
    origin = _origin(url)
    if origin is None:
        return False
    _, host, port = origin
    shown = f"[{host}]" if ":" in host else host  # IPv6 literals are listed in brackets
    allowed = {entry.strip().lower() for entry in allowed_hosts}
    return bool({host, shown, f"{shown}:{port}"} & allowed)


def resource_type_of(query: str) -> str:
    """Return the resource type a read or search template asks for (``Condition?patient=..``)."""
    return query.split("?", 1)[0].split("/", 1)[0]


def with_page_size(query: str, size: int) -> str:
    """Add ``_count=size`` to a search query that does not name its own ``_count``.

    A read (``Patient/p1``) has no pages and is returned unchanged, as is a non-positive size.
    """
    path, _, params = query.partition("?")
    if size <= 0 or "/" in path.strip("/"):
        return query
    if any(name == "_count" for name, _ in parse_qsl(params, keep_blank_values=True)):
        return query
    separator = "&" if params and not params.endswith("&") else ""
    return f"{path}?{params}{separator}_count={size}"


def flatten(data: Any, resource_type: str) -> tuple[list[dict[str, Any]], int]:
    """Return the resources of ``resource_type`` in a Bundle or lone resource, and how many dropped.

    Search results may carry ``include`` resources of other types and ``outcome`` entries
    (OperationOutcome); neither is data for this key.
    """
    if not isinstance(data, dict):
        return [], 1
    if data.get("resourceType") != "Bundle" or resource_type == "Bundle":
        return ([data], 0) if data.get("resourceType") == resource_type else ([], 1)
    kept: list[dict[str, Any]] = []
    skipped = 0
    for entry in listed(data.get("entry")):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(resource, dict) and resource.get("resourceType") == resource_type:
            kept.append(resource)
        else:
            skipped += 1
    return kept, skipped


def next_link(bundle: Mapping[str, Any]) -> str | None:
    """Return the ``link[relation=next]`` URL of a Bundle, if it has one."""
    links = bundle.get("link")
    for link in links if isinstance(links, list) else []:
        if isinstance(link, dict) and link.get("relation") == "next":
            url = link.get("url")
            return url if isinstance(url, str) and url else None
    return None


class FhirFetcher:
    """Fetch FHIR queries from an EHR's server; one per app, shared by all request threads."""

    def __init__(
        self,
        *,
        allowed_hosts: Sequence[str],
        timeout: float = 2.0,
        max_workers: int = 8,
        max_pages: int = 10,
        max_bytes: int = 20_000_000,
        page_size: int = DEFAULT_PAGE_SIZE,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.allowed_hosts = tuple(allowed_hosts)
        self.timeout = timeout
        self.max_pages = max_pages
        self.max_bytes = max_bytes
        self.page_size = page_size
        self._clock = clock
        self._session = session if session is not None else _new_session()
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="fhir-fetch")

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> FhirFetcher:
        """Build the fetcher the settings describe (``FHIR_*``)."""
        return cls(
            allowed_hosts=list(settings["FHIR_ALLOWED_HOSTS"]),
            timeout=float(settings["FHIR_TIMEOUT_SECONDS"]),
            max_workers=int(settings["FHIR_MAX_WORKERS"]),
            max_pages=int(settings["FHIR_MAX_PAGES"]),
            max_bytes=int(settings["FHIR_MAX_RESPONSE_BYTES"]),
            # Optional until config.py lists it: older settings keep the default page size.
            page_size=int(settings.get("FHIR_PAGE_SIZE", DEFAULT_PAGE_SIZE)),
        )

    def close(self) -> None:
        """Stop the worker threads and close pooled connections."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._session.close()

    def fetch_all(
        self,
        base_url: str,
        token: str | None,
        queries: Mapping[str, str],
        *,
        resource_types: Mapping[str, str] | None = None,
    ) -> dict[str, FetchOutcome]:
        """Fetch every query in parallel within one ``timeout`` budget; return outcomes by key.

        A query is relative to ``base_url`` (``Condition?patient=1``) or an absolute URL on the
        same origin (the ``next`` page of a prefetched Bundle). ``resource_types`` names the type
        a key wants when the query does not show it.
        """
        deadline = self._clock() + self.timeout
        if not host_allowed(base_url, self.allowed_hosts):
            log.warning("fhir fetch refused: host not allowed host=%s", _host_for_log(base_url))
            return {key: FetchOutcome(error="host-not-allowed") for key in queries}
        types = resource_types or {}
        futures: dict[str, Future[FetchOutcome]] = {
            key: self._pool.submit(
                self._fetch_key,
                key,
                base_url,
                query,
                token,
                types.get(key) or resource_type_of(query),
                deadline,
            )
            for key, query in queries.items()
        }
        wait(futures.values(), timeout=max(0.0, deadline - self._clock()))
        outcomes: dict[str, FetchOutcome] = {}
        for key, future in futures.items():
            if future.done():
                outcomes[key] = future.result()
            else:
                # The worker sees the passed deadline and stops on its own; we do not wait.
                future.cancel()
                log.info("fhir fetch key=%s failed reason=timeout", key)
                outcomes[key] = FetchOutcome(error="timeout")
        return outcomes

    def _fetch_key(
        self, key: str, base_url: str, query: str, token: str | None, rtype: str, deadline: float
    ) -> FetchOutcome:
        started = self._clock()
        try:
            outcome = self._fetch_pages(base_url, query, token, rtype, deadline)
        except _FetchFailed as failure:
            log.info(
                "fhir fetch key=%s failed reason=%s status=%s ms=%d",
                key,
                failure.reason,
                failure.status,
                _ms(self._clock() - started),
            )
            return FetchOutcome(error=failure.reason, status=failure.status)
        log.info(
            "fhir fetch key=%s status=%s ms=%d resources=%d pages=%d skipped=%d",
            key,
            outcome.status,
            _ms(self._clock() - started),
            len(outcome.resources),
            outcome.pages,
            outcome.skipped,
        )
        return outcome

    def _fetch_pages(
        self, base_url: str, query: str, token: str | None, rtype: str, deadline: float
    ) -> FetchOutcome:
        origin = _origin(base_url)
        url: str | None = _absolute(base_url, query)
        resources: list[dict[str, Any]] = []
        skipped = pages = status = 0
        while url is not None:
            if _origin(url) != origin:
                raise _FetchFailed("next-off-origin")  # the token must not leave the EHR's server
            if pages >= self.max_pages:
                raise _FetchFailed("page-limit")  # a partial record would read as a complete one
            status, data = self._get_json(url, token, deadline)
            pages += 1
            if not isinstance(data, dict) or data.get("resourceType") not in (rtype, "Bundle"):
                raise _FetchFailed("wrong-type", status)
            kept, dropped = flatten(data, rtype)
            resources.extend(kept)
            skipped += dropped
            following = next_link(data) if data.get("resourceType") == "Bundle" else None
            url = urljoin(url, following) if following else None
        return FetchOutcome(tuple(resources), skipped, status=status, pages=pages)

    def _get_json(self, url: str, token: str | None, deadline: float) -> tuple[int, Any]:
        remaining = deadline - self._clock()
        if remaining <= 0:
            raise _FetchFailed("timeout")
        headers = {"Accept": FHIR_JSON}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            with self._session.get(
                url, headers=headers, timeout=remaining, allow_redirects=False, stream=True
            ) as response:
                _check_response(response)
                body = self._read_capped(response, deadline)
                status = response.status_code
        except requests.Timeout:
            raise _FetchFailed("timeout") from None
        except requests.RequestException as exc:
            # The exception text holds the URL; only its kind is worth logging.
            raise _FetchFailed(f"transport-{type(exc).__name__}") from None
        try:
            return status, json.loads(body)
        except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
            raise _FetchFailed("invalid-json", status) from None

    def _read_capped(self, response: requests.Response, deadline: float) -> bytes:
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise _FetchFailed("too-large", response.status_code)
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_content(_CHUNK):
            size += len(chunk)
            if size > self.max_bytes:
                raise _FetchFailed("too-large", response.status_code)
            if self._clock() > deadline:
                raise _FetchFailed("timeout", response.status_code)
            chunks.append(chunk)
        return b"".join(chunks)


def _check_response(response: requests.Response) -> None:
    status = response.status_code
    if 300 <= status < 400:
        raise _FetchFailed("redirect", status)
    if not 200 <= status < 300:
        raise _FetchFailed(f"http-{status}", status)
    media_type = response.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
    if media_type not in _JSON_TYPES:
        raise _FetchFailed("content-type", status)


def _new_session() -> requests.Session:
    session = requests.Session()
    # One session serves every patient and user: a server's cookies must not carry between them.
    session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    return session


def _absolute(base_url: str, query: str) -> str:
    if _origin(query) is not None:
        return query
    return base_url.rstrip("/") + "/" + query.lstrip("/")


def _host_for_log(url: str) -> str:
    try:
        return urlsplit(url).hostname or "?"
    except ValueError:
        return "?"


def _ms(seconds: float) -> int:
    return int(seconds * 1000)
