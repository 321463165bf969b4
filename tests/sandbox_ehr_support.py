"""A tiny chart, drafts and prefetch templates shared by the EHR simulator tests
(tests/test_sandbox_ehr.py and tests/test_sandbox_cli.py), and the dev JWT decoder."""

from __future__ import annotations

import json
from datetime import date
from types import SimpleNamespace
from typing import Any

import jwt

from cds_service.config import SANDBOX_KEYS
from sandbox import ehr

TODAY = date(2026, 3, 2)
SERVICE = "http://cds.test"
FHIR = "http://fhir.test"
TEMPLATES = {
    "patient": "Patient/{{context.patientId}}",
    "conditions": "Condition?patient={{context.patientId}}",
    "observations": "Observation?patient={{context.patientId}}&code=http://loinc.org|751-8",
    "medications": "MedicationRequest?patient={{context.patientId}}&status=active",
}
PATIENT = {"resourceType": "Patient", "id": "pt-1", "birthDate": "2018-01-01"}
CONDITION = {
    "resourceType": "Condition",
    "id": "dx-1",
    "code": {"coding": [{"system": "http://snomed.info/sct", "code": "91857003"}]},
    "subject": {"reference": "Patient/pt-1"},
}
ANC = {
    "resourceType": "Observation",
    "id": "anc-1",
    "status": "final",
    "code": {"coding": [{"system": "http://loinc.org", "code": "751-8"}]},
    "subject": {"reference": "Patient/pt-1"},
}
WBC = {**ANC, "id": "wbc-1", "code": {"coding": [{"system": "http://loinc.org", "code": "6690-2"}]}}
DRAFT_MED = {
    "resourceType": "MedicationRequest",
    "id": "draft-1",
    "status": "draft",
    "intent": "order",
    "subject": {"reference": "Patient/pt-1"},
}
DRAFT_SR = {**DRAFT_MED, "resourceType": "ServiceRequest", "id": "draft-2"}
BUNDLE = {
    "resourceType": "Bundle",
    "type": "collection",
    "entry": [{"resource": r} for r in (PATIENT, CONDITION, ANC, WBC)],
}
PATIENTS = SimpleNamespace(
    load_bundle=lambda name, today: BUNDLE,
    load_draft=lambda name, today: {
        "resourceType": "Bundle",
        "entry": [{"resource": DRAFT_MED}, {"resource": DRAFT_SR}],
    },
    patient_id=lambda bundle: "pt-1",
)
CONTEXT = {"userId": ehr.USER_ID, "patientId": "pt-1"}


def public_key() -> Any:
    jwks = json.loads((SANDBOX_KEYS / "dev-jwks.json").read_text())
    return jwt.PyJWK(jwks["keys"][0]).key


def claims_of(token: str, audience: str) -> dict[str, Any]:
    return jwt.decode(token, public_key(), algorithms=["ES384"], audience=audience)
