"""Turn facts into the card's "why" lines and template values (pure; no FHIR, no Flask)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from cds_service.pathway.facts import Fact, MrdResult, PatientFacts
from cds_service.pathway.findings import Reason

LABELS: Mapping[str, str] = {
    "age_years": "Age",
    "birth_date": "Birth date",
    "diagnosis": "Diagnosis",
    "diagnosis_date": "Diagnosis date",
    "age_at_diagnosis_months": "Age at diagnosis",
    "line": "Disease state",
    "relapse_count": "Relapses",
    "relapse_date": "Latest relapse",
    "in_remission": "In remission",
    "ph_status": "BCR::ABL1 (Ph)",
    "kmt2a_status": "KMT2A",
    "wbc_at_diagnosis": "WBC at diagnosis",
    "nci_risk": "NCI risk group",
    "eoi_mrd": "End-of-induction MRD",
    "eoi_mrd_positive": "End-of-induction MRD",
    "relapse_eoi_mrd": "MRD after relapse re-induction",
    "relapse_mrd_positive": "MRD after relapse re-induction",
    "current_eoi_mrd_positive": "End-of-induction MRD (current line)",
    "latest_mrd": "Latest MRD",
    "latest_mrd_positive": "Latest MRD",
    "persistent_mrd": "MRD persistent after consolidation",
    "cns_status": "CNS status",
    "extramedullary_site": "Extramedullary relapse site",
    "isolated_extramedullary": "Isolated extramedullary relapse",
    "prior_hct": "Prior HCT",
    "hct_date": "HCT date",
    "relapse_after_hct": "Relapse after HCT",
    "hct_requested": "HCT requested",
    "therapies": "Active pathway therapies",
    "anc": "ANC",
    "weight_kg": "Weight",
    "height_cm": "Height",
    "bsa_m2": "Body surface area",
    "bsa_discrepancy": "Charted BSA differs > 10 % from computed",
    "trial_enrolled": "Enrolled on a clinical trial",
    "line_start_date": "Start of the current line (diagnosis or relapse)",
}
UNITS: Mapping[str, str] = {
    "age_years": "years",
    "age_at_diagnosis_months": "months",
    "wbc_at_diagnosis": "×10^3/µL",
    "anc": "×10^3/µL",
    "weight_kg": "kg",
    "height_cm": "cm",
    "bsa_m2": "m²",
}
# Facts whose value is read from a derived MRD fact: show the result, not just "yes"/"no".
_MRD_BEHIND = {
    "eoi_mrd_positive": "eoi_mrd",
    "relapse_mrd_positive": "relapse_eoi_mrd",
    "latest_mrd_positive": "latest_mrd",
}


def reason(name: str, fact: Fact[Any], facts: PatientFacts) -> Reason | None:
    """Describe one known fact as a Reason (label, value with units and date, sources)."""
    if name in _MRD_BEHIND:
        fact = getattr(facts, _MRD_BEHIND[name])
    if fact.value is None:
        return None
    text = format_fact(name, fact.value)
    dated = next((s.date for s in fact.sources if s.date is not None), None)
    if dated is not None and not isinstance(fact.value, date | MrdResult):
        text = f"{text}, {dated.isoformat()}"
    return Reason(LABELS.get(name, name.replace("_", " ").capitalize()), text, fact.sources)


def format_fact(name: str, value: Any) -> str:
    """Render a fact value as short text with its unit."""
    if isinstance(value, MrdResult):
        return format_mrd(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, frozenset):
        return ", ".join(sorted(value)) or "none active"
    if isinstance(value, float):
        number = f"{value:.2f}".rstrip("0").rstrip(".")
        return f"{number} {UNITS[name]}" if name in UNITS else number
    return str(value)


def format_mrd(result: MrdResult) -> str:
    """Render an MRD result, e.g. "0.05 % (positive), 2026-03-02, eoi"."""
    state = {True: "positive", False: "negative", None: "positivity unknown"}[result.positive]
    if result.value_percent is not None:
        number = f"{result.value_percent:g}"
        head = f"{result.comparator or ''}{number} % ({state})"
    else:
        head = state
    tail = f", {result.timepoint}" if result.timepoint else ""
    return f"{head}, {result.date.isoformat()}{tail}"


def template_values(facts: PatientFacts, thresholds: Mapping[str, float]) -> dict[str, Any]:
    """Collect the values card templates may use (unknown ones are left out)."""
    today = facts.today
    values: dict[str, Any] = {
        "diagnosis_date": facts.diagnosis_date.value,
        "relapse_date": facts.relapse_date.value,
        "age_years": _rounded(facts.age_years.value),
        "age_months": _rounded(facts.age_at_diagnosis_months.value),
        "age_at_diagnosis_months": _rounded(facts.age_at_diagnosis_months.value),
        "bsa_m2": _rounded(facts.bsa_m2.value),
        "weight_kg": facts.weight_kg.value,
        "height_cm": facts.height_cm.value,
        "anc": facts.anc.value,
        "wbc_at_diagnosis": facts.wbc_at_diagnosis.value,
        "nci_risk": facts.nci_risk.value,
        "ph_status": facts.ph_status.value,
        "kmt2a_status": facts.kmt2a_status.value,
        "cns_status": facts.cns_status.value,
        "phase": facts.line.value,
        "has_trial": facts.trial_enrolled.value,
        "therapies": sorted(facts.therapies.value) if facts.therapies.value is not None else None,
    }
    if facts.diagnosis_date.value is not None:
        values["days_since_diagnosis"] = (today - facts.diagnosis_date.value).days
    if facts.relapse_date.value is not None:
        values["days_since_relapse"] = (today - facts.relapse_date.value).days
    for key, fact in (("eoi_mrd", facts.eoi_mrd), ("latest_mrd", facts.latest_mrd)):
        if fact.value is not None:
            values[key] = format_mrd(fact.value)
            values[f"{key}_percent"] = fact.value.value_percent
    if facts.anc.value is not None:
        # neutropenia card: < 0.5 ×10^3/uL is grade 4 (CLINICAL.md §2 gap table).
        values["anc_grade4"] = facts.anc.value < thresholds["severe_neutropenia_anc"]
    return {key: value for key, value in values.items() if value is not None}


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
