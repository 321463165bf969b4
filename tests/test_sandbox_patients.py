"""The sandbox patients, drafts, scenario manifest and large-chart generator."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from cds_service.fhir.models import parse_resource, resource_errors
from sandbox import build_patients, patients
from sandbox.generator import large_chart
from sandbox.scenarios import ManifestError, Scenario, load_scenarios

TODAY = date(2026, 3, 2)

# Every step code of shared/CLINICAL.md §2, table by table.
POSITION_STEPS = (
    "induction",
    "post-induction-mrd-unknown",
    "consolidation-mrd-negative",
    "consolidation-mrd-positive",
    "persistent-mrd",
    "ph-positive",
    "infant-kmt2a-unknown",
    "infant-kmt2a-high-risk",
    "infant-kmt2a-intermediate-risk",
    "infant-kmt2a-germline",
    "relapse-cr2-mrd-negative",
    "relapse-mrd-positive",
    "relapse-assessment",
    "multiple-relapse-refractory",
    "isolated-extramedullary-relapse",
)
GAP_STEPS = (
    "standard-risk-blinatumomab",
    "mrd-eoi-missing",
    "ph-status-unknown",
    "kmt2a-status-unknown",
    "ph-positive-no-tki",
    "hct-with-detectable-mrd",
    "neutropenia",
    "blinatumomab-monitoring",
)
ORDER_STEPS = (
    "order-hct-with-detectable-mrd",
    "order-infant-hct-timing",
    "order-infant-tbi",
    "order-imatinib-dose",
    "order-blinatumomab-dose",
    "order-blinatumomab-safety",
    "order-ph-positive-no-tki",
    "order-extramedullary-local-only",
    "order-off-pathway",
    "order-vincristine-intrathecal",
)
ALL_STEPS = frozenset(POSITION_STEPS + GAP_STEPS + ORDER_STEPS)

PATIENTS = patients.names()
DRAFTS = patients.draft_names()
SCENARIOS = load_scenarios()


def resources(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    return [entry["resource"] for entry in bundle["entry"]]


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


def day_of(value: str) -> date:
    return date.fromisoformat(value[:10])


def latest(bundle: dict[str, Any], loinc: str) -> tuple[date, float] | None:
    found = [
        (day_of(r["effectiveDateTime"]), r["valueQuantity"]["value"])
        for r in resources(bundle)
        if r["resourceType"] == "Observation"
        and any(c.get("code") == loinc for c in r["code"].get("coding", []))
    ]
    return max(found) if found else None


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


# --- clinical coherence that keeps accidental cards away ---------------------------------------


IN_SCOPE = [s for s in SCENARIOS if s.hook == "patient-view" and s.expect]


@pytest.mark.parametrize("scenario", IN_SCOPE, ids=lambda s: s.name)
def test_in_scope_children_have_weight_and_height_from_the_last_30_days(
    scenario: Scenario,
) -> None:
    bundle = patients.load_bundle(scenario.patient, TODAY)
    for loinc in ("29463-7", "8302-2"):
        measured = latest(bundle, loinc)
        assert measured is not None
        assert (TODAY - measured[0]).days <= 30


@pytest.mark.parametrize("scenario", IN_SCOPE, ids=lambda s: s.name)
def test_recent_anc_is_low_only_where_neutropenia_is_expected(scenario: Scenario) -> None:
    bundle = patients.load_bundle(scenario.patient, TODAY)
    anc = latest(bundle, "751-8")
    assert anc is not None
    assert (TODAY - anc[0]).days <= 7
    assert (anc[1] < 1.0) == ("neutropenia" in scenario.expect)


# --- the scenario manifest ----------------------------------------------------------------------


def test_every_clinical_step_code_appears_in_the_manifest() -> None:
    expected = {code for s in SCENARIOS for code in s.expect}
    assert ALL_STEPS - expected == set()


def test_the_manifest_uses_only_clinical_step_codes() -> None:
    assert {code for s in SCENARIOS for code in s.expect} - ALL_STEPS == set()


def test_order_hooks_expect_only_order_steps() -> None:
    for s in SCENARIOS:
        allowed = ORDER_STEPS if s.hook != "patient-view" else POSITION_STEPS + GAP_STEPS
        assert set(s.expect) <= set(allowed), s.name


def test_patient_view_expects_at_most_one_position_step() -> None:
    for s in SCENARIOS:
        if s.hook == "patient-view":
            assert len(set(s.expect) & set(POSITION_STEPS)) == (1 if s.expect else 0), s.name


def test_every_patient_has_a_patient_view_scenario() -> None:
    assert {s.patient for s in SCENARIOS if s.hook == "patient-view"} == set(PATIENTS)


def test_every_draft_is_used_by_a_scenario() -> None:
    assert {s.drafts for s in SCENARIOS if s.drafts} == set(DRAFTS)


def test_a_scenario_replaces_the_observations_prefetch_with_an_error() -> None:
    assert any(s.prefetch_error == "observations" for s in SCENARIOS)


def test_expected_codes_are_sorted() -> None:
    assert all(list(s.expect) == sorted(s.expect) for s in SCENARIOS)


GOOD_ROW = 'patient = "ph-positive"\nhook = "patient-view"\nexpect = ["ph-positive"]\n'
ORDER_ROW = (
    'patient = "persistent-mrd"\nhook = "order-select"\ndrafts = "persistent-mrd-hct"\n'
    'selections = ["ServiceRequest/persistent-mrd-hct-sr-1"]\n'
    'expect = ["order-hct-with-detectable-mrd"]\n'
)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (GOOD_ROW.replace("ph-positive", "nobody", 1), "no patient file"),
        (GOOD_ROW.replace("patient-view", "encounter-start"), "is not one of"),
        (GOOD_ROW.replace('["ph-positive"]', '[""]'), "non-empty strings"),
        (GOOD_ROW.replace('["ph-positive"]', "[3]"), "non-empty strings"),
        (GOOD_ROW.replace('expect = ["ph-positive"]\n', ""), "expect is required"),
        (GOOD_ROW + 'drafts = "persistent-mrd-hct"\n', "patient-view takes no drafts"),
        (GOOD_ROW + 'colour = "red"\n', "unknown field"),
        (GOOD_ROW + 'prefetch_error = "labs"\n', "no prefetch key"),
        (ORDER_ROW.replace('drafts = "persistent-mrd-hct"\n', ""), "needs an existing drafts"),
        (ORDER_ROW.replace('drafts = "persistent-mrd-hct"', 'drafts = "nope"'), "existing drafts"),
        (ORDER_ROW.replace("sr-1", "sr-9"), "not in drafts"),
        (ORDER_ROW.replace("order-select", "order-sign"), "only order-select"),
    ],
)
def test_load_scenarios_rejects_a_broken_row(row: str, message: str, tmp_path: Path) -> None:
    manifest = tmp_path / "scenarios.toml"
    manifest.write_text("[[scenario]]\n" + row, encoding="utf-8")
    with pytest.raises(ManifestError, match=message):
        load_scenarios(manifest)


def test_load_scenarios_rejects_a_file_without_scenarios(tmp_path: Path) -> None:
    manifest = tmp_path / "scenarios.toml"
    manifest.write_text("title = 'empty'\n", encoding="utf-8")
    with pytest.raises(ManifestError, match="no \\[\\[scenario\\]\\]"):
        load_scenarios(manifest)


def test_load_scenarios_reads_an_order_row(tmp_path: Path) -> None:
    manifest = tmp_path / "scenarios.toml"
    manifest.write_text("[[scenario]]\n" + ORDER_ROW, encoding="utf-8")
    assert load_scenarios(manifest) == [
        Scenario(
            patient="persistent-mrd",
            hook="order-select",
            drafts="persistent-mrd-hct",
            selections=("ServiceRequest/persistent-mrd-hct-sr-1",),
            expect=("order-hct-with-detectable-mrd",),
            note="",
        )
    ]


# --- reproducible data --------------------------------------------------------------------------


def test_build_patients_reproduces_the_shipped_files(tmp_path: Path) -> None:
    build_patients.main(tmp_path / "patients", tmp_path / "drafts")
    for kind, directory in (("patients", patients.PATIENTS_DIR), ("drafts", patients.DRAFTS_DIR)):
        built = {p.name: p.read_text(encoding="utf-8") for p in (tmp_path / kind).glob("*.json")}
        shipped = {p.name: p.read_text(encoding="utf-8") for p in directory.glob("*.json")}
        assert built == shipped, f"run `python -m sandbox.build_patients` ({kind} changed)"


# --- the large-chart generator ------------------------------------------------------------------


@pytest.mark.parametrize("size", [100, 1_000, 5_000])
def test_large_chart_has_the_requested_size_within_ten_percent(size: int) -> None:
    count = len(large_chart(size, today=TODAY)["entry"])
    assert abs(count - size) <= size * 0.1


def test_large_chart_is_deterministic_for_a_seed() -> None:
    first = json.dumps(large_chart(1_000, seed=7, today=TODAY))
    assert first == json.dumps(large_chart(1_000, seed=7, today=TODAY))


def test_large_chart_differs_between_seeds() -> None:
    assert large_chart(500, seed=1, today=TODAY) != large_chart(500, seed=2, today=TODAY)


def test_large_chart_resources_are_valid_r4() -> None:
    bundle = large_chart(300, seed=3, today=TODAY)
    assert resource_errors(bundle) == []
    keys = [(r["resourceType"], r["id"]) for r in resources(bundle)]
    assert len(keys) == len(set(keys))


def test_large_chart_is_one_child_on_therapy_with_recent_growth() -> None:
    found = resources(large_chart(1_000, today=TODAY))
    assert sum(r["resourceType"] == "Patient" for r in found) == 1
    statuses = {r["status"] for r in found if r["resourceType"] == "MedicationRequest"}
    assert statuses == {"active", "completed"}
    bundle = {"entry": [{"resource": r} for r in found]}
    weight = latest(bundle, "29463-7")
    assert weight is not None
    assert (TODAY - weight[0]).days <= 30
