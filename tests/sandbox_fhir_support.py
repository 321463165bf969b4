"""Two tiny synthetic patients and the app factory shared by the sandbox FHIR server tests
(tests/test_sandbox_fhir_server.py and tests/test_sandbox_smart_server.py)."""

from __future__ import annotations

import itertools
from datetime import date

from flask import Flask

from sandbox.fhir_server import create_fhir_app

TODAY = date(2026, 3, 2)
LOINC = "http://loinc.org"
OBS_CAT = "http://terminology.hl7.org/CodeSystem/observation-category"


def _obs(oid: str, patient: str, code: str, day: str, *, category: str = "laboratory") -> dict:
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "category": [{"coding": [{"system": OBS_CAT, "code": category}]}],
        "code": {"coding": [{"system": LOINC, "code": code}]},
        "subject": {"reference": f"Patient/{patient}"},
        "effectiveDateTime": f"{day}T08:00:00Z",
    }


def collection_bundle(*resources: dict) -> dict:
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": r} for r in resources],
    }


PATIENT_A = [
    {"resourceType": "Patient", "id": "pt-a", "birthDate": "2019-05-14"},
    {
        "resourceType": "Condition",
        "id": "dx-a",
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "91857003"}]},
        "subject": {"reference": "Patient/pt-a"},
        "recordedDate": "2026-01-02",
    },
    _obs("wbc-1", "pt-a", "6690-2", "2026-01-02"),
    _obs("wbc-2", "pt-a", "6690-2", "2026-01-20"),
    _obs("anc-1", "pt-a", "751-8", "2026-02-25"),
    _obs("wt-1", "pt-a", "29463-7", "2026-02-01", category="vital-signs"),
    {**_obs("anc-0", "pt-a", "751-8", "2026-02-26"), "status": "entered-in-error"},
    {
        "resourceType": "MedicationRequest",
        "id": "med-a",
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": {
            "coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "282388"}]
        },
        "subject": {"reference": "Patient/pt-a"},
    },
    {
        "resourceType": "ResearchSubject",
        "id": "rs-a",
        "status": "on-study",
        "study": {"reference": "ResearchStudy/aall1731"},
        "individual": {"reference": "Patient/pt-a"},
    },
]
PATIENT_B = [
    {"resourceType": "Patient", "id": "pt-b", "birthDate": "2025-09-01"},
    _obs("wbc-b", "pt-b", "6690-2", "2026-02-10"),
]


def fhir_app(clock: list[float]) -> Flask:
    """The server over PATIENT_A and PATIENT_B, with a public and a confidential client."""
    tokens = (f"tok-{n}" for n in itertools.count(1))
    return create_fhir_app(
        bundles=[collection_bundle(*PATIENT_A), collection_bundle(*PATIENT_B)],
        clients={"viewer": None, "vault": "s3cret"},
        clock=lambda: clock[0],
        new_token=lambda: next(tokens),
    )
