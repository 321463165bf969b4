"""FHIR -> facts: MRD results, their timepoint, persistent and latest MRD."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from cds_service.pathway.knowledge import Knowledge
from cds_service.pathway.loader import load_knowledge
from tests.unit import fhir_builders as fb
from tests.unit.normalize_support import only
from tests.unit.test_knowledge_loader import SHIPPED
from tests.unit.test_normalize import DX


@pytest.fixture(scope="module")
def knowledge() -> Knowledge:
    return load_knowledge(SHIPPED)


EOI_DAY = DX + timedelta(days=29)


@pytest.mark.parametrize(
    ("kwargs", "positive", "percent"),
    [
        ({"percent": 0.05}, True, 0.05),
        ({"percent": 0.01}, True, 0.01),
        ({"percent": 0.009}, False, 0.009),
        ({"percent": 0.01, "comparator": "<"}, False, 0.01),
        ({"percent": 0.001, "comparator": "<"}, False, 0.001),
        ({"percent": 0.05, "comparator": "<"}, None, 0.05),
        ({"percent": 0.05, "comparator": "<", "interpretation": "NEG"}, None, 0.05),
        ({"detected": True}, True, None),
        ({"detected": False}, False, None),
        ({"interpretation": "POS"}, True, None),
        ({"interpretation": "NEG"}, False, None),
    ],
)
def test_mrd_result_is_read_as_positive_negative_or_unknown(
    knowledge: Knowledge, kwargs: dict[str, Any], positive: bool | None, percent: float | None
) -> None:
    (result,) = only(knowledge, fb.mrd(EOI_DAY, **kwargs)).mrd_results
    assert (result.positive, result.value_percent) == (positive, percent)


@pytest.mark.parametrize(("text", "positive"), [("Not detected", False), ("Detected", True)])
def test_mrd_text_result_is_read_whole(knowledge: Knowledge, text: str, positive: bool) -> None:
    obs = fb.observation(fb.MRD_FLOW, EOI_DAY, valueCodeableConcept={"text": text})
    (result,) = only(knowledge, obs).mrd_results
    assert result.positive is positive


def test_mrd_in_an_unknown_unit_is_unknown(knowledge: Knowledge) -> None:
    obs = fb.quantity_obs(fb.MRD_FLOW, EOI_DAY, 1, "10*-4")
    (result,) = only(knowledge, obs).mrd_results
    assert (result.positive, result.value_percent) == (None, None)


@pytest.mark.parametrize(
    "component",
    [
        {"code": fb.concept((fb.LAB, "mrd-timepoint")), "valueString": "EOI"},
        {
            "code": fb.concept((fb.LAB, "mrd-timepoint")),
            "valueCodeableConcept": fb.concept((fb.LAB, "eoi")),
        },
    ],
)
def test_mrd_timepoint_is_read_from_its_component(
    knowledge: Knowledge, component: dict[str, Any]
) -> None:
    obs = fb.mrd(DX + timedelta(days=60), 0.005)
    obs["component"] = [component]
    found = only(knowledge, obs)
    assert found.mrd_results[0].timepoint == "eoi"
    assert found.eoi_mrd.value == found.mrd_results[0]


@pytest.mark.parametrize(("days", "is_eoi"), [(20, False), (21, True), (49, True), (50, False)])
def test_untagged_mrd_counts_as_eoi_21_to_49_days_after_diagnosis(
    knowledge: Knowledge, days: int, is_eoi: bool
) -> None:
    found = only(knowledge, fb.mrd(DX + timedelta(days=days), 0.05))
    assert found.eoi_mrd.known is is_eoi


def test_a_day8_result_is_not_the_eoi_result(knowledge: Knowledge) -> None:
    found = only(knowledge, fb.mrd(DX + timedelta(days=25), 0.5, timepoint="day8"))
    assert not found.eoi_mrd.known


@pytest.mark.parametrize(("eoc", "persistent"), [(0.02, True), (0.005, False), (None, None)])
def test_persistent_mrd_is_eoi_positive_and_still_positive_later(
    knowledge: Knowledge, eoc: float | None, persistent: bool | None
) -> None:
    results = [fb.mrd(EOI_DAY, 0.05, timepoint="eoi")]
    if eoc is not None:
        results.append(fb.mrd(EOI_DAY + timedelta(days=60), eoc, timepoint="eoc"))
    assert only(knowledge, *results).persistent_mrd.value is persistent


def test_a_negative_eoi_is_never_persistent(knowledge: Knowledge) -> None:
    assert only(knowledge, fb.mrd(EOI_DAY, 0.001)).persistent_mrd.value is False


def test_latest_mrd_is_the_most_recent(knowledge: Knowledge) -> None:
    found = only(knowledge, fb.mrd(EOI_DAY + timedelta(days=9), 0.2), fb.mrd(EOI_DAY, 0.001))
    assert found.latest_mrd.value is not None
    assert found.latest_mrd.value.value_percent == 0.2
