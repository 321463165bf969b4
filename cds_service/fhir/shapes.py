"""Read raw FHIR JSON defensively: before validation, any member may hold any JSON value."""

from __future__ import annotations

from typing import Any


def listed(value: Any) -> list[Any]:
    """Return ``value`` when it is a JSON array, else an empty list (a number is not a list)."""
    return value if isinstance(value, list) else []
