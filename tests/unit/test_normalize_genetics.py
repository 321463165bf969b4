"""FHIR -> facts: Ph (BCR::ABL1) and KMT2A status from tests, variants and karyotypes."""

from __future__ import annotations

from typing import Any

import pytest

from cds_service.pathway.knowledge import Knowledge
from cds_service.pathway.loader import load_knowledge
from tests.unit import fhir_builders as fb
from tests.unit.normalize_support import only
from tests.unit.test_knowledge_loader import SHIPPED
from tests.unit.test_normalize import DX, facts_of


@pytest.fixture(scope="module")
def knowledge() -> Knowledge:
    return load_knowledge(SHIPPED)


def variant(genes: list[str], present: bool) -> dict[str, Any]:
    answer = ("http://loinc.org", "LA9633-4" if present else "LA9634-2")
    obs = fb.observation(
        ("http://loinc.org", "69548-6"), DX, valueCodeableConcept=fb.concept(answer)
    )
    obs["component"] = [
        {
            "code": fb.concept(("http://loinc.org", "48018-6")),
            "valueCodeableConcept": fb.concept(*[(fb.HGNC, g) for g in genes]),
        }
    ]
    return obs


def iscn(text: str) -> dict[str, Any]:
    return fb.observation(("http://loinc.org", "81291-7"), DX, valueString=text)


def ph_test(**value: Any) -> dict[str, Any]:
    return fb.observation(fb.PH_TEST, DX, **value)


@pytest.mark.parametrize(
    ("observations", "status"),
    [
        ([ph_test(valueCodeableConcept=fb.concept(fb.DETECTED))], "positive"),
        ([ph_test(valueCodeableConcept=fb.concept(fb.NOT_DETECTED))], "negative"),
        ([ph_test(valueQuantity={"value": 0.4, "unit": "%"})], "positive"),
        ([ph_test(valueQuantity={"value": 0, "unit": "%"})], "negative"),
        ([ph_test(valueString="Negative")], "negative"),
        ([ph_test(interpretation=[fb.concept((fb.INTERP, "POS"))])], "positive"),
        ([variant(["HGNC:1014", "HGNC:76"], True)], "positive"),
        ([variant(["HGNC:1014", "HGNC:76"], False)], "negative"),
        ([variant(["HGNC:1014"], True)], None),
        ([iscn("46,XY,t(9;22)(q34;q11.2)[20]")], "positive"),
        ([iscn("46,XY[20]")], None),
        (
            [
                ph_test(valueCodeableConcept=fb.concept(fb.DETECTED)),
                ph_test(valueCodeableConcept=fb.concept(fb.NOT_DETECTED)),
            ],
            "positive",
        ),
        ([], None),
    ],
)
def test_ph_status(
    knowledge: Knowledge, observations: list[dict[str, Any]], status: str | None
) -> None:
    assert only(knowledge, *observations).ph_status.value == status


def test_ph_positive_diagnosis_code_says_ph_positive(knowledge: Knowledge) -> None:
    conditions = [fb.condition((fb.ICDO3, "9812/3"), DX)]
    assert facts_of(knowledge, conditions=conditions).ph_status.value == "positive"


@pytest.mark.parametrize(
    ("observations", "status"),
    [
        (
            [fb.observation(fb.KMT2A_TEST, DX, valueCodeableConcept=fb.concept(fb.DETECTED))],
            "rearranged",
        ),
        (
            [fb.observation(fb.KMT2A_TEST, DX, valueCodeableConcept=fb.concept(fb.NOT_DETECTED))],
            "germline",
        ),
        ([variant(["HGNC:7132"], True)], "rearranged"),
        ([iscn("46,XX,t(4;11)(q21;q23)[18]/46,XX[2]")], "rearranged"),
        ([iscn("46,XX,del(11)(11q23)")], "rearranged"),
        ([iscn("46,XX,t(12;21)(p13;q22)")], None),
        ([], None),
    ],
)
def test_kmt2a_status(
    knowledge: Knowledge, observations: list[dict[str, Any]], status: str | None
) -> None:
    assert only(knowledge, *observations).kmt2a_status.value == status
