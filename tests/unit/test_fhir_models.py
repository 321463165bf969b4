"""Validation with fhir.resources (R4B): verdicts remembered by content, never by identity."""

from __future__ import annotations

import math
from typing import Any

import pytest

from cds_service.fhir import models
from cds_service.fhir.models import is_valid_resource


def observation(**extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": "obs-1",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "6690-2"}]},
        **extra,
    }


@pytest.fixture
def validations(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every real validation (a remembered verdict does not reach parse_resource)."""
    seen: list[str] = []
    real = models.parse_resource

    def counting(data: Any) -> models.Resource | None:
        seen.append(str(data.get("id")) if isinstance(data, dict) else "?")
        return real(data)

    monkeypatch.setattr(models, "parse_resource", counting)
    monkeypatch.setattr(models, "_VERDICTS", models._Verdicts(100))
    return seen


def test_valid_and_invalid_resources_get_their_verdicts(validations: list[str]) -> None:
    assert is_valid_resource(observation()) is True
    assert is_valid_resource(observation(effectiveDateTime="yesterday")) is False  # not a dateTime
    assert is_valid_resource(observation(valueQuantity={"value": "high"})) is False
    assert is_valid_resource({"resourceType": "NotAResource"}) is False


def test_the_same_content_is_validated_once(validations: list[str]) -> None:
    for _ in range(3):
        assert is_valid_resource(observation())  # a new dict each time, equal content
    for _ in range(3):
        assert not is_valid_resource(observation(effectiveDateTime="yesterday"))
    assert validations == ["obs-1", "obs-1"]


def test_a_changed_resource_is_validated_again(validations: list[str]) -> None:
    resource = observation()
    assert is_valid_resource(resource)
    resource["effectiveDateTime"] = "yesterday"  # same object, same id, different content
    assert not is_valid_resource(resource)
    del resource["effectiveDateTime"]
    assert is_valid_resource(resource)
    assert len(validations) == 2  # the last verdict was remembered from the first call


def test_data_that_is_not_plain_json_is_validated_and_not_remembered(
    validations: list[str],
) -> None:
    odd = observation(valueQuantity={"value": math.nan})
    assert not is_valid_resource(odd)
    assert not is_valid_resource(odd)
    assert not is_valid_resource(observation(note={"a set"}))
    assert len(validations) == 3


def test_the_verdict_store_forgets_the_least_recently_used() -> None:
    verdicts = models._Verdicts(2)
    verdicts.put(b"a", True)
    verdicts.put(b"b", False)
    assert verdicts.get(b"a") is True  # "a" is now the most recently used
    verdicts.put(b"c", True)
    assert (verdicts.get(b"a"), verdicts.get(b"b"), verdicts.get(b"c")) == (True, None, True)
