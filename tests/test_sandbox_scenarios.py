"""The scenario manifest, and the clinical coherence of the charts its scenarios expect."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox import patients
from sandbox.scenarios import ManifestError, Scenario, load_scenarios
from tests.sandbox_patients_support import DRAFTS, PATIENTS, TODAY, latest

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

SCENARIOS = load_scenarios()


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
