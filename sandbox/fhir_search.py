"""FHIR R4 search over in-memory resources: the subset the sandbox EHR and FHIR endpoint answer.

Shared by the EHR simulator (prefetch fulfilment, ``sandbox.ehr``) and the local FHIR endpoint
(``sandbox.fhir_server``), so a prefetched Bundle and a fetched one are built the same way.
Supported: ``_id``; ``patient``/``subject`` references (``Patient/x`` or ``x``); tokens ``code``,
``category``, ``status``, ``clinical-status`` (``system|code``, ``code``, ``|code``, ``system|``;
a comma means OR); ``date`` with eq/ne/lt/gt/ge/le at day precision; ``_sort=date|-date``;
``_count`` and ``_getpagesoffset`` paging. Anything else is refused, not silently ignored, so a
query the service relies on cannot quietly return too much.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qs, urlencode

PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
OFFSET_PARAM = "_getpagesoffset"
FILTER_PARAMS = (
    "_id",
    "patient",
    "subject",
    "code",
    "category",
    "status",
    "clinical-status",
    "date",
)
CONTROL_PARAMS = ("_count", "_sort", OFFSET_PARAM)
# Harmless format hints some clients add to every query.
IGNORED_PARAMS = ("_format", "_pretty")

Resource = dict[str, Any]
Params = Mapping[str, Sequence[str]]

# R4 search parameter `patient` points at these elements (ResearchSubject.individual in R4).
_PATIENT_FIELDS = ("subject", "patient", "individual")
_CODE_FIELDS: dict[str, tuple[str, ...]] = {
    "MedicationRequest": ("medicationCodeableConcept",),
    "MedicationStatement": ("medicationCodeableConcept",),
    "MedicationAdministration": ("medicationCodeableConcept",),
}
_DATE_FIELDS: dict[str, tuple[str, ...]] = {
    "Observation": ("effectiveDateTime", "effectivePeriod.start", "effectiveInstant", "issued"),
    "DiagnosticReport": ("effectiveDateTime", "effectivePeriod.start", "issued"),
    "Condition": ("onsetDateTime", "onsetPeriod.start", "recordedDate"),
    "Procedure": ("performedDateTime", "performedPeriod.start"),
    "MedicationRequest": ("authoredOn",),
    "ServiceRequest": ("occurrenceDateTime", "occurrencePeriod.start", "authoredOn"),
    "ResearchSubject": ("period.start",),
    "Encounter": ("period.start",),
    "Patient": ("birthDate",),
}
_DATE_PREFIXES = ("eq", "ne", "lt", "gt", "ge", "le")
_DATE_VALUE = re.compile(r"\d{4}(-\d{2}(-\d{2})?)?")


class SearchError(ValueError):
    """A search the sandbox cannot answer: an unsupported parameter, modifier or value."""


def parse_query(query: str) -> tuple[str, dict[str, list[str]]]:
    """Split ``Type?a=1&b=2`` into the resource type and its parameters."""
    resource_type, _, raw = query.partition("?")
    return resource_type, parse_qs(raw, keep_blank_values=True)


def search(resources: Iterable[Resource], resource_type: str, params: Params) -> list[Resource]:
    """Return the resources of ``resource_type`` matching every filter, in ``_sort`` order."""
    check_params(params)
    found = [
        r for r in resources if r.get("resourceType") == resource_type and _matches_all(r, params)
    ]
    return _sorted(found, params.get("_sort", []))


def check_params(params: Params) -> None:
    """Refuse parameters, modifiers and control values the sandbox does not implement."""
    for name, values in params.items():
        if name in IGNORED_PARAMS:
            continue
        if name not in FILTER_PARAMS and name not in CONTROL_PARAMS:
            raise SearchError(f"unsupported search parameter: {name}")
        if any(value == "" for value in values):
            raise SearchError(f"empty value for search parameter: {name}")
    page_size(params)
    page_offset(params)
    for value in params.get("_sort", []):
        if value not in ("date", "-date"):
            raise SearchError("only _sort=date and _sort=-date are supported")


def page_size(params: Params) -> int:
    """Read ``_count`` (default ``PAGE_SIZE``, capped at ``MAX_PAGE_SIZE``)."""
    return min(_non_negative(params, "_count", PAGE_SIZE), MAX_PAGE_SIZE)


def page_offset(params: Params) -> int:
    """Read the paging offset of a ``next`` link (0 on the first page)."""
    return _non_negative(params, OFFSET_PARAM, 0)


def searchset(
    matches: Sequence[Resource], *, base: str, resource_type: str, params: Params
) -> Resource:
    """Build the searchset Bundle for one page of ``matches``, with self and next links."""
    size, offset = page_size(params), page_offset(params)
    page = matches[offset : offset + size]
    links = [{"relation": "self", "url": _page_url(base, resource_type, params, offset)}]
    if offset + size < len(matches) and size > 0:
        links.append(
            {"relation": "next", "url": _page_url(base, resource_type, params, offset + size)}
        )
    bundle: Resource = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(matches),
        "link": links,
    }
    # FHIR JSON never carries an empty array: no matches means no `entry` at all.
    if page:
        bundle["entry"] = [
            {
                "fullUrl": f"{base}/{r['resourceType']}/{r['id']}",
                "resource": r,
                "search": {"mode": "match"},
            }
            for r in page
        ]
    return bundle


def _non_negative(params: Params, name: str, default: int) -> int:
    values = params.get(name)
    if not values:
        return default
    try:
        number = int(values[-1])
    except ValueError:
        raise SearchError(f"{name} must be a whole number") from None
    if number < 0:
        raise SearchError(f"{name} must not be negative")
    return number


def _page_url(base: str, resource_type: str, params: Params, offset: int) -> str:
    query = {k: list(v) for k, v in params.items() if k != OFFSET_PARAM}
    if offset:
        query[OFFSET_PARAM] = [str(offset)]
    encoded = urlencode(query, doseq=True)
    return f"{base}/{resource_type}" + (f"?{encoded}" if encoded else "")


def _matches_all(resource: Resource, params: Params) -> bool:
    for name, values in params.items():
        if name in FILTER_PARAMS and not all(_matches(resource, name, v) for v in values):
            return False
    return True


def _matches(resource: Resource, name: str, value: str) -> bool:
    if name == "date":
        return _date_matches(resource, value)
    alternatives = value.split(",")
    if name == "_id":
        return resource.get("id") in alternatives
    if name in ("patient", "subject"):
        return any(_reference_matches(resource, name, alt) for alt in alternatives)
    return any(_token_matches(_token_values(resource, name), alt) for alt in alternatives)


def _reference_matches(resource: Resource, name: str, value: str) -> bool:
    fields = _PATIENT_FIELDS if name == "patient" else ("subject",)
    wanted = value.rstrip("/").split("/")[-2:]
    if len(wanted) == 1:
        wanted = ["Patient", wanted[0]] if name == "patient" else ["*", wanted[0]]
    for field in fields:
        reference = resource.get(field)
        if not isinstance(reference, dict) or not isinstance(reference.get("reference"), str):
            continue
        actual = reference["reference"].rstrip("/").split("/")[-2:]
        if len(actual) == 2 and actual[1] == wanted[1] and wanted[0] in ("*", actual[0]):
            return True
    return False


def _token_values(resource: Resource, name: str) -> Iterator[tuple[str | None, str | None]]:
    if name == "status":
        status = resource.get("status")
        if isinstance(status, str):
            yield None, status
        return
    if name == "clinical-status":
        fields: tuple[str, ...] = ("clinicalStatus",)
    elif name == "category":
        fields = ("category",)
    else:
        fields = _CODE_FIELDS.get(resource.get("resourceType", ""), ("code",))
    for field in fields:
        yield from _codings(resource.get(field))


def _codings(value: Any) -> Iterator[tuple[str | None, str | None]]:
    concepts = value if isinstance(value, list) else [value]
    for concept in concepts:
        if isinstance(concept, dict):
            for coding in concept.get("coding", []):
                if isinstance(coding, dict):
                    yield coding.get("system"), coding.get("code")


def _token_matches(values: Iterable[tuple[str | None, str | None]], token: str) -> bool:
    if "|" not in token:
        return any(code == token for _, code in values)
    system, code = token.split("|", 1)
    for actual_system, actual_code in values:
        if system == "" and actual_system is not None:
            continue  # `|code`: only codings without a system
        if system and actual_system != system:
            continue
        if code == "" or actual_code == code:
            return True
    return False


def _date_of(resource: Resource) -> str | None:
    for path in _DATE_FIELDS.get(resource.get("resourceType", ""), ()):
        value: Any = resource
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if isinstance(value, str) and value:
            return value
    return None


def _date_matches(resource: Resource, value: str) -> bool:
    prefix, wanted = (value[:2], value[2:]) if value[:2].isalpha() else ("eq", value)
    if prefix not in _DATE_PREFIXES:
        raise SearchError(f"unsupported date prefix: {prefix}")
    # Day precision: compare at the precision of the query value (year, month or day).
    wanted = wanted[:10]
    if not _DATE_VALUE.fullmatch(wanted):
        raise SearchError(f"date must be YYYY, YYYY-MM or YYYY-MM-DD[Thh:mm...], not {value!r}")
    actual = _date_of(resource)
    if actual is None:
        return False
    actual = actual[: len(wanted)]
    return {
        "eq": actual == wanted,
        "ne": actual != wanted,
        "lt": actual < wanted,
        "gt": actual > wanted,
        "ge": actual >= wanted,
        "le": actual <= wanted,
    }[prefix]


def _sorted(resources: list[Resource], sort: Sequence[str]) -> list[Resource]:
    if not sort:
        return resources
    dated = [r for r in resources if _date_of(r) is not None]
    undated = [r for r in resources if _date_of(r) is None]
    dated.sort(key=lambda r: _date_of(r) or "", reverse=sort[-1] == "-date")
    # Resources without a date go last either way, as most FHIR servers order them.
    return dated + undated
