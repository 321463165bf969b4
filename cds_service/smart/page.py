"""What the viewer page shows, computed from facts and knowledge (pure: no Flask, no FHIR)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date
from typing import Any

from cds_service.pathway.engine import evaluate, in_scope
from cds_service.pathway.facts import Fact, MrdResult, PatientFacts
from cds_service.pathway.findings import Finding
from cds_service.pathway.knowledge import EvidenceRef, Knowledge

# The facts worth a row on the page, in reading order, with their labels.
FACT_LABELS = {
    "age_years": "Age (years)",
    "diagnosis": "Diagnosis",
    "diagnosis_date": "Diagnosed",
    "age_at_diagnosis_months": "Age at diagnosis (months)",
    "wbc_at_diagnosis": "WBC at diagnosis (×10³/µL)",
    "nci_risk": "NCI risk group",
    "ph_status": "Ph (BCR::ABL1)",
    "kmt2a_status": "KMT2A",
    "cns_status": "CNS status",
    "line": "Line of therapy",
    "relapse_count": "Relapses",
    "relapse_date": "Latest relapse",
    "in_remission": "In remission",
    "eoi_mrd": "End-of-induction MRD",
    "relapse_eoi_mrd": "MRD after relapse re-induction",
    "latest_mrd": "Latest MRD",
    "persistent_mrd": "Persistent MRD",
    "extramedullary_site": "Extramedullary relapse site",
    "prior_hct": "Prior HCT",
    "therapies": "Active therapies",
    "anc": "ANC (×10³/µL, last 7 days)",
    "weight_kg": "Weight (kg)",
    "height_cm": "Height (cm)",
    "bsa_m2": "BSA (m²)",
    "trial_enrolled": "On a clinical trial",
}


@dataclass(frozen=True)
class FactRow:
    label: str
    value: str
    sources: tuple[str, ...]


@dataclass(frozen=True)
class PageModel:
    in_scope: bool
    position: str | None
    emphasised: str | None
    displays: dict[str, str]
    position_finding: Finding | None
    gaps: tuple[Finding, ...]
    facts: tuple[FactRow, ...]
    evidence: tuple[EvidenceRef, ...]
    knowledge_version: str


def page_model(facts: PatientFacts, knowledge: Knowledge, emphasised: str | None) -> PageModel:
    """Place the child and gather what the page shows."""
    findings = evaluate(facts, knowledge) if in_scope(facts) else []
    position = next((f for f in findings if f.kind == "position"), None)
    cited = {ref for f in findings for ref in knowledge.steps[f.step].evidence}
    return PageModel(
        in_scope=in_scope(facts),
        position=position.step if position else None,
        emphasised=emphasised if emphasised in knowledge.steps else None,
        displays={code: step.display for code, step in knowledge.steps.items()},
        position_finding=position,
        gaps=tuple(f for f in findings if f.kind == "gap"),
        facts=tuple(_rows(facts)),
        evidence=tuple(knowledge.evidence[r] for r in sorted(cited) if r in knowledge.evidence),
        knowledge_version=knowledge.version,
    )


def _rows(facts: PatientFacts) -> list[FactRow]:
    known = {f.name for f in fields(facts)}
    rows = []
    for name, label in FACT_LABELS.items():
        fact = getattr(facts, name) if name in known else None
        if not isinstance(fact, Fact):
            continue
        sources = tuple(
            s.reference + (f" ({s.date.isoformat()})" if s.date else "") for s in fact.sources
        )
        rows.append(FactRow(label, _text(fact.value), sources))
    return rows


def _text(value: Any) -> str:
    if value is None:
        return "unknown"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, MrdResult):
        amount = f"{value.value_percent:g} %" if value.value_percent is not None else ""
        verdict = {True: "positive", False: "negative", None: "positivity unknown"}[value.positive]
        return f"{amount} {verdict}, {value.date.isoformat()}".strip()
    if isinstance(value, frozenset):
        return ", ".join(sorted(value)) or "none"
    return str(value)
