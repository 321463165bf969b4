"""The one place that imports fhir.resources, pinned to the R4B models (FHIR R4 wire format).

The default fhir.resources package is R5; R4 data parsed with it fails on renamed fields, so every
parse in the service goes through this module.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.resource import Resource
from pydantic import ValidationError

__all__ = ["Resource", "parse_resource", "resource_errors"]


@lru_cache(maxsize=128)
def _model_class(resource_type: str) -> type[Resource] | None:
    try:
        model = get_fhir_model_class(resource_type)
    except (KeyError, ValueError):
        return None
    # Every class the R4B registry returns for a resourceType is a Resource subclass.
    return model if issubclass(model, Resource) else None


def parse_resource(data: Any) -> Resource | None:
    """Validate one R4 resource dict; return the model, or None when it is not valid R4."""
    if not isinstance(data, dict) or not isinstance(data.get("resourceType"), str):
        return None
    model = _model_class(data["resourceType"])
    if model is None:
        return None
    try:
        return model.model_validate(data)
    except (ValidationError, ValueError, TypeError):
        return None


def resource_errors(data: Any) -> list[str]:
    """Say why a dict is not a valid R4 resource (empty list when it is); for tests and tools."""
    if not isinstance(data, dict) or not isinstance(data.get("resourceType"), str):
        return ["not a FHIR resource (no resourceType)"]
    model = _model_class(data["resourceType"])
    if model is None:
        return [f"unknown resourceType {data['resourceType']!r}"]
    try:
        model.model_validate(data)
    except ValidationError as exc:
        return [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
    return []
