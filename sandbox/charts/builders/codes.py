"""FHIR data types and the codes the synthetic B-ALL charts share (shared/CLINICAL.md §1 codes).

Every builder takes plain ``date`` values, so a script can write a chart "as of" a fixed anchor day
and the loader can move it to any day later.
"""

from __future__ import annotations

from datetime import date
from typing import Any

Json = dict[str, Any]

SANDBOX_URL = "https://b-all-pathway.example/fhir/sandbox/"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
ICDO3 = "http://terminology.hl7.org/CodeSystem/icd-o-3"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
CPT = "http://www.ama-assn.org/go/cpt"
UCUM = "http://unitsofmeasure.org"
NCIT = "http://ncicb.nci.nih.gov/xml/owl/EVS/Thesaurus.owl"
HGNC = "http://www.genenames.org/geneId"
LAB = "https://b-all-pathway.example/fhir/CodeSystem/lab"
MED_PRODUCT = "https://b-all-pathway.example/fhir/CodeSystem/medication-product"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
CLINICAL_STATUS = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"

# RxNorm ingredients (CLINICAL.md §1 "active therapies"); the asparaginases have no verified code
# and are written as text only, as many EHRs send them.
INGREDIENTS: dict[str, tuple[str, str]] = {
    "imatinib": ("282388", "imatinib"),
    "dasatinib": ("475342", "dasatinib"),
    "blinatumomab": ("1597258", "blinatumomab"),
    "inotuzumab": ("1942950", "inotuzumab ozogamicin"),
    "vincristine": ("11202", "vincristine"),
    "prednisone": ("8640", "prednisone"),
    "dexamethasone": ("3264", "dexamethasone"),
    "daunorubicin": ("3109", "daunorubicin"),
    "doxorubicin": ("3639", "doxorubicin"),
    "cytarabine": ("3041", "cytarabine"),
    "methotrexate": ("6851", "methotrexate"),
    "mercaptopurine": ("103", "mercaptopurine"),
    "cyclophosphamide": ("3002", "cyclophosphamide"),
}

ROUTES: dict[str, tuple[str, str]] = {
    "oral": ("26643006", "Oral route"),
    "iv": ("47625008", "Intravenous route"),
    "intrathecal": ("72607000", "Intrathecal route"),
    "subcutaneous": ("34206005", "Subcutaneous route"),
    "im": ("78421000", "Intramuscular route"),
}

PRESENT = ("LA9633-4", "Present")
ABSENT = ("LA9634-2", "Absent")


def coding(system: str, code: str, display: str | None = None) -> Json:
    """Build a Coding."""
    out: Json = {"system": system, "code": code}
    if display:
        out["display"] = display
    return out


def concept(*codings: Json, text: str | None = None) -> Json:
    """Build a CodeableConcept from codings and optional text."""
    out: Json = {}
    if codings:
        out["coding"] = list(codings)
    if text:
        out["text"] = text
    return out


def quantity(
    value: float, unit: str, code: str | None = None, comparator: str | None = None
) -> Json:
    """Build a UCUM Quantity; ``code`` defaults to the unit."""
    out: Json = {"value": value, "unit": unit, "system": UCUM, "code": code or unit}
    if comparator:
        out["comparator"] = comparator
    return out


def instant(day: date, clock: str = "09:30") -> str:
    """Write a FHIR dateTime at a UTC clock time on ``day``."""
    return f"{day.isoformat()}T{clock}:00Z"


def ingredient(name: str) -> Json:
    """Build a medication concept: RxNorm ingredient, or text only for the asparaginases."""
    if name in INGREDIENTS:
        code, display = INGREDIENTS[name]
        return concept(coding(RXNORM, code, display), text=display)
    return concept(text=name)


def presence(present: bool) -> Json:
    """Build the LOINC answer Present/Absent with its SNOMED equivalent."""
    answer = PRESENT if present else ABSENT
    snomed = ("10828004", "Positive") if present else ("260385009", "Negative")
    return concept(coding(LOINC, *answer), coding(SNOMED, *snomed), text=answer[1])


# Codes the charts share (CLINICAL.md §1; CPT for procedures the pathway does not read).
B_ALL = concept(
    coding(SNOMED, "277571004", "B-cell acute lymphoblastic leukemia"),
    text="B-cell acute lymphoblastic leukemia",
)
HCT = concept(
    coding(SNOMED, "234336002", "Hemopoietic stem cell transplant"),
    text="Allogeneic hematopoietic cell transplant",
)
TBI = concept(
    coding(CPT, "77470", "Special treatment procedure (total body irradiation)"),
    text="Total body irradiation",
)
MARROW_ASPIRATE = concept(coding(CPT, "38220", "Diagnostic bone marrow; aspiration(s)"))
INTRATHECAL_CHEMO = concept(
    coding(CPT, "96450", "Chemotherapy administration into CNS, including spinal puncture")
)
CNS_SITE = concept(
    coding(SNOMED, "21483005", "Structure of central nervous system"),
    coding(NCIT, "C12438", "Central Nervous System"),
)
TESTIS_SITE = concept(
    coding(SNOMED, "40689003", "Testis structure"), coding(NCIT, "C12412", "Testis")
)
