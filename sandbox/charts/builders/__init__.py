"""FHIR R4 building blocks for synthetic B-ALL charts (shared/CLINICAL.md §1 codes).

A ``Chart`` collects the resources of one synthetic patient (or one set of draft orders) and hands
out ids unique within it. Its builders come in pieces: patient and conditions (``patient``), labs
and vital signs (``labs``), MRD and genomics (``mrd_genomics``), medications and procedures
(``orders``); the codes they share are in ``codes``.
"""

from __future__ import annotations

from sandbox.charts.builders.codes import (
    B_ALL,
    CNS_SITE,
    CPT,
    HCT,
    ICD10CM,
    ICDO3,
    INTRATHECAL_CHEMO,
    MARROW_ASPIRATE,
    MED_PRODUCT,
    RXNORM,
    SNOMED,
    TBI,
    TESTIS_SITE,
    Json,
    coding,
    concept,
)
from sandbox.charts.builders.mrd_genomics import DiseaseRecords
from sandbox.charts.builders.orders import OrderRecords
from sandbox.charts.builders.patient import PatientRecords

__all__ = [
    "B_ALL",
    "CNS_SITE",
    "CPT",
    "HCT",
    "ICD10CM",
    "ICDO3",
    "INTRATHECAL_CHEMO",
    "MARROW_ASPIRATE",
    "MED_PRODUCT",
    "RXNORM",
    "SNOMED",
    "TBI",
    "TESTIS_SITE",
    "Chart",
    "Json",
    "coding",
    "concept",
]


class Chart(PatientRecords, DiseaseRecords, OrderRecords):
    """The resources of one synthetic patient, with ids ``<prefix>-<kind>-<n>``."""
