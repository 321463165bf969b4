"""Conditions and disease-status events: diagnosis, line of therapy, relapses, HCT, relapse sites.

CLINICAL.md §1 rows "has B-ALL", "disease state", "prior HCT", "extramedullary relapse site".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from cds_service.fhir.normalize.common import (
    Pair,
    Resource,
    Vocab,
    codings,
    fhir_date,
    observation_date,
    source,
)
from cds_service.fhir.shapes import listed
from cds_service.pathway import vocab as vs
from cds_service.pathway.facts import Fact, Source

HISTOLOGY_EXTENSION = (
    "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-histology-morphology-behavior"
)
# Condition.verificationStatus values that mean "this is not the patient's condition".
NOT_A_CONDITION = frozenset({"entered-in-error", "refuted"})
_ALL_SETS = (vs.DIAGNOSIS_B_ALL, vs.DIAGNOSIS_ALL_UNSPECIFIED, vs.DIAGNOSIS_T_ALL)


@dataclass(frozen=True)
class StatusEvent:
    """A dated statement of disease state: "relapse", "remission" or "refractory"."""

    kind: str
    date: date | None
    source: Source
    sites: frozenset[str] = frozenset()  # "cns", "testis", "marrow" (relapse Conditions)


def condition_codes(condition: Resource) -> list[Pair]:
    """Return Condition.code codings plus the mCODE histology-morphology codings."""
    pairs = codings(condition.get("code"))
    for ext in listed(condition.get("extension")):
        if isinstance(ext, dict) and ext.get("url") == HISTOLOGY_EXTENSION:
            pairs += codings(ext.get("valueCodeableConcept"))
    return pairs


def is_relevant_condition(condition: Resource, vocab: Vocab) -> bool:
    """Say whether the pathway reads this Condition (cheap: no validation)."""
    status = {code for _, code in codings(condition.get("verificationStatus"))}
    if status & NOT_A_CONDITION:
        return False
    pairs = condition_codes(condition)
    return any(vocab.has(name, pairs) for name in (*_ALL_SETS, vs.HCT_HISTORY))


def condition_date(condition: Resource) -> date | None:
    """Return the onset (dateTime or period start), else the recorded date."""
    period = condition.get("onsetPeriod")
    start = period.get("start") if isinstance(period, dict) else None
    return (
        fhir_date(condition.get("onsetDateTime"))
        or fhir_date(start)
        or fhir_date(condition.get("recordedDate"))
    )


def leukemia_conditions(conditions: Iterable[Resource], vocab: Vocab) -> list[Resource]:
    """Return the ALL Conditions (B, T or unspecified lineage)."""
    return [c for c in conditions if any(vocab.has(n, condition_codes(c)) for n in _ALL_SETS)]


def diagnosis(conditions: Sequence[Resource], vocab: Vocab) -> tuple[Fact[str], Fact[date]]:
    """Return the diagnosis ("b-all" or "t-all") and the date of the earliest ALL Condition."""
    leukemia = leukemia_conditions(conditions, vocab)
    if not leukemia:
        return Fact(), Fact()
    b_lineage = any(vocab.has(vs.DIAGNOSIS_B_ALL, condition_codes(c)) for c in leukemia)
    t_lineage = any(vocab.has(vs.DIAGNOSIS_T_ALL, condition_codes(c)) for c in leukemia)
    # A T-ALL code outranks an unspecified-lineage ALL code; a B-lineage code outranks both.
    label = "t-all" if t_lineage and not b_lineage else "b-all"
    dated = sorted(
        ((d, c) for c in leukemia if (d := condition_date(c)) is not None), key=lambda x: x[0]
    )
    sources = tuple(source(c, condition_date(c)) for c in leukemia)
    if not dated:
        return Fact(label, sources), Fact()
    first_day, first = dated[0][0], dated[0][1]
    return Fact(label, sources), Fact(first_day, (source(first, first_day),))


def condition_events(conditions: Sequence[Resource], vocab: Vocab) -> list[StatusEvent]:
    """Return relapse and remission events stated by ALL Conditions."""
    events = []
    for condition in leukemia_conditions(conditions, vocab):
        status = {code for _, code in codings(condition.get("clinicalStatus"))}
        pairs = condition_codes(condition)
        if status & {"relapse", "recurrence"} or vocab.has(vs.DIAGNOSIS_RELAPSE, pairs):
            when = condition_date(condition)
            sites = body_sites(condition.get("bodySite"), vocab)
            events.append(StatusEvent("relapse", when, source(condition, when), sites))
        elif "remission" in status or vocab.has(vs.DIAGNOSIS_REMISSION, pairs):
            when = fhir_date(condition.get("abatementDateTime")) or fhir_date(
                condition.get("recordedDate")
            )
            events.append(StatusEvent("remission", when, source(condition, when)))
    return events


def observation_events(observations: Sequence[Resource], vocab: Vocab) -> list[StatusEvent]:
    """Return events from disease-status Observations (mCODE CancerDiseaseStatus, phases)."""
    events = []
    kinds = (
        ("relapse", vs.STATUS_RELAPSE),
        ("remission", vs.STATUS_REMISSION),
        ("refractory", vs.STATUS_REFRACTORY),
    )
    for obs in observations:
        if not vocab.has(vs.DISEASE_STATUS, codings(obs.get("code"))):
            continue
        value = codings(obs.get("valueCodeableConcept"))
        for kind, name in kinds:
            if vocab.has(name, value):
                when = observation_date(obs)
                # A relapse status may name its site (a disease-site Observation, CLINICAL.md §1).
                sites = body_sites(obs.get("bodySite"), vocab) if kind == "relapse" else frozenset()
                events.append(StatusEvent(kind, when, source(obs, when), sites))
    return events


def body_sites(concepts: object, vocab: Vocab) -> frozenset[str]:
    """Map bodySite (or Observation value) codings to "cns", "testis", "marrow"."""
    pairs = codings(concepts if isinstance(concepts, list) else [concepts])
    names = (("cns", vs.SITE_CNS), ("testis", vs.SITE_TESTIS), ("marrow", vs.SITE_MARROW))
    return frozenset(label for label, name in names if vocab.has(name, pairs))


def hct_history(conditions: Sequence[Resource], vocab: Vocab) -> list[tuple[date | None, Source]]:
    """Return HCT-status Conditions (ICD-10-CM Z94.84) with their dates."""
    return [
        (condition_date(c), source(c, condition_date(c)))
        for c in conditions
        if vocab.has(vs.HCT_HISTORY, condition_codes(c))
    ]
