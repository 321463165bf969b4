"""Qualitative reading of a lab result: detected (True), not detected (False) or unknown (None)."""

from __future__ import annotations

from typing import Any

from cds_service.fhir.normalize.common import Resource, Vocab, codings, texts
from cds_service.pathway import vocab as vs

_POSITIVE_TEXT = frozenset({"detected", "positive", "present", "pos"})
_NEGATIVE_TEXT = frozenset({"not detected", "undetected", "negative", "absent", "neg"})


def text_positivity(text: str) -> bool | None:
    """Read a whole-text result ("Not detected" is negative, never a partial match)."""
    cleaned = " ".join(text.lower().replace("-", " ").split()).rstrip(".")
    if cleaned in _NEGATIVE_TEXT:
        return False
    if cleaned in _POSITIVE_TEXT:
        return True
    return None


def concept_positivity(concept: Any, vocab: Vocab) -> bool | None:
    """Read a coded result (SNOMED detected/not detected, LOINC present/absent, or its text)."""
    pairs = codings(concept)
    if vocab.has(vs.RESULT_NOT_DETECTED, pairs):
        return False
    if vocab.has(vs.RESULT_DETECTED, pairs):
        return True
    for text in texts(concept):
        found = text_positivity(text)
        if found is not None:
            return found
    return None


def interpretation_positivity(obs: Resource, vocab: Vocab) -> bool | None:
    """Read Observation.interpretation POS/NEG (v3 ObservationInterpretation)."""
    pairs = codings(obs.get("interpretation") or [])
    if vocab.has(vs.INTERPRETATION_NEGATIVE, pairs):
        return False
    if vocab.has(vs.INTERPRETATION_POSITIVE, pairs):
        return True
    return None


def value_positivity(holder: Resource, vocab: Vocab) -> bool | None:
    """Read a qualitative value[x]: CodeableConcept, string or boolean."""
    if "valueCodeableConcept" in holder:
        return concept_positivity(holder["valueCodeableConcept"], vocab)
    if isinstance(holder.get("valueString"), str):
        return text_positivity(holder["valueString"])
    if isinstance(holder.get("valueBoolean"), bool):
        return bool(holder["valueBoolean"])
    return None


def presence(obs: Resource, vocab: Vocab) -> bool | None:
    """Read a presence test: qualitative value, quantity > 0, else the interpretation."""
    found = value_positivity(obs, vocab)
    quantity = obs.get("valueQuantity")
    if (
        found is None
        and isinstance(quantity, dict)
        and isinstance(quantity.get("value"), int | float)
    ):
        comparator = quantity.get("comparator")
        # "< x" is below the detection limit; "> x" and any plain value above 0 are detected.
        found = (
            False
            if comparator in ("<", "<=")
            else quantity["value"] > 0 or comparator in (">", ">=")
        )
    return found if found is not None else interpretation_positivity(obs, vocab)
