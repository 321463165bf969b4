"""Pick the resources the pathway reads from a chart, cheaply, and validate what must be.

Each raw resource is first checked on the dict (codes, status, date windows); only the kept ones
are validated with fhir.resources, and the windowed counts and vitals only when a reader picks
one (``Chart.series`` with ``Chart.valid``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import Any

from cds_service.fhir.normalize import conditions as cond
from cds_service.fhir.normalize import labs, treatment
from cds_service.fhir.normalize.common import Resource, Validator, Vocab, codings
from cds_service.pathway.knowledge import Knowledge

# Observation.status values that count as a result (entered-in-error, cancelled, registered don't).
RESULT_STATUS = frozenset({"preliminary", "final", "amended", "corrected"})


@dataclass(frozen=True)
class Chart:
    """The validated, relevant resources by prefetch key (None = the key could not be read).

    ``series`` holds the counts and vital signs inside their read windows, not yet validated
    (``valid`` is asked only of the one each reader picks); ``observations`` the other results.
    """

    patient: Resource | None
    conditions: list[Resource] | None
    observations: list[Resource] | None
    series: list[Resource] | None
    valid: Callable[[Resource], bool]
    medications: list[Resource] | None
    procedures: list[Resource] | None
    service_requests: list[Resource] | None
    research_subjects: list[Resource] | None


def select(
    resources: Mapping[str, Sequence[Mapping[str, Any]]],
    unavailable: frozenset[str],
    vocab: Vocab,
    validator: Validator,
    ingredients_of: Callable[[Mapping[str, Any]], frozenset[str]],
    knowledge: Knowledge,
    today: date,
) -> Chart:
    def pick(key: str, kind: str, relevant: Callable[[Resource], bool]) -> list[Resource] | None:
        chosen = _relevant(resources, unavailable, key, kind, relevant)
        return None if chosen is None else validator.keep_valid(chosen)

    patients = pick("patient", "Patient", lambda r: True)
    conditions = pick("conditions", "Condition", lambda r: cond.is_relevant_condition(r, vocab))
    # The diagnosis date places the WBC window, so conditions are read before observations.
    diagnosed = cond.diagnosis(conditions or [], vocab)[1].value
    windows = labs.read_windows(vocab, knowledge.thresholds, today, diagnosed)
    results = _relevant(
        resources,
        unavailable,
        "observations",
        "Observation",
        partial(_is_relevant_result, vocab=vocab, windows=windows),  # no lambda frame per result
    )
    observations, series = _split_results(results, vocab, validator)
    return Chart(
        patient=patients[0] if patients else None,
        conditions=conditions,
        observations=observations,
        series=series,
        valid=validator.is_valid,
        medications=pick(
            "medications",
            "MedicationRequest",
            lambda r: treatment.is_active_therapy(r, ingredients_of),
        ),
        procedures=pick("procedures", "Procedure", lambda r: treatment.is_hct(r, vocab)),
        service_requests=pick(
            "serviceRequests", "ServiceRequest", lambda r: treatment.is_hct(r, vocab)
        ),
        research_subjects=pick(
            "researchSubjects",
            "ResearchSubject",
            lambda r: treatment.is_active_research_subject(r, vocab),
        ),
    )


def _relevant(
    resources: Mapping[str, Sequence[Mapping[str, Any]]],
    unavailable: frozenset[str],
    key: str,
    kind: str,
    relevant: Callable[[Resource], bool],
) -> list[Resource] | None:
    # A key that is absent or unreadable is unknown data, not "no data".
    if key in unavailable or key not in resources or resources[key] is None:
        return None
    # dict first: decoded JSON is a dict, and the abstract Mapping check alone costs more than
    # the type test (this runs for every resource of a chart).
    return [
        r
        for r in resources[key]
        if isinstance(r, (dict, Mapping)) and r.get("resourceType") == kind and relevant(r)
    ]


def _split_results(
    results: list[Resource] | None, vocab: Vocab, validator: Validator
) -> tuple[list[Resource] | None, list[Resource] | None]:
    """Validate the results read in full now; leave the windowed counts and vitals for later.

    A count or vital is read by one reader that wants one result (the latest, the nearest), so
    it is validated only when picked. Anything else (a code read whatever its date, or any
    component, which the genomics reader looks into) is validated here, as before.
    """
    if results is None:
        return None, None
    lazy = [_read_lazily(r, vocab) for r in results]
    series = [r for r, later in zip(results, lazy, strict=True) if later or validator.is_valid(r)]
    observations = [r for r, later in zip(results, lazy, strict=True) if not later
                    and validator.is_valid(r)]  # fmt: skip
    return observations, series


def _read_lazily(obs: Resource, vocab: Vocab) -> bool:
    return "component" not in obs and vocab.always_read_codes.isdisjoint(codings(obs.get("code")))


def _is_relevant_result(obs: Resource, vocab: Vocab, windows: labs.Windows) -> bool:
    status = obs.get("status")
    if type(status) is not str or status not in RESULT_STATUS:
        return False
    pairs = codings(obs.get("code"))
    # isdisjoint runs in C: this test runs for every Observation of a chart (years of labs).
    if not vocab.always_read_codes.isdisjoint(pairs):
        return True
    # A count or vital sign outside every window it could be read in is never validated.
    return not vocab.observation_codes.isdisjoint(pairs) and labs.may_be_read(obs, pairs, windows)
