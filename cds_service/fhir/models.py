"""The one place that imports fhir.resources, pinned to the R4B models (FHIR R4 wire format).

The default fhir.resources package is R5; R4 data parsed with it fails on renamed fields, so every
parse in the service goes through this module.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from functools import lru_cache
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.resource import Resource
from pydantic import ValidationError

__all__ = ["Resource", "is_valid_resource", "parse_resource", "resource_errors"]

# Verdicts kept per process: ~125 bytes each (measured), so at most ~2.5 MB per worker; a big
# chart has 16-50 resources worth validating, so this remembers the last few hundred charts.
VERDICT_CACHE_SIZE = 20_000


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


class _Verdicts:
    """Validation verdicts by content digest, least recently used dropped first; thread-safe.

    A chart is validated again and again: each clinician who opens it, and ``order-select`` on
    every change of the order basket, sends the same resources. The key is a BLAKE2b digest of
    the resource's JSON, so any change to the content is a new key and is validated afresh.
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._verdicts: OrderedDict[bytes, bool] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: bytes) -> bool | None:
        with self._lock:
            verdict = self._verdicts.get(key)
            if verdict is not None:
                self._verdicts.move_to_end(key)
            return verdict

    def put(self, key: bytes, verdict: bool) -> None:
        with self._lock:
            self._verdicts[key] = verdict
            if len(self._verdicts) > self._size:
                self._verdicts.popitem(last=False)


_VERDICTS = _Verdicts(VERDICT_CACHE_SIZE)


def is_valid_resource(data: Any) -> bool:
    """Say whether a dict is a valid R4 resource; the verdict is remembered by content."""
    try:
        text = json.dumps(data, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        return parse_resource(data) is not None  # not plain JSON: validate, remember nothing
    key = hashlib.blake2b(text.encode(), digest_size=16).digest()
    verdict = _VERDICTS.get(key)
    if verdict is None:
        verdict = parse_resource(data) is not None
        _VERDICTS.put(key, verdict)
    return verdict
