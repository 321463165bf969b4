"""Counts and vitals: WBC at diagnosis, ANC, weight, height, BSA, CNS status (CLINICAL.md §1)."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date

from cds_service.fhir.normalize.common import (
    Pair,
    Resource,
    Vocab,
    codings,
    latest,
    observation_date,
    quantity,
    shift,
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
_VITALS = (vs.BODY_WEIGHT, vs.BODY_HEIGHT, vs.BSA)
_CNS_TEXT = re.compile(r"^\s*cns\s*-?\s*([123])", re.IGNORECASE)

Reading = tuple[date, float, Resource]
# Says whether a resource may be read (valid R4); the readers below ask it only of the reading
# they would pick, then of the next best, so years of results are not all validated.
Check = Callable[[Resource], bool]
# For each code of a measurement, the [first, last] days in which its results are read.
Windows = Mapping[Pair, tuple[tuple[date, date], ...]]


def read_windows(
    vocab: Vocab, limits: Mapping[str, float], today: date, diagnosed: date | None
) -> Windows:
    """Return the date windows the readers below look in, per code (see may_be_read)."""
    vitals = limits["vitals_window_days"]
    spans: list[tuple[str, date, float, float]] = [
        (vs.ANC, today, limits["anc_window_days"], 0),
        *((name, today, vitals, 0) for name in _VITALS),
    ]
    if diagnosed is not None:  # without a diagnosis date no WBC is read at all
        days = limits["wbc_window_days"]
        spans.append((vs.WBC, diagnosed, days, days))
    index: dict[Pair, tuple[tuple[date, date], ...]] = {}
    for name, centre, before, after in spans:
        # The same bounds as ``within(day, centre, before, after)``.
        bounds = (shift(centre, -before), shift(centre, after))
        for pair in vocab.sets.get(name, frozenset()):
            index[pair] = (*index.get(pair, ()), bounds)
    return index


def may_be_read(obs: Resource, pairs: Sequence[Pair], windows: Windows) -> bool:
    """Say whether a measurement falls in the window of one of its codes (else nobody reads it).

    Exactly the ``within`` tests of ``latest_within`` and ``wbc_at_diagnosis``: a result outside
    them can never become a fact, so it need not be validated.
    """
    when = None  # dated only when a code has a window: this runs for years of labs
    for pair in pairs:
        for first, last in windows.get(pair, ()):
            when = when or observation_date(obs)
            if when is None:
                return False
            if first <= when <= last:
                return True
    return False


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
    observations: Sequence[Resource],
    vocab: Vocab,
    diagnosed: date | None,
    window_days: float,
    valid: Check | None = None,
) -> Fact[float]:
    """Return the WBC nearest the diagnosis date within ± the window, in 10*3/uL."""
    if diagnosed is None:
        return Fact()
    near = [
        r
        for r in readings(observations, vocab, vs.WBC, _COUNT_FACTORS)
        if within(r[0], diagnosed, window_days, window_days)
    ]
    # Nearest first, then earliest; ``sorted`` is stable, so the first listed wins a full tie.
    ranked = sorted(near, key=lambda r: (abs((r[0] - diagnosed).days), r[0]))
    found = _first_valid(ranked, valid)
    if found is None:
        return Fact()
    when, value, obs = found
    return Fact(round(value, 3), (source(obs, when),))


def latest_within(
    observations: Sequence[Resource],
    vocab: Vocab,
    value_set: str,
    today: date,
    days: float,
    factors: Mapping[str, float],
    valid: Check | None = None,
) -> Fact[float]:
    """Return the latest value of a measurement taken in the last ``days`` days."""
    recent = [
        r for r in readings(observations, vocab, value_set, factors) if within(r[0], today, days, 0)
    ]
    # Latest first; ``sorted`` keeps the listed order among equal dates (as ``latest`` does).
    found = _first_valid(sorted(recent, key=lambda r: r[0], reverse=True), valid)
    if found is None:
        return Fact()
    when, value, obs = found
    return Fact(round(value, 3), (source(obs, when),))


def _first_valid(ranked: Iterable[Reading], valid: Check | None) -> Reading | None:
    return next((r for r in ranked if valid is None or valid(r[2])), None)


def anc(
    observations: Sequence[Resource],
    vocab: Vocab,
    today: date,
    days: float,
    valid: Check | None = None,
) -> Fact[float]:
    """Return the latest ANC of the last ``days`` days, in 10*3/uL."""
    return latest_within(observations, vocab, vs.ANC, today, days, _COUNT_FACTORS, valid)


def body_size(
    observations: Sequence[Resource],
    vocab: Vocab,
    today: date,
    days: float,
    tolerance: float,
    valid: Check | None = None,
) -> tuple[Fact[float], Fact[float], Fact[float], Fact[bool]]:
    """Return weight (kg), height (cm), BSA (m²; charted, else Mosteller) and the BSA flag."""
    read = observations, vocab
    weight = latest_within(*read, vs.BODY_WEIGHT, today, days, _WEIGHT_FACTORS, valid)
    height = latest_within(*read, vs.BODY_HEIGHT, today, days, _HEIGHT_FACTORS, valid)
    charted = latest_within(*read, vs.BSA, today, days, _BSA_FACTORS, valid)
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
