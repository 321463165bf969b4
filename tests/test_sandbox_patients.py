"""The sandbox patients and drafts: FHIR validity, identity and moving their dates to today."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest

from cds_service.fhir.models import parse_resource, resource_errors
from sandbox import patients
from tests.sandbox_patients_support import DRAFTS, PATIENTS, TODAY, day_of, resources


def dated_values(data: Any) -> Iterator[str]:
    """Yield every string under a date-bearing key, in document order."""
    if isinstance(data, dict):
        for key, value in data.items():
            if key in patients.DATE_KEYS and isinstance(value, str):
                yield value
            else:
                yield from dated_values(value)
    elif isinstance(data, list):
        for item in data:
            yield from dated_values(item)


# --- FHIR validity ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", PATIENTS)
def test_every_patient_resource_is_valid_r4(name: str) -> None:
    bundle = patients.load_bundle(name, TODAY)
    assert resource_errors(bundle) == []
    assert {r["resourceType"] for r in resources(bundle)} <= {
        "Patient",
        "Condition",
        "Observation",
        "MedicationRequest",
        "Procedure",
        "ServiceRequest",
        "ResearchSubject",
    }


@pytest.mark.parametrize("name", PATIENTS + DRAFTS)
def test_every_resource_survives_a_round_trip(name: str) -> None:
    load = patients.load_bundle if name in PATIENTS else patients.load_draft
    for resource in resources(load(name, TODAY)):
        if resource["resourceType"] == "MedicationOrder":
            continue  # DSTU2: no R4 model
        model = parse_resource(resource)
        assert model is not None, resource["id"]
        dumped = model.model_dump(mode="json", exclude_none=True)
        assert resource_errors(dumped) == []
        assert dumped["id"] == resource["id"]


@pytest.mark.parametrize("name", DRAFTS)
def test_every_draft_is_a_valid_draft_order(name: str) -> None:
    bundle = patients.load_draft(name, TODAY)
    assert bundle["type"] == "collection"
    for resource in resources(bundle):
        assert resource["status"] == "draft"
        if resource["resourceType"] != "MedicationOrder":
            assert resource_errors(resource) == []
            assert resource["intent"] == "order"


def test_dstu2_medication_order_has_the_sandbox_shape() -> None:
    orders = [
        r
        for name in DRAFTS
        for r in resources(patients.load_draft(name, TODAY))
        if r["resourceType"] == "MedicationOrder"
    ]
    assert orders, "at least one DSTU2 draft is needed"
    for order in orders:
        assert order["patient"]["reference"].startswith("Patient/")
        assert order["medicationCodeableConcept"]["coding"][0]["system"].endswith("rxnorm")
        dosage = order["dosageInstruction"][0]
        assert dosage["doseQuantity"]["system"] == "http://unitsofmeasure.org"
        assert "periodUnits" in dosage["timing"]["repeat"]


@pytest.mark.parametrize("name", DRAFTS)
def test_drafts_belong_to_an_existing_patient(name: str) -> None:
    for resource in resources(patients.load_draft(name, TODAY)):
        reference = (resource.get("subject") or resource["patient"])["reference"]
        assert reference.removeprefix("Patient/") in PATIENTS


# --- identity -----------------------------------------------------------------------------------


def test_patient_ids_are_unique_across_files() -> None:
    ids = [patients.patient_id(patients.load_bundle(name, TODAY)) for name in PATIENTS]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("name", PATIENTS)
def test_patient_id_is_the_file_stem(name: str) -> None:
    assert patients.patient_id(patients.load_bundle(name, TODAY)) == name


@pytest.mark.parametrize("name", PATIENTS + DRAFTS)
def test_resource_ids_are_unique_within_a_file(name: str) -> None:
    load = patients.load_bundle if name in PATIENTS else patients.load_draft
    keys = [(r["resourceType"], r["id"]) for r in resources(load(name, TODAY))]
    assert len(keys) == len(set(keys))


@pytest.mark.parametrize("name", PATIENTS)
def test_every_resource_points_at_its_patient(name: str) -> None:
    for resource in resources(patients.load_bundle(name, TODAY)):
        if resource["resourceType"] != "Patient":
            owner = resource.get("subject") or resource["individual"]
            assert owner == {"reference": f"Patient/{name}"}


def test_patient_id_without_a_patient_is_an_error() -> None:
    with pytest.raises(ValueError, match="no Patient"):
        patients.patient_id({"resourceType": "Bundle", "type": "collection", "entry": []})


@pytest.mark.parametrize("name", ["no-such-patient", "../scenarios", "Induction"])
def test_unknown_or_unsafe_name_is_not_found(name: str) -> None:
    with pytest.raises(FileNotFoundError):
        patients.load_bundle(name, TODAY)


# --- moving dates to "today" --------------------------------------------------------------------


@pytest.mark.parametrize("name", PATIENTS + DRAFTS)
def test_loading_moves_every_date_by_the_delta(name: str) -> None:
    load = patients.load_bundle if name in PATIENTS else patients.load_draft
    written = list(dated_values(load(name, patients.ANCHOR)))
    moved = list(dated_values(load(name, TODAY)))
    delta = TODAY - patients.ANCHOR
    assert written, "a chart without dates cannot test the pathway windows"
    assert [day_of(v) + delta for v in written] == [day_of(v) for v in moved]
    assert [v[10:] for v in written] == [v[10:] for v in moved]  # times and zones kept


@pytest.mark.parametrize("name", PATIENTS)
def test_loading_keeps_age_at_diagnosis(name: str) -> None:
    def age_at_onsets(bundle: dict[str, Any]) -> list[int]:
        found = resources(bundle)
        birth = date.fromisoformat(found[0]["birthDate"])
        onsets = [day_of(r["onsetDateTime"]) for r in found if r["resourceType"] == "Condition"]
        return [(onset - birth).days for onset in onsets]

    assert age_at_onsets(patients.load_bundle(name, TODAY)) == age_at_onsets(
        patients.load_bundle(name, patients.ANCHOR)
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-12-31", "2026-01-10"),
        ("2025-12-31T09:30:00Z", "2026-01-10T09:30:00Z"),
        ("2025-12-31T23:59:59.123+02:00", "2026-01-10T23:59:59.123+02:00"),
        ("2025-12", "2025-12"),  # month precision is too coarse to move by days
        ("2025", "2025"),
    ],
)
def test_shift_dates_moves_the_day_and_keeps_the_rest(value: str, expected: str) -> None:
    shifted = patients.shift_dates({"effectiveDateTime": value}, timedelta(days=10))
    assert shifted == {"effectiveDateTime": expected}


def test_shift_dates_leaves_values_under_other_keys_alone() -> None:
    data = {"valueString": "2025-12-31", "id": "2025-12-31", "period": {"start": "2025-12-31"}}
    shifted = patients.shift_dates(data, timedelta(days=1))
    assert shifted == {
        "valueString": "2025-12-31",
        "id": "2025-12-31",
        "period": {"start": "2026-01-01"},
    }


def test_loaded_bundles_are_fresh_copies() -> None:
    first = patients.load_bundle("induction-standard-risk", patients.ANCHOR)
    first["entry"].clear()
    assert patients.load_bundle("induction-standard-risk", patients.ANCHOR)["entry"]
