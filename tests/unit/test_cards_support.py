"""Shared builders for the card tests (no tests here): knowledge, findings, a context, checkers."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator, Mapping
from datetime import date
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from cards import CardContext, build_cards
from cds_service.pathway.facts import Source
from cds_service.pathway.findings import Finding, Reason, StepKind
from cds_service.pathway.knowledge import Code, EvidenceRef, Knowledge, StepDef

TODAY = date(2026, 11, 24)
BASE = "https://b-all-pathway.example/fhir"
LAB = f"{BASE}/CodeSystem/lab"
SMART_URL = "https://cds.example.org/smart/launch"
RESPONSE_SCHEMA = (
    Path(__file__).resolve().parents[2] / "cds_service" / "protocol" / "response.schema.json"
)

# shared/CLINICAL.md §2: every step code with its kind and card indicator.
CLINICAL_STEPS: dict[str, tuple[StepKind, str]] = {
    "induction": ("position", "info"),
    "post-induction-mrd-unknown": ("position", "info"),
    "consolidation-mrd-negative": ("position", "info"),
    "consolidation-mrd-positive": ("position", "info"),
    "persistent-mrd": ("position", "info"),
    "ph-positive": ("position", "info"),
    "infant-kmt2a-unknown": ("position", "info"),
    "infant-kmt2a-high-risk": ("position", "info"),
    "infant-kmt2a-intermediate-risk": ("position", "info"),
    "infant-kmt2a-germline": ("position", "info"),
    "relapse-cr2-mrd-negative": ("position", "info"),
    "relapse-mrd-positive": ("position", "info"),
    "relapse-assessment": ("position", "info"),
    "multiple-relapse-refractory": ("position", "info"),
    "isolated-extramedullary-relapse": ("position", "info"),
    "standard-risk-blinatumomab": ("gap", "info"),
    "mrd-eoi-missing": ("gap", "warning"),
    "ph-status-unknown": ("gap", "warning"),
    "kmt2a-status-unknown": ("gap", "warning"),
    "ph-positive-no-tki": ("gap", "warning"),
    "hct-with-detectable-mrd": ("gap", "warning"),
    "neutropenia": ("gap", "warning"),
    "blinatumomab-monitoring": ("gap", "info"),
    "order-hct-with-detectable-mrd": ("order", "warning"),
    "order-infant-hct-timing": ("order", "warning"),
    "order-infant-tbi": ("order", "warning"),
    "order-imatinib-dose": ("order", "warning"),
    "order-blinatumomab-dose": ("order", "warning"),
    "order-blinatumomab-safety": ("order", "info"),
    "order-ph-positive-no-tki": ("order", "warning"),
    "order-extramedullary-local-only": ("order", "warning"),
    "order-off-pathway": ("order", "info"),
    "order-vincristine-intrathecal": ("order", "critical"),
}

EVIDENCE = {
    "NCCN": EvidenceRef(
        "NCCN",
        "NCCN Guidelines: Pediatric Acute Lymphoblastic Leukemia, JNCCN 2025;23(2)",
        "https://jnccn.org/abstract/journals/jnccn/23/2/article-p41.xml",
    ),
    "AALL1731": EvidenceRef(
        "AALL1731",
        "Gupta S et al. Blinatumomab in standard-risk B-ALL in children. "
        "N Engl J Med 2025;392:875-891",
        "https://pubmed.ncbi.nlm.nih.gov/39651791/",
    ),
    "AALL0031": EvidenceRef(
        "AALL0031",
        "Schultz KR et al. Imatinib in pediatric Ph+ ALL. Leukemia 2014;28(7):1467-1471",
        "https://pubmed.ncbi.nlm.nih.gov/24441288/",
    ),
    "MRD": EvidenceRef("MRD", "Borowitz MJ et al. MRD in childhood precursor-B ALL. Blood 2008"),
}

ORDERABLES = {
    "mrd-bone-marrow": Code(LAB, "mrd-bm-flow", "MRD, bone marrow, flow cytometry"),
    "bcr-abl1-test": Code("http://loinc.org", "21822-2", "BCR::ABL1 fusion transcript"),
    "kmt2a-test": Code(LAB, "kmt2a-rearrangement", "KMT2A rearrangement"),
    "trial-screening": Code(f"{BASE}/CodeSystem/order", "trial-screening", "Trial screening"),
    "imatinib": Code(
        "http://www.nlm.nih.gov/research/umls/rxnorm", "282388", "imatinib", verified=True
    ),
}

# A value for every placeholder the shipped templates declare, plus suggestion inputs.
FULL_VALUES: dict[str, Any] = {
    "diagnosis_date": date(2026, 9, 1),
    "days_since_diagnosis": 84,
    "relapse_date": date(2026, 10, 1),
    "days_since_relapse": 54,
    "latest_mrd": "0.05 % (positive) on 2026-11-02",
    "eoi_mrd": "0.05 % (positive) on 2026-10-01",
    "anc": 0.42,
    "bsa_m2": 1.12,
    "age_months": 5.5,
    "draft_dose": "600 mg daily",
    "target_dose": "380 mg daily",
    "dose_formula": "340 mg/m²/day × 1.12 m² = 380.8 mg/day",
    "position_step": "induction",
    "phase": "first-line",
    "site": "cns",
    "drug": "blinatumomab",
    "anc_grade4": True,
    "nci_risk": "standard",
    "has_trial": False,
}


def make_knowledge(
    *,
    version: str = "2026.11.0",
    evidence: Mapping[str, EvidenceRef] | None = None,
    orderables: Mapping[str, Code] | None = None,
) -> Knowledge:
    """Build knowledge with every CLINICAL.md step, citing NCCN plus a step-typical trial."""
    steps = {}
    for code, (kind, indicator) in CLINICAL_STEPS.items():
        refs = ("NCCN", "AALL0031") if "ph-positive" in code else ("NCCN", "MRD")
        steps[code] = StepDef(
            code=code,
            kind=kind,
            display=code.replace("-", " ").capitalize(),
            indicator=indicator,  # type: ignore[arg-type]
            evidence=refs,
        )
    return Knowledge(
        version=version,
        value_sets={},
        thresholds={},
        steps=steps,
        evidence=EVIDENCE if evidence is None else evidence,
        orderables=ORDERABLES if orderables is None else orderables,
    )


def make_finding(step: str, **overrides: Any) -> Finding:
    """Build a finding for a CLINICAL.md step with its usual kind and indicator."""
    kind, indicator = CLINICAL_STEPS.get(step, ("gap", "info"))
    fields: dict[str, Any] = {"step": step, "kind": kind, "indicator": indicator}
    fields.update(overrides)
    return Finding(**fields)


def mrd_reason() -> Reason:
    """Return the reason a positive end-of-induction MRD gives, with two sources."""
    return Reason(
        "End-of-induction MRD",
        "0.05 % (positive), 2026-10-01",
        (Source("Observation/mrd-1", date(2026, 10, 1)), Source("DiagnosticReport/bm-7")),
    )


def make_context(**overrides: Any) -> CardContext:
    """Build the card context of a patient-view call with a known user and encounter."""
    fields: dict[str, Any] = {
        "hook": "patient-view",
        "patient_id": "pat-1",
        "user_id": "Practitioner/dr-1",
        "encounter_id": "enc-1",
        "canonical_base": BASE,
        "smart_launch_url": SMART_URL,
    }
    fields.update(overrides)
    return CardContext(**fields)


def counter() -> Callable[[], str]:
    """Return a deterministic uuid factory: u-1, u-2, ..."""
    numbers = itertools.count(1)
    return lambda: f"u-{next(numbers)}"


def render(
    findings: list[Finding],
    knowledge: Knowledge | None = None,
    context: CardContext | None = None,
    **kwargs: Any,
) -> list[dict[str, Any]]:
    """Build cards with deterministic uuids and the fixed test day."""
    return build_cards(
        findings,
        knowledge or make_knowledge(),
        context or make_context(),
        new_uuid=counter(),
        today=TODAY,
        **kwargs,
    )


def empty_fields(value: Any, path: str = "$") -> Iterator[str]:
    """Yield the paths of every null, "", [] or {} anywhere in a JSON value."""
    if value is None or value == "" or value == [] or value == {}:
        yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from empty_fields(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from empty_fields(item, f"{path}[{index}]")


def response_errors(cards: list[dict[str, Any]]) -> list[str]:
    """Validate a response body holding the cards against the lead's response schema."""
    schema = json.loads(RESPONSE_SCHEMA.read_text(encoding="utf-8"))
    validator = Draft202012Validator(schema)
    return [error.message for error in validator.iter_errors({"cards": cards})]
