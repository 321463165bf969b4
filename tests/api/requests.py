"""Realistic CDS Hooks request bodies for the HTTP tests (synthetic patient, FHIR R4)."""

from __future__ import annotations

import copy
from typing import Any

from tests.conftest import FHIR_BASE

PATIENT_ID = "pt-alpha"
USER_ID = "Practitioner/dr-one"


def searchset(*resources: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "entry": [{"resource": r} for r in resources],
    }


PATIENT = {
    "resourceType": "Patient",
    "id": PATIENT_ID,
    "birthDate": "2019-05-14",
    "gender": "female",
}
B_ALL = {
    "resourceType": "Condition",
    "id": "dx-1",
    "clinicalStatus": {
        "coding": [
            {
                "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                "code": "active",
            }
        ]
    },
    "verificationStatus": {
        "coding": [
            {
                "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                "code": "confirmed",
            }
        ]
    },
    "code": {
        "coding": [
            {
                "system": "http://snomed.info/sct",
                "code": "277571004",
                "display": "B-cell acute lymphoblastic leukemia",
            }
        ]
    },
    "subject": {"reference": f"Patient/{PATIENT_ID}"},
    "onsetDateTime": "2026-02-10",
}


def prefetch() -> dict[str, Any]:
    """A complete prefetch for a 6-year-old diagnosed 20 days before TODAY."""
    return {
        "patient": copy.deepcopy(PATIENT),
        "conditions": searchset(copy.deepcopy(B_ALL)),
        "observations": searchset(),
        "medications": searchset(),
        "procedures": searchset(),
        "serviceRequests": searchset(),
        "researchSubjects": searchset(),
    }


def patient_view(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "hook": "patient-view",
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "fhirServer": FHIR_BASE,
        "context": {"userId": USER_ID, "patientId": PATIENT_ID},
        "prefetch": prefetch(),
    }
    body.update(changes)
    return body


def draft_bundle(*resources: dict[str, Any]) -> dict[str, Any]:
    # The CDS Hooks Sandbox sends draftOrders without Bundle.type.
    return {"resourceType": "Bundle", "entry": [{"resource": r} for r in resources]}


DSTU2_ORDER = {
    "resourceType": "MedicationOrder",
    "id": "order-123",
    "status": "draft",
    "patient": {"reference": f"Patient/{PATIENT_ID}"},
    "dateWritten": "2026-03-02",
    "medicationCodeableConcept": {
        "text": "Imatinib 100 MG Oral Tablet",
        "coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "282388"}],
    },
    "dosageInstruction": [
        {
            "doseQuantity": {"value": 100, "unit": "mg", "system": "http://unitsofmeasure.org"},
            "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnits": "d"}},
        }
    ],
}


def order_select(*drafts: dict[str, Any], selections: list[str] | None = None) -> dict[str, Any]:
    drafts = drafts or (copy.deepcopy(DSTU2_ORDER),)
    chosen = selections or [f"{d['resourceType']}/{d['id']}" for d in drafts]
    return patient_view(
        hook="order-select",
        context={
            "userId": USER_ID,
            "patientId": PATIENT_ID,
            "selections": chosen,
            "draftOrders": draft_bundle(*drafts),
        },
    )


def order_sign(*drafts: dict[str, Any]) -> dict[str, Any]:
    drafts = drafts or (copy.deepcopy(DSTU2_ORDER),)
    return patient_view(
        hook="order-sign",
        context={"userId": USER_ID, "patientId": PATIENT_ID, "draftOrders": draft_bundle(*drafts)},
    )
