"""Data about another patient never reaches the facts (cds_service.fhir.same_patient)."""

from __future__ import annotations

import pytest

from cds_service.errors import BadRequest
from cds_service.fhir.same_patient import only_this_patient


def obs(reference: str | None, field: str = "subject") -> dict:
    resource: dict = {"resourceType": "Observation", "id": "o"}
    if reference is not None:
        resource[field] = {"reference": reference}
    return resource


@pytest.mark.parametrize(
    "reference",
    [
        "Patient/p1",
        "https://fhir.example.org/r4/Patient/p1",
        "Patient/p1/_history/3",
        None,
        "Group/cohort-7",
    ],
)
def test_resources_of_this_patient_or_without_a_patient_reference_are_kept(
    reference: str | None,
) -> None:
    assert only_this_patient({"observations": [obs(reference)]}, "p1") == {
        "observations": [obs(reference)]
    }


@pytest.mark.parametrize(
    ("reference", "field"),
    [
        ("Patient/p2", "subject"),
        ("https://fhir.example.org/r4/Patient/p10", "subject"),
        ("Patient/p2", "patient"),  # DSTU2 MedicationOrder
        ("Patient/p2", "individual"),  # ResearchSubject
    ],
)
def test_resources_naming_another_patient_are_dropped(reference: str, field: str) -> None:
    kept = only_this_patient({"observations": [obs(reference, field), obs("Patient/p1")]}, "p1")
    assert kept == {"observations": [obs("Patient/p1")]}


def test_a_prefetched_patient_with_another_id_is_refused() -> None:
    with pytest.raises(BadRequest) as refused:
        only_this_patient({"patient": [{"resourceType": "Patient", "id": "p2"}]}, "p1")
    assert refused.value.expression == ["prefetch.patient"]
