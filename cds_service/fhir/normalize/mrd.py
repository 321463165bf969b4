"""MRD results and the MRD facts derived from them (CLINICAL.md §1 "MRD results", "EOI MRD",
"persistent MRD"). No LOINC code for MRD was verified: the code list is the `mrd` value set.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from cds_service.fhir.normalize.common import (
    Resource,
    Vocab,
    codings,
    observation_date,
    shift,
    source,
    texts,
)
from cds_service.fhir.normalize.results import (
    concept_positivity,
    interpretation_positivity,
    text_positivity,
)
from cds_service.fhir.shapes import listed
from cds_service.pathway import vocab as vs
from cds_service.pathway.facts import Fact, MrdResult

TIMEPOINTS = frozenset({"day8", "eoi", "eoc", "pre-hct", "post-relapse-eoi"})
_PERCENT = frozenset({"%", "percent"})


def mrd_result(obs: Resource, vocab: Vocab, positive_at: float) -> MrdResult | None:
    """Read one MRD Observation (None when it has no date: it cannot be placed in time)."""
    when = observation_date(obs)
    if when is None:
        return None
    percent, comparator, positive = _quantity(obs, positive_at)
    if positive is None and "valueCodeableConcept" in obs:
        positive = concept_positivity(obs["valueCodeableConcept"], vocab)
    if positive is None and isinstance(obs.get("valueString"), str):
        positive = text_positivity(obs["valueString"])
    if positive is None and percent is None:
        positive = interpretation_positivity(obs, vocab)
    return MrdResult(when, positive, percent, _timepoint(obs, vocab), source(obs, when), comparator)


def _quantity(obs: Resource, positive_at: float) -> tuple[float | None, str | None, bool | None]:
    quantity = obs.get("valueQuantity")
    if not isinstance(quantity, dict) or not isinstance(quantity.get("value"), int | float):
        return None, None, None
    unit = str(quantity.get("code") or quantity.get("unit") or "").strip().lower()
    if unit not in _PERCENT:
        return None, None, None  # an unknown unit is unknown, never a guess
    value, comparator = float(quantity["value"]), quantity.get("comparator")
    if comparator in ("<", "<="):
        # "< 0.01 %" (or lower) is negative; "< 0.05 %" may hide a positive result.
        below = value <= positive_at if comparator == "<" else value < positive_at
        return value, comparator, (False if below else None)
    if comparator in (">", ">="):
        return value, comparator, (True if value >= positive_at else None)
    return value, None, value >= positive_at


def _timepoint(obs: Resource, vocab: Vocab) -> str | None:
    for component in listed(obs.get("component")):
        if not isinstance(component, dict):
            continue
        if not vocab.has(vs.MRD_TIMEPOINT, codings(component.get("code"))):
            continue
        values: list[Any] = [code for _, code in codings(component.get("valueCodeableConcept"))]
        values += texts(component.get("valueCodeableConcept"))
        values.append(component.get("valueString"))
        for value in values:
            if isinstance(value, str) and value.strip().lower() in TIMEPOINTS:
                return value.strip().lower()
    return None


def _first(results: Sequence[MrdResult]) -> Fact[MrdResult]:
    if not results:
        return Fact()
    chosen = min(results, key=lambda r: r.date)
    return Fact(chosen, (chosen.source,) if chosen.source else ())


def _in_window(result: MrdResult, start: date, low: float, high: float) -> bool:
    return shift(start, low) <= result.date <= shift(start, high)


def eoi_mrd(
    results: Sequence[MrdResult],
    diagnosed: date | None,
    relapsed: date | None,
    window: tuple[float, float],
) -> Fact[MrdResult]:
    """Return the first-line EOI MRD: tagged "eoi", else the first untagged one 21–49 days in."""
    first_line = [r for r in results if relapsed is None or r.date < relapsed]
    tagged = [r for r in first_line if r.timepoint == "eoi"]
    if tagged or diagnosed is None:
        return _first(tagged)
    return _first(
        [r for r in first_line if r.timepoint is None and _in_window(r, diagnosed, *window)]
    )


def relapse_eoi_mrd(
    results: Sequence[MrdResult], relapsed: date | None, window: tuple[float, float]
) -> Fact[MrdResult]:
    """Return the MRD after relapse re-induction (second remission), tagged or by window."""
    after = [r for r in results if relapsed is None or r.date >= relapsed]
    tagged = [r for r in after if r.timepoint == "post-relapse-eoi"]
    if tagged or relapsed is None:
        return _first(tagged)
    return _first([r for r in after if r.timepoint is None and _in_window(r, relapsed, *window)])


def persistent_mrd(
    results: Sequence[MrdResult], eoi: Fact[MrdResult], relapsed: date | None
) -> Fact[bool]:
    """Say whether a positive EOI MRD stayed positive at the next (end-of-consolidation) result."""
    if eoi.value is None or eoi.value.positive is None:
        return Fact()
    if eoi.value.positive is False:
        return Fact(False, eoi.sources)
    start = eoi.value.date
    later = [r for r in results if r.date > start and (relapsed is None or r.date < relapsed)]
    eoc = [r for r in later if r.timepoint == "eoc"] or later
    following = _first(eoc)
    if following.value is None or following.value.positive is None:
        return Fact()
    return Fact(following.value.positive, eoi.sources + following.sources)


def latest_mrd(results: Sequence[MrdResult]) -> Fact[MrdResult]:
    """Return the most recent MRD result."""
    if not results:
        return Fact()
    chosen = max(results, key=lambda r: r.date)
    return Fact(chosen, (chosen.source,) if chosen.source else ())
