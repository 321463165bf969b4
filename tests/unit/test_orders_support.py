"""Builders shared by the order-check tests, and the check that the shipped knowledge feeds them."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from cds_service.config import DEFAULTS
from cds_service.errors import ConfigError
from cds_service.fhir.drafts import read_drafts
from cds_service.pathway.facts import Fact, PatientFacts
from cds_service.pathway.findings import Finding
from cds_service.pathway.knowledge import Code, Knowledge, StepDef
from cds_service.pathway.loader import load_knowledge
from cds_service.pathway.order_rules.common import ORDER_STEPS
from cds_service.pathway.order_rules.config import order_config
from cds_service.pathway.orders import check_orders

TODAY = date(2026, 11, 24)
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SNOMED = "http://snomed.info/sct"
CPT = "http://www.ama-assn.org/go/cpt"
UCUM = "http://unitsofmeasure.org"
PROCEDURE = "https://b-all-pathway.example/fhir/CodeSystem/procedure"
STEP = "https://b-all-pathway.example/fhir/CodeSystem/pathway-step"
RX = {
    "imatinib": "282388",
    "dasatinib": "475342",
    "blinatumomab": "1597258",
    "inotuzumab ozogamicin": "1942950",
    "vincristine": "11202",
    "methotrexate": "6851",
    "dexamethasone": "3264",
    "cytarabine": "3041",
}


def _steps(*codes: str) -> tuple[Code, ...]:
    return tuple(Code(STEP, c, verified=True) for c in codes)


def knowledge(**thresholds: float) -> Knowledge:
    """A small knowledge with the order value sets, as the shipped files define them."""
    return Knowledge(
        version="test",
        value_sets={
            "order-hct": (Code(SNOMED, "234336002"), Code(CPT, "38240")),
            "order-tbi": (Code(CPT, "77470"),),
            "order-local-therapy": (Code(PROCEDURE, "cranial-radiation"),),
            "order-route-intrathecal": (Code(SNOMED, "72607000"),),
            "order-off-pathway.blinatumomab": _steps(
                "persistent-mrd",
                "relapse-mrd-positive",
                "multiple-relapse-refractory",
                "standard-risk-blinatumomab",
            ),
            "order-off-pathway.tisagenlecleucel": _steps(
                "persistent-mrd", "relapse-mrd-positive", "multiple-relapse-refractory"
            ),
            "order-off-pathway.inotuzumab ozogamicin": _steps(
                "relapse-mrd-positive", "multiple-relapse-refractory"
            ),
        },
        thresholds={
            "infant_age_months": 12,
            "mrd_positive_percent": 0.01,
            "order_dose_tolerance": 0.10,
            "order_infant_hct_min_age_months": 6,
            **thresholds,
        },
        steps={
            "order-off-pathway": StepDef("order-off-pathway", "order", "x", "info", ("NCCN",)),
        },
        evidence={},
    )


def facts(**values: Any) -> PatientFacts:
    """PatientFacts on TODAY; keyword values become known Facts (mrd_results passes as-is)."""
    fields: dict[str, Any] = {}
    for name, value in values.items():
        fields[name] = value if name == "mrd_results" else Fact(value)
    return PatientFacts(today=TODAY, patient_id="p1", **fields)


def med(
    rid: str | None,
    drug: str,
    dose: float | None = None,
    unit: str = "mg",
    *,
    per_day: int = 1,
    route: dict[str, Any] | None = None,
    rate: bool = False,
) -> dict[str, Any]:
    """An R4 draft MedicationRequest (valid R4) ordering one dose ``per_day`` times a day."""
    resource: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "status": "draft",
        "intent": "order",
        "subject": {"reference": "Patient/p1"},
        "medicationCodeableConcept": _concept(drug),
    }
    if rid:
        resource["id"] = rid
    dosage: dict[str, Any] = {"timing": {"repeat": {"frequency": per_day, "period": 1,
                                                    "periodUnit": "d"}}}  # fmt: skip
    if route:
        dosage["route"] = route
    if dose is not None:
        key = "rateQuantity" if rate else "doseQuantity"
        dosage["doseAndRate"] = [{key: {"value": dose, "unit": unit, "system": UCUM, "code": unit}}]
    resource["dosageInstruction"] = [dosage]
    return resource


def dstu2(rid: str, drug: str, dose: float, unit: str = "mg") -> dict[str, Any]:
    """A DSTU2 draft MedicationOrder, as the CDS Hooks Sandbox sends it."""
    return {
        "resourceType": "MedicationOrder",
        "id": rid,
        "status": "draft",
        "patient": {"reference": "Patient/p1"},
        "medicationCodeableConcept": _concept(drug),
        "dosageInstruction": [
            {
                "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
                "doseQuantity": {"value": dose, "unit": unit, "system": UCUM, "code": unit},
            }
        ],
    }


def service(rid: str | None, system: str, code: str) -> dict[str, Any]:
    """An R4 draft ServiceRequest."""
    resource: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "status": "draft",
        "intent": "order",
        "subject": {"reference": "Patient/p1"},
        "code": {"coding": [{"system": system, "code": code}]},
    }
    if rid:
        resource["id"] = rid
    return resource


def _concept(drug: str) -> dict[str, Any]:
    if drug in RX:
        return {"coding": [{"system": RXNORM, "code": RX[drug], "display": drug}]}
    return {"text": drug}


def bundle(*resources: dict[str, Any]) -> dict[str, Any]:
    """A draftOrders Bundle."""
    return {"resourceType": "Bundle", "type": "collection",
            "entry": [{"resource": r} for r in resources]}  # fmt: skip


def run(
    patient: PatientFacts,
    *resources: dict[str, Any],
    selections: list[str] | None = None,
    position: str | None = None,
    know: Knowledge | None = None,
    **kwargs: Any,
) -> list[Finding]:
    """Read the drafts and run every order check (order-sign unless ``selections`` is given)."""
    drafts = read_drafts(bundle(*resources), selections)
    return check_orders(patient, drafts, know or knowledge(), position, **kwargs)


def steps(findings: list[Finding]) -> list[str]:
    """The step codes of the findings, in order."""
    return [f.step for f in findings]


def test_shipped_knowledge_defines_every_order_step_and_value_set() -> None:
    shipped = load_knowledge(DEFAULTS["KNOWLEDGE_DIR"])
    assert {c for c, s in shipped.steps.items() if s.kind == "order"} >= ORDER_STEPS
    config = order_config(shipped)
    assert (SNOMED, "234336002") in config.hct_codes
    assert (SNOMED, "72607000") in config.intrathecal_routes
    assert config.listed_by["inotuzumab ozogamicin"] == {
        "relapse-mrd-positive",
        "multiple-relapse-refractory",
    }


def test_shipped_thresholds_match_clinical_values() -> None:
    config = order_config(load_knowledge(DEFAULTS["KNOWLEDGE_DIR"]))
    assert (config.dose_tolerance, config.infant_hct_min_months) == (0.10, 6)
    assert not config.sign_shows_info


@pytest.mark.parametrize(
    "missing", ["order-route-intrathecal", "order-hct", "order_dose_tolerance"]
)
def test_knowledge_without_an_order_code_list_or_limit_is_refused(missing: str) -> None:
    # A missing list would silently switch a safety check off: it must stop the start instead.
    base = knowledge()
    broken = Knowledge(
        version=base.version,
        value_sets={k: v for k, v in base.value_sets.items() if k != missing},
        thresholds={k: v for k, v in base.thresholds.items() if k != missing},
        steps=base.steps,
        evidence=base.evidence,
    )
    with pytest.raises(ConfigError, match=missing):
        order_config(broken)
