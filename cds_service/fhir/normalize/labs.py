"""Counts and vitals: WBC at diagnosis, ANC, weight, height, BSA, CNS status (CLINICAL.md §1)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from datetime import date

from cds_service.fhir.normalize.common import (
    Resource,
    Vocab,
    codings,
    latest,
    observation_date,
    quantity,
    source,
    texts,
    within,
)
from cds_service.pathway import vocab as vs
from cds_service.pathway.facts import Fact

# Cell counts to 10*3/uL: 10*9/L is the same number; per-µL counts divide by 1000.
_COUNT_FACTORS: Mapping[str, float] = {
    "10*3/ul": 1.0,
    "10^3/ul": 1.0,
    "10*9/l": 1.0,
    "10^9/l": 1.0,
    "/ul": 0.001,
    "cells/ul": 0.001,
    "{cells}/ul": 0.001,
}
# Exact UCUM conversions only (no unit, or any other unit, stays unknown).
_WEIGHT_FACTORS: Mapping[str, float] = {"kg": 1.0, "g": 0.001, "[lb_av]": 0.45359237}
_HEIGHT_FACTORS: Mapping[str, float] = {"cm": 1.0, "m": 100.0, "[in_i]": 2.54}
_BSA_FACTORS: Mapping[str, float] = {"m2": 1.0, "m^2": 1.0, "m²": 1.0}
_CNS_TEXT = re.compile(r"^\s*cns\s*-?\s*([123])", re.IGNORECASE)

Reading = tuple[date, float, Resource]


def readings(
    observations: Sequence[Resource], vocab: Vocab, value_set: str, factors: Mapping[str, float]
) -> list[Reading]:
    """Return (date, value in the canonical unit, resource) for results with a known unit."""
    found = []
    for obs in observations:
        if not vocab.has(value_set, codings(obs.get("code"))):
            continue
        read, when = quantity(obs), observation_date(obs)
        if read is None or when is None or read[2] is not None:
            continue  # "<" or ">" counts are not a value to compare with a threshold
        factor = factors.get(read[1].lower() if value_set in (vs.WBC, vs.ANC) else read[1])
        if factor is not None:
            found.append((when, read[0] * factor, obs))
    return found


def wbc_at_diagnosis(
    observations: Sequence[Resource], vocab: Vocab, diagnosed: date | None, window_days: float
) -> Fact[float]:
    """Return the WBC nearest the diagnosis date within ± the window, in 10*3/uL."""
    if diagnosed is None:
        return Fact()
    near = [
        r
        for r in readings(observations, vocab, vs.WBC, _COUNT_FACTORS)
        if within(r[0], diagnosed, window_days, window_days)
    ]
    if not near:
        return Fact()
    when, value, obs = min(near, key=lambda r: (abs((r[0] - diagnosed).days), r[0]))
    return Fact(round(value, 3), (source(obs, when),))


def latest_within(
    observations: Sequence[Resource],
    vocab: Vocab,
    value_set: str,
    today: date,
    days: float,
    factors: Mapping[str, float],
) -> Fact[float]:
    """Return the latest value of a measurement taken in the last ``days`` days."""
    recent = [
        r for r in readings(observations, vocab, value_set, factors) if within(r[0], today, days, 0)
    ]
    found = latest([(r[0], r) for r in recent])
    if found is None:
        return Fact()
    when, value, obs = found[1]
    return Fact(round(value, 3), (source(obs, when),))


def anc(observations: Sequence[Resource], vocab: Vocab, today: date, days: float) -> Fact[float]:
    """Return the latest ANC of the last ``days`` days, in 10*3/uL."""
    return latest_within(observations, vocab, vs.ANC, today, days, _COUNT_FACTORS)


def body_size(
    observations: Sequence[Resource], vocab: Vocab, today: date, days: float, tolerance: float
) -> tuple[Fact[float], Fact[float], Fact[float], Fact[bool]]:
    """Return weight (kg), height (cm), BSA (m²; charted, else Mosteller) and the BSA flag."""
    weight = latest_within(observations, vocab, vs.BODY_WEIGHT, today, days, _WEIGHT_FACTORS)
    height = latest_within(observations, vocab, vs.BODY_HEIGHT, today, days, _HEIGHT_FACTORS)
    charted = latest_within(observations, vocab, vs.BSA, today, days, _BSA_FACTORS)
    computed: Fact[float] = Fact()
    if weight.value is not None and height.value is not None:
        mosteller = math.sqrt(height.value * weight.value / 3600)
        computed = Fact(round(mosteller, 3), weight.sources + height.sources)
    if charted.value is None:
        return weight, height, computed, Fact()
    if computed.value is None:
        return weight, height, charted, Fact()
    differs = abs(charted.value - computed.value) / computed.value > tolerance
    return weight, height, charted, Fact(differs, charted.sources + computed.sources)


def cns_status(observations: Sequence[Resource], vocab: Vocab) -> Fact[str]:
    """Return the latest CNS status (CNS1/2/3; subtypes such as CNS2a count as their group)."""
    found = []
    for obs in observations:
        if not vocab.has(vs.CNS_STATUS, codings(obs.get("code"))):
            continue
        value, when = _cns_value(obs, vocab), observation_date(obs)
        if value is not None and when is not None:
            found.append((when, (value, obs)))
    best = latest(found)
    if best is None:
        return Fact()
    value, obs = best[1]
    return Fact(value, (source(obs, best[0]),))


def _cns_value(obs: Resource, vocab: Vocab) -> str | None:
    pairs = codings(obs.get("valueCodeableConcept"))
    for label, name in (("CNS3", vs.CNS3), ("CNS2", vs.CNS2), ("CNS1", vs.CNS1)):
        if vocab.has(name, pairs):
            return label
    candidates = [*texts(obs.get("valueCodeableConcept")), obs.get("valueString")]
    for text in candidates:
        match = _CNS_TEXT.match(text) if isinstance(text, str) else None
        if match:
            return f"CNS{match[1]}"
    return None
