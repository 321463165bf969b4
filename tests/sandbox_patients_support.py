"""The sandbox patients and drafts, and bundle readers shared by the sandbox data tests
(tests/test_sandbox_patients.py, test_sandbox_scenarios.py and test_sandbox_generators.py)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sandbox import patients

TODAY = date(2026, 3, 2)

PATIENTS = patients.names()
DRAFTS = patients.draft_names()


def resources(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    return [entry["resource"] for entry in bundle["entry"]]


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
