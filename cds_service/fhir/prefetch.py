"""Prefetch resolution: use what the EHR sent, fetch what it did not, 412 if required data is lost.

Each key follows the CONFORMANCE.md "Prefetch" table (spec 2.0 "Prefetch", research notes E1-E5):
absent -> fetch; ``null`` -> no data, no fetch; Bundle -> its entries, following ``next``;
OperationOutcome (alone or inside a Bundle) -> the client hit an error, so fetch as if absent.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from cds_service.errors import PreconditionFailed
from cds_service.fhir.client import (
    FetchOutcome,
    FhirFetcher,
    flatten,
    next_link,
    resource_type_of,
    with_page_size,
)
from cds_service.fhir.shapes import listed

__all__ = ["FetchOutcome", "FhirFetcher", "PrefetchResult", "render_template", "resolve_prefetch"]

log = logging.getLogger("cds_service.fhir")

_TOKEN = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
# Spec 2.0 "Prefetch tokens": the user tokens are the bare id of context.userId of that type.
_USER_TOKENS = {
    "userPractitionerId": "Practitioner",
    "userPractitionerRoleId": "PractitionerRole",
    "userPatientId": "Patient",
    "userRelatedPersonId": "RelatedPerson",
}


@dataclass(frozen=True)
class PrefetchResult:
    """The resolved data per prefetch key, and what could not be had."""

    resources: dict[str, list[dict[str, Any]]]
    unavailable: frozenset[str]
    fetched: frozenset[str]
    skipped: int


def render_template(template: str, context: Mapping[str, Any], user_id: str | None) -> str | None:
    """Fill a template's tokens with URL-encoded values; None when a token cannot be filled."""
    unfilled = False

    def fill(match: re.Match[str]) -> str:
        nonlocal unfilled
        value = _token_value(match.group(1), context, user_id)
        if value is None:
            unfilled = True
            return ""
        if match.group(1) == "context.userId":
            # userId is "Type/id" (spec 2.0 hooks), used as a read path: keep its one slash.
            return "/".join(quote(part, safe="") for part in value.split("/", 1))
        return quote(value, safe="")

    rendered = _TOKEN.sub(fill, template)
    # Leftover braces are a token we do not understand (e.g. a 3.0 FHIRPath expression).
    if unfilled or "{{" in rendered or "}}" in rendered:
        return None
    return rendered


def _token_value(token: str, context: Mapping[str, Any], user_id: str | None) -> str | None:
    if token.startswith("context."):
        # Spec 2.0: only root-level primitive context fields may be tokens.
        value = context.get(token.removeprefix("context."))
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, str | int | float) and str(value) != "":
            return str(value)
        return None
    wanted_type = _USER_TOKENS.get(token)
    if wanted_type is None or not user_id or "/" not in user_id:
        return None
    user_type, _, user_ref = user_id.partition("/")
    return user_ref if user_type == wanted_type and user_ref else None


@dataclass(frozen=True)
class _Prefetched:
    """One key as the client sent it; ``resources`` None means "not satisfied: fetch it"."""

    resources: list[dict[str, Any]] | None
    skipped: int = 0
    next_url: str | None = None


def _read_prefetched(value: Any, resource_type: str) -> _Prefetched:
    if value is None:
        return _Prefetched([])  # the client looked and found nothing: do not re-fetch
    if not isinstance(value, dict) or value.get("resourceType") == "OperationOutcome":
        return _Prefetched(None)
    if value.get("resourceType") != "Bundle":
        kept, dropped = flatten(value, resource_type)
        return _Prefetched(kept if kept else None, dropped)
    kept, dropped = flatten(value, resource_type)
    # spec 2.0: errors may come as OperationOutcome entries (which flatten always drops).
    if dropped and any(_is_outcome(entry) for entry in listed(value.get("entry"))):
        return _Prefetched(None)
    return _Prefetched(kept, dropped, next_link(value))


def _is_outcome(entry: Any) -> bool:
    resource = entry.get("resource") if isinstance(entry, dict) else None
    return isinstance(resource, dict) and resource.get("resourceType") == "OperationOutcome"


def resolve_prefetch(
    templates: Mapping[str, str],
    request: Mapping[str, Any],
    *,
    required: frozenset[str],
    fetcher: FhirFetcher,
) -> PrefetchResult:
    """Resolve every template key from the request's prefetch, fetching what is missing."""
    prefetch, context = request.get("prefetch") or {}, request.get("context") or {}
    plan = _plan(templates, prefetch, context, fetcher.page_size)
    outcomes = _fetch(fetcher, request, plan.queries, templates)
    resources, lost, skipped = plan.resources, set(plan.lost), plan.skipped
    for key, outcome in outcomes.items():
        skipped += outcome.skipped
        if outcome.ok:
            resources[key] = resources[key] + list(outcome.resources)
        else:
            lost.add(key)
            resources[key] = []  # a partial page set would read as a complete record
    missing_required = sorted(lost & required)
    if missing_required:
        log.warning("prefetch: required keys unobtainable keys=%s", ",".join(missing_required))
        raise PreconditionFailed(
            "Required prefetch data could not be obtained: " + ", ".join(missing_required),
            expression=[f"prefetch.{key}" for key in missing_required],
        )
    fetched = frozenset(key for key, outcome in outcomes.items() if outcome.ok)
    return PrefetchResult(resources, frozenset(lost), fetched, skipped)


@dataclass(frozen=True)
class _Plan:
    """What the client's prefetch already gives, and the queries still to run."""

    resources: dict[str, list[dict[str, Any]]]
    queries: dict[str, str]
    lost: frozenset[str]
    skipped: int


def _plan(
    templates: Mapping[str, str],
    prefetch: Mapping[str, Any],
    context: Mapping[str, Any],
    page_size: int,
) -> _Plan:
    resources: dict[str, list[dict[str, Any]]] = {key: [] for key in templates}
    queries: dict[str, str] = {}
    lost: set[str] = set()
    skipped = 0
    for key, template in templates.items():
        state = (
            _read_prefetched(prefetch[key], resource_type_of(template))
            if key in prefetch
            else _Prefetched(None)
        )
        skipped += state.skipped
        if state.resources is not None:
            resources[key] = state.resources
            if state.next_url:
                queries[key] = state.next_url  # spec 2.0: prefetch may be paginated
            continue
        query = render_template(template, context, context.get("userId"))
        if query is None:
            lost.add(key)  # nothing to ask the server: unobtainable
        else:
            # Large pages: one key's pages are fetched one after another (a ``next`` link is
            # followed as the server wrote it, so this applies to the first page only).
            queries[key] = with_page_size(query, page_size)
    return _Plan(resources, queries, frozenset(lost), skipped)


def _fetch(
    fetcher: FhirFetcher,
    request: Mapping[str, Any],
    queries: Mapping[str, str],
    templates: Mapping[str, str],
) -> dict[str, FetchOutcome]:
    if not queries:
        return {}
    server = request.get("fhirServer")
    if not isinstance(server, str) or not server:
        return {key: FetchOutcome(error="no-fhir-server") for key in queries}
    authorization = request.get("fhirAuthorization") or {}
    token = authorization.get("access_token") if isinstance(authorization, dict) else None
    types = {key: resource_type_of(templates[key]) for key in queries}
    return fetcher.fetch_all(server, token or None, queries, resource_types=types)
