"""Small builders for synthetic FHIR R4 resources (no real patients) used by the pathway tests."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from typing import Any

SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
ICDO3 = "http://terminology.hl7.org/CodeSystem/icd-o-3"
NCIT = "http://ncicb.nci.nih.gov/xml/owl/EVS/Thesaurus.owl"
HGNC = "http://www.genenames.org/geneId"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
CPT = "http://www.ama-assn.org/go/cpt"
LAB = "https://b-all-pathway.example/fhir/CodeSystem/lab"
INTERP = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
B_ALL = (SNOMED, "277571004")
T_ALL = (ICDO3, "9837/3")
MRD_FLOW = (LAB, "mrd-bm-flow")
WBC = (LOINC, "6690-2")
ANC = (LOINC, "751-8")
PH_TEST = (LOINC, "21821-4")
KMT2A_TEST = (LAB, "kmt2a-rearrangement")
HCT = (SNOMED, "234336002")
DISEASE_STATUS = (LOINC, "97509-4")
RELAPSE = (SNOMED, "263855007")
REMISSION = (SNOMED, "277022003")
REFRACTORY = (NCIT, "C38014")
DETECTED = (SNOMED, "260373001")
NOT_DETECTED = (SNOMED, "260415000")
RX = {
    "imatinib": "282388",
    "dasatinib": "475342",
    "blinatumomab": "1597258",
    "vincristine": "11202",
}

_ids = itertools.count(1)
PATIENT_ID = "syn-1"


def concept(*pairs: tuple[str, str], text: str | None = None) -> dict[str, Any]:
    """Build a CodeableConcept from (system, code) pairs."""
    out: dict[str, Any] = {"coding": [{"system": s, "code": c} for s, c in pairs]}
    if text:
        out["text"] = text
    return out


def iso(day: date) -> str:
    return day.isoformat()


def patient(born: date, pid: str = PATIENT_ID) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": pid, "birthDate": iso(born)}


def condition(
    code: tuple[str, str] = B_ALL,
    onset: date | None = None,
    *,
    clinical: str | None = "active",
    verification: str | None = None,
    body_sites: list[tuple[str, str]] | None = None,
    recorded: date | None = None,
) -> dict[str, Any]:
    res: dict[str, Any] = {
        "resourceType": "Condition",
        "id": f"cond-{next(_ids)}",
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
        "code": concept(code),
    }
    if onset:
        res["onsetDateTime"] = iso(onset)
    if recorded:
        res["recordedDate"] = iso(recorded)
    if clinical:
        sys = "http://terminology.hl7.org/CodeSystem/condition-clinical"
        res["clinicalStatus"] = concept((sys, clinical))
    if verification:
        sys = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
        res["verificationStatus"] = concept((sys, verification))
    if body_sites:
        res["bodySite"] = [concept(site) for site in body_sites]
    return res


def observation(
    code: tuple[str, str], day: date | None, *, status: str = "final", **value: Any
) -> dict[str, Any]:
    """Build an Observation; keyword arguments are value[x] and other fields as given."""
    res: dict[str, Any] = {
        "resourceType": "Observation",
        "id": f"obs-{next(_ids)}",
        "status": status,
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
        "code": concept(code),
    }
    if day:
        res["effectiveDateTime"] = iso(day)
    res.update(value)
    return res


def quantity_obs(
    code: tuple[str, str], day: date, value: float, unit: str, comparator: str | None = None
) -> dict[str, Any]:
    q: dict[str, Any] = {"value": value, "unit": unit, "system": "http://unitsofmeasure.org"}
    q["code"] = unit
    if comparator:
        q["comparator"] = comparator
    return observation(code, day, valueQuantity=q)


def mrd(
    day: date,
    percent: float | None = None,
    *,
    comparator: str | None = None,
    timepoint: str | None = None,
    detected: bool | None = None,
    interpretation: str | None = None,
) -> dict[str, Any]:
    res = observation(MRD_FLOW, day)
    if percent is not None:
        res = quantity_obs(MRD_FLOW, day, percent, "%", comparator)
    if detected is not None:
        res["valueCodeableConcept"] = concept(DETECTED if detected else NOT_DETECTED)
    if interpretation:
        res["interpretation"] = [concept((INTERP, interpretation))]
    if timepoint:
        res["component"] = [
            {"code": concept((LAB, "mrd-timepoint")), "valueString": timepoint},
        ]
    return res


def status_obs(day: date, value: tuple[str, str]) -> dict[str, Any]:
    return observation(DISEASE_STATUS, day, valueCodeableConcept=concept(value))


def med(name: str, *, status: str = "active", intent: str = "order") -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": f"med-{next(_ids)}",
        "status": status,
        "intent": intent,
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
        "medicationCodeableConcept": concept((RXNORM, RX[name]), text=name),
    }


def procedure(code: tuple[str, str], status: str, day: date | None = None) -> dict[str, Any]:
    res: dict[str, Any] = {
        "resourceType": "Procedure",
        "id": f"proc-{next(_ids)}",
        "status": status,
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
        "code": concept(code),
    }
    if day:
        res["performedDateTime"] = iso(day)
    return res


def service_request(code: tuple[str, str], status: str = "draft") -> dict[str, Any]:
    return {
        "resourceType": "ServiceRequest",
        "id": f"sr-{next(_ids)}",
        "status": status,
        "intent": "order",
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
        "code": concept(code),
    }


def research_subject(status: str = "on-study") -> dict[str, Any]:
    return {
        "resourceType": "ResearchSubject",
        "id": f"rs-{next(_ids)}",
        "status": status,
        "study": {"reference": "ResearchStudy/syn-study"},
        "individual": {"reference": f"Patient/{PATIENT_ID}"},
    }


def chart(
    born: date | None,
    *,
    conditions: list[dict[str, Any]] | None = None,
    observations: list[dict[str, Any]] | None = None,
    medications: list[dict[str, Any]] | None = None,
    procedures: list[dict[str, Any]] | None = None,
    service_requests: list[dict[str, Any]] | None = None,
    research_subjects: list[dict[str, Any]] | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """Build the prefetch mapping (every key present; empty lists = no data)."""
    return {
        "patient": [patient(born)] if born else [],
        "conditions": conditions or [],
        "observations": observations or [],
        "medications": medications or [],
        "procedures": procedures or [],
        "serviceRequests": service_requests or [],
        "researchSubjects": research_subjects or [],
    }


def days_before(today: date, days: int) -> date:
    return today - timedelta(days=days)


def years_before(day: date, years: int, months: int = 0) -> date:
    """The calendar date ``years`` years and ``months`` months before ``day``."""
    total = day.year * 12 + (day.month - 1) - years * 12 - months
    return date(total // 12, total % 12 + 1, day.day)
