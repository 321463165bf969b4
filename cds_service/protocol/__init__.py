"""The wire contract: JSON Schemas written from the CDS Hooks 2.0 logical models, and their checks.

Incoming requests are checked leniently (unknown members and ``extension`` pass through); our own
responses are checked strictly in tests, so spec drift fails the suite, not an EHR.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from cds_service.errors import BadRequest

SCHEMA_DIR = Path(__file__).resolve().parent
HOOKS = ("patient-view", "order-select", "order-sign")


@cache
def schema(name: str) -> dict[str, Any]:
    """Return one of the shipped schemas by file stem (e.g. ``"request"``)."""
    with open(SCHEMA_DIR / f"{name}.schema.json", encoding="utf-8") as handle:
        loaded: dict[str, Any] = json.load(handle)
    return loaded


@cache
def _validator(name: str, pointer: str = "") -> Draft202012Validator:
    root = schema(name)
    # A hook's context schema is a top-level member of context.schema.json; point the root at it.
    return Draft202012Validator({**root, "$ref": f"#/{pointer}"} if pointer else root)


def check_request(body: Any, hook: str) -> dict[str, Any]:
    """Check a service request for ``hook``; raise BadRequest naming the first failing field."""
    _raise_first(_validator("request").iter_errors(body), prefix="")
    assert isinstance(body, dict)  # guaranteed by the schema's "type": "object"
    if body["hook"] != hook:
        raise BadRequest(
            f"hook '{body['hook'][:64]}' does not match this service ('{hook}')",
            expression=["hook"],
        )
    _raise_first(_validator("context", hook).iter_errors(body["context"]), prefix="context")
    return body


def check_feedback(body: Any) -> dict[str, Any]:
    """Check a feedback request; raise BadRequest naming the first failing field."""
    _raise_first(_validator("feedback").iter_errors(body), prefix="")
    assert isinstance(body, dict)
    for index, item in enumerate(body["feedback"]):
        if not _real_instant(item["outcomeTimestamp"]):
            # The schema's pattern admits shapes such as month 13 or year 0000 (found by fuzzing).
            field = f"feedback[{index}].outcomeTimestamp"
            raise BadRequest(f"{field} is not a real date and time", expression=[field])
    return body


def _real_instant(value: str) -> bool:
    """Say whether an RFC 3339 string names a real instant that has a UTC equivalent."""
    try:
        parsed = datetime.fromisoformat(value)
        (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError):
        return False
    return True


def response_errors(body: Any) -> list[str]:
    """List how a response of ours breaks the strict response schema (for tests and tools)."""
    return [_describe(error, "") for error in _validator("response").iter_errors(body)]


def _raise_first(errors: Iterable[ValidationError], prefix: str) -> None:
    ordered = sorted(errors, key=lambda e: (len(e.absolute_path), list(map(str, e.path))))
    if ordered:
        error = ordered[0]
        raise BadRequest(_describe(error, prefix), expression=[_field(error, prefix) or "$"])


def _field(error: ValidationError, prefix: str) -> str:
    """Name the failing member as a FHIRPath-like path (the missing member for ``required``)."""
    parts = [prefix] if prefix else []
    for part in error.absolute_path:
        parts.append(f"[{part}]" if isinstance(part, int) else str(part))
    if error.validator == "required" and "'" in error.message:
        parts.append(error.message.split("'")[1])
    if error.validator == "dependentRequired":
        parts.append("fhirServer")
    return ".".join(parts).replace(".[", "[")


def _describe(error: ValidationError, prefix: str) -> str:
    field = _field(error, prefix) or "request body"
    if error.validator in ("required", "dependentRequired"):
        return f"{field} is required" + (
            " when fhirAuthorization is given" if error.validator == "dependentRequired" else ""
        )
    if error.validator in ("type", "const", "enum"):
        expected = f"{error.validator}: {error.validator_value}"
        return f"{field} has the wrong type or value (expected {expected})"
    # The default jsonschema message quotes the (possibly huge, possibly PHI) instance: keep it out.
    return f"{field} is invalid ({error.validator})"
