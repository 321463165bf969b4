"""Generated sandbox data: the shipped patient files and the large-chart generator."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cds_service.fhir.models import resource_errors
from sandbox import build_patients, patients
from sandbox.generator import large_chart
from tests.sandbox_patients_support import TODAY, latest, resources

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
