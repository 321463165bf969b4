"""FHIR resources -> PatientFacts (DESIGN.md data flow; CLINICAL.md §1 is the truth).

Cheap first (``select``): each raw resource is checked on the dict against the knowledge code
lists, its status and, for counts and vitals, the date windows they are read in; only what the
pathway reads is validated with fhir.resources, and an invalid one is skipped and counted. A
prefetch key that could not be read leaves the facts it alone feeds unknown (never False).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from cds_service.fhir.normalize import conditions as cond
from cds_service.fhir.normalize import genomics, labs, mrd, state, treatment
from cds_service.fhir.normalize.common import (
    Resource,
    Validator,
    Vocab,
    age_in_months,
    age_in_years,
    codings,
    fhir_date,
    observation_date,
    source,
    vocab_for,
)
from cds_service.fhir.normalize.select import RESULT_STATUS, Chart, select
from cds_service.pathway import vocab as vs
from cds_service.pathway.facts import Fact, MrdResult, PatientFacts
from cds_service.pathway.knowledge import Knowledge

__all__ = ["RESULT_STATUS", "NormalizeResult", "normalize"]


@dataclass(frozen=True)
class NormalizeResult:
    """The facts, and how many relevant resources were skipped as invalid R4."""

    facts: PatientFacts
    skipped: int


def normalize(
    resources: Mapping[str, Sequence[Mapping[str, Any]]],
    knowledge: Knowledge,
    today: date,
    unavailable: frozenset[str] = frozenset(),
    *,
    ingredients_of: Callable[[Mapping[str, Any]], frozenset[str]] | None = None,
) -> NormalizeResult:
    """Read one child's facts from the prefetched resources."""
    if ingredients_of is None:
        from cds_service.fhir.medications import ingredients_of as shipped

        ingredients_of = shipped
    vocab = vocab_for(knowledge)
    validator = Validator()
    chart = select(resources, unavailable, vocab, validator, ingredients_of, knowledge, today)
    facts = _facts(chart, vocab, knowledge.thresholds, today, ingredients_of)
    return NormalizeResult(facts, validator.skipped)


def _facts(
    chart: Chart,
    vocab: Vocab,
    limits: Mapping[str, float],
    today: date,
    ingredients_of: Callable[[Mapping[str, Any]], frozenset[str]],
) -> PatientFacts:
    patient = chart.patient
    born = fhir_date(patient.get("birthDate")) if patient else None
    birth = Fact(born, (source(patient),)) if born and patient else Fact()
    age = age_in_years(born, today) if born else None
    diagnosis, diagnosed = cond.diagnosis(chart.conditions or [], vocab)
    at_diagnosis = age_in_months(born, diagnosed.value) if born and diagnosed.value else None
    months = Fact(at_diagnosis, birth.sources + diagnosed.sources) if at_diagnosis else Fact()
    observed = _observed(chart, vocab, limits, today, diagnosed.value)
    wbc = observed["wbc_at_diagnosis"]
    return PatientFacts(
        today=today,
        patient_id=str(patient.get("id")) if patient and patient.get("id") else None,
        birth_date=birth,
        age_years=Fact(age, birth.sources) if age is not None else Fact(),
        diagnosis=diagnosis,
        diagnosis_date=diagnosed,
        age_at_diagnosis_months=months,
        nci_risk=_nci_risk(months, wbc, limits),
        trial_enrolled=_enrolled(chart.research_subjects),
        **observed,
        **_treated(chart, vocab, ingredients_of),
        **_disease(chart, vocab, limits, diagnosed),
    )


def _observed(
    chart: Chart, vocab: Vocab, limits: Mapping[str, float], today: date, diagnosed: date | None
) -> dict[str, Any]:
    observations, conditions = chart.observations or [], chart.conditions or []
    series, valid = chart.series or [], chart.valid
    weight, height, bsa, bsa_flag = labs.body_size(
        series,
        vocab,
        today,
        limits["vitals_window_days"],
        limits["bsa_discrepancy_fraction"],
        valid,
    )
    ph, kmt2a = genomics.genomic_status(observations, conditions, vocab)
    return {
        "wbc_at_diagnosis": labs.wbc_at_diagnosis(
            series, vocab, diagnosed, limits["wbc_window_days"], valid
        ),
        # Without the Observations only a positive (from a diagnosis code) can be known.
        "ph_status": ph if chart.observations is not None or ph.known else Fact(),
        "kmt2a_status": kmt2a if chart.observations is not None or kmt2a.known else Fact(),
        "cns_status": labs.cns_status(observations, vocab),
        "anc": labs.anc(series, vocab, today, limits["anc_window_days"], valid),
        "weight_kg": weight,
        "height_cm": height,
        "bsa_m2": bsa,
        "bsa_discrepancy": bsa_flag,
    }


def _treated(
    chart: Chart, vocab: Vocab, ingredients_of: Callable[[Mapping[str, Any]], frozenset[str]]
) -> dict[str, Any]:
    history = cond.hct_history(chart.conditions, vocab) if chart.conditions is not None else None
    prior, hct_date, requested = treatment.hct_facts(
        chart.procedures, chart.service_requests, history
    )
    therapies: Fact[frozenset[str]] = Fact()
    if chart.medications is not None:
        therapies = treatment.therapies(chart.medications, ingredients_of)
    return {
        "prior_hct": prior,
        "hct_date": hct_date,
        "hct_requested": requested,
        "therapies": therapies,
    }


def _disease(
    chart: Chart, vocab: Vocab, limits: Mapping[str, float], diagnosed_fact: Fact[date]
) -> dict[str, Any]:
    diagnosed = diagnosed_fact.value
    conditions, observations = chart.conditions or [], chart.observations or []
    events = cond.condition_events(conditions, vocab) + cond.observation_events(observations, vocab)
    disease = state.disease_state(events, diagnosed)
    relapsed = disease.relapse_date.value
    results = _mrd_results(observations, vocab, limits["mrd_positive_percent"])
    window = (limits["eoi_window_min_days"], limits["eoi_window_max_days"])
    eoi = mrd.eoi_mrd(results, diagnosed, relapsed, window)
    site_obs = [
        (observation_date(o), cond.body_sites(o.get("valueCodeableConcept"), vocab), source(o))
        for o in observations
        if vocab.has(vs.RELAPSE_SITE, codings(o.get("code")))
    ]
    marrow_window = limits["relapse_marrow_window_days"]
    sites, site_sources = state.relapse_sites(events, site_obs, relapsed, marrow_window)
    in_relapse = disease.line.value in ("first-relapse", "multiple-relapse")
    site, isolated = (
        state.isolated_extramedullary(sites, site_sources, results, relapsed, marrow_window)
        if in_relapse
        else (Fact(), Fact())
    )
    return {
        # First line is read from the diagnosis itself when nothing says otherwise.
        "line": Fact(disease.line.value, disease.line.sources or diagnosed_fact.sources)
        if chart.conditions
        else Fact(),
        "relapse_count": disease.relapse_count,
        "relapse_date": disease.relapse_date,
        "in_remission": disease.in_remission,
        "mrd_results": tuple(sorted(results, key=lambda r: r.date)),
        "eoi_mrd": eoi,
        "relapse_eoi_mrd": mrd.relapse_eoi_mrd(results, relapsed, window),
        "latest_mrd": mrd.latest_mrd(results),
        "persistent_mrd": mrd.persistent_mrd(results, eoi, relapsed),
        "extramedullary_site": site,
        "isolated_extramedullary": isolated,
    }


def _mrd_results(
    observations: Sequence[Resource], vocab: Vocab, positive_at: float
) -> list[MrdResult]:
    return [
        r
        for obs in observations
        if vocab.has(vs.MRD, codings(obs.get("code")))
        and (r := mrd.mrd_result(obs, vocab, positive_at)) is not None
    ]


def _nci_risk(months: Fact[float], wbc: Fact[float], limits: Mapping[str, float]) -> Fact[str]:
    # CLINICAL.md §1 "NCI risk group": infant < 1 year; high at ≥ 10 years or WBC ≥ 50.
    if months.value is None:
        return Fact()
    if months.value < limits["infant_age_months"]:
        return Fact("infant", months.sources)
    if months.value >= limits["nci_high_risk_age_months"]:
        return Fact("high", months.sources)
    if wbc.value is None:
        return Fact()
    risk = "high" if wbc.value >= limits["wbc_high_risk"] else "standard"
    return Fact(risk, months.sources + wbc.sources)


def _enrolled(subjects: list[Resource] | None) -> Fact[bool]:
    if subjects is None:
        return Fact()
    return Fact(bool(subjects), tuple(source(s) for s in subjects))
