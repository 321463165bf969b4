"""FHIR -> facts: MRD, Ph and KMT2A, diagnosis lineage, disease state, HCT, CNS, NCI risk."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from cds_service.pathway.facts import PatientFacts
from cds_service.pathway.knowledge import Knowledge
from cds_service.pathway.loader import load_knowledge
from tests.unit import fhir_builders as fb
from tests.unit.test_knowledge_loader import SHIPPED
from tests.unit.test_normalize import DX, facts_of

EOI_DAY = DX + timedelta(days=29)


@pytest.fixture(scope="module")
def knowledge() -> Knowledge:
    return load_knowledge(SHIPPED)


def only(knowledge: Knowledge, *observations: dict[str, Any], **parts: Any) -> PatientFacts:
    return facts_of(knowledge, observations=list(observations), **parts)


# ---- MRD


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


# ---- Ph and KMT2A


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


# ---- diagnosis


@pytest.mark.parametrize(
    ("codes", "diagnosis"),
    [
        ([fb.B_ALL], "b-all"),
        ([(fb.SNOMED, "91857003")], "b-all"),
        ([(fb.ICD10, "C91.00")], "b-all"),
        ([fb.T_ALL], "t-all"),
        ([(fb.SNOMED, "91857003"), fb.T_ALL], "t-all"),
        ([fb.B_ALL, fb.T_ALL], "b-all"),
        ([(fb.SNOMED, "363346000")], None),
    ],
)
def test_diagnosis_lineage(
    knowledge: Knowledge, codes: list[tuple[str, str]], diagnosis: str | None
) -> None:
    conditions = [fb.condition(code, DX) for code in codes]
    assert facts_of(knowledge, conditions=conditions).diagnosis.value == diagnosis


def test_mcode_histology_extension_gives_the_diagnosis(knowledge: Knowledge) -> None:
    cancer = fb.condition((fb.SNOMED, "363346000"), DX)
    cancer["extension"] = [
        {
            "url": "http://hl7.org/fhir/us/mcode/StructureDefinition/"
            "mcode-histology-morphology-behavior",
            "valueCodeableConcept": fb.concept((fb.ICDO3, "9811/3")),
        }
    ]
    assert facts_of(knowledge, conditions=[cancer]).diagnosis.value == "b-all"


# ---- disease state

R1 = DX + timedelta(days=400)
R2 = DX + timedelta(days=700)


@pytest.mark.parametrize(
    ("conditions", "observations", "line", "relapse_date"),
    [
        ([], [], "first-line", None),
        ([fb.condition((fb.ICD10, "C91.02"), R1)], [], "first-relapse", R1),
        ([fb.condition(fb.B_ALL, R1, clinical="relapse")], [], "first-relapse", R1),
        ([], [fb.status_obs(R1, fb.RELAPSE), fb.status_obs(R1 + timedelta(days=9), fb.RELAPSE)],
         "first-relapse", R1),
        ([], [fb.status_obs(R1, fb.RELAPSE), fb.status_obs(R1 + timedelta(days=60), fb.REMISSION),
              fb.status_obs(R2, fb.RELAPSE)], "multiple-relapse", R2),
        ([], [fb.status_obs(R1, fb.REFRACTORY)], "refractory", None),
    ],
)  # fmt: skip
def test_line_of_therapy(
    knowledge: Knowledge,
    conditions: list[dict[str, Any]],
    observations: list[dict[str, Any]],
    line: str,
    relapse_date: date | None,
) -> None:
    found = facts_of(
        knowledge, conditions=[fb.condition(onset=DX), *conditions], observations=observations
    )
    assert (found.line.value, found.relapse_date.value) == (line, relapse_date)


def test_relapse_status_on_the_original_condition_is_a_relapse_of_unknown_date(
    knowledge: Knowledge,
) -> None:
    found = facts_of(knowledge, conditions=[fb.condition(onset=DX, clinical="relapse")])
    assert (found.line.value, found.relapse_date.value) == ("first-relapse", None)


def test_remission_after_relapse_is_second_remission(knowledge: Knowledge) -> None:
    observations = [
        fb.status_obs(R1, fb.RELAPSE),
        fb.status_obs(R1 + timedelta(days=35), fb.REMISSION),
    ]
    assert only(knowledge, *observations).in_remission.value is True


CNS = (fb.NCIT, "C12438")
MARROW = (fb.SNOMED, "14016003")


@pytest.mark.parametrize(
    ("sites", "mrd", "site", "isolated"),
    [
        ([CNS], [fb.mrd(R1, 0.001)], "cns", True),
        ([CNS], [fb.mrd(R1, 0.5)], "cns", False),
        ([CNS, MARROW], [fb.mrd(R1, 0.001)], "cns", False),
        ([CNS], [], "cns", None),
        ([], [fb.mrd(R1, 0.001)], None, None),
    ],
)
def test_isolated_extramedullary_relapse_needs_marrow_spared(
    knowledge: Knowledge,
    sites: list[tuple[str, str]],
    mrd: list[dict[str, Any]],
    site: str | None,
    isolated: bool | None,
) -> None:
    relapse = fb.condition((fb.ICD10, "C91.02"), R1, body_sites=sites)
    found = facts_of(knowledge, conditions=[fb.condition(onset=DX), relapse], observations=mrd)
    assert (found.extramedullary_site.value, found.isolated_extramedullary.value) == (
        site,
        isolated,
    )


def test_relapse_status_observation_body_site_gives_the_site(knowledge: Knowledge) -> None:
    relapse = fb.status_obs(R1, fb.RELAPSE)
    relapse["bodySite"] = fb.concept((fb.SNOMED, "40689003"))
    found = only(knowledge, relapse, fb.mrd(R1 + timedelta(days=1), 0.01, comparator="<"))
    assert (found.extramedullary_site.value, found.isolated_extramedullary.value) == (
        "testis",
        True,
    )


def test_relapse_site_observation_gives_the_site(knowledge: Knowledge) -> None:
    site = fb.observation(
        (fb.LAB, "relapse-site"), R1, valueCodeableConcept=fb.concept((fb.NCIT, "C12412"))
    )
    relapse = fb.status_obs(R1, fb.RELAPSE)
    found = only(knowledge, relapse, site, fb.mrd(R1, 0.001))
    assert (found.extramedullary_site.value, found.isolated_extramedullary.value) == (
        "testis",
        True,
    )


# ---- HCT, CNS, NCI risk

HCT_DAY = DX + timedelta(days=200)


@pytest.mark.parametrize(
    ("parts", "prior", "requested"),
    [
        ({"procedures": [fb.procedure(fb.HCT, "completed", HCT_DAY)]}, True, False),
        ({"procedures": [fb.procedure((fb.CPT, "38240"), "completed", HCT_DAY)]}, True, False),
        ({"procedures": [fb.procedure(fb.HCT, "preparation")]}, False, True),
        ({"procedures": [fb.procedure(fb.HCT, "entered-in-error", HCT_DAY)]}, False, False),
        ({"service_requests": [fb.service_request(fb.HCT, "draft")]}, False, True),
        ({"service_requests": [fb.service_request(fb.HCT, "active")]}, False, True),
        ({"service_requests": [fb.service_request(fb.HCT, "completed")]}, False, False),
        ({"conditions": [fb.condition(onset=DX), fb.condition((fb.ICD10, "Z94.84"), HCT_DAY)]},
         True, False),
    ],
)  # fmt: skip
def test_hct_done_or_requested(
    knowledge: Knowledge, parts: dict[str, Any], prior: bool, requested: bool
) -> None:
    found = facts_of(knowledge, **parts)
    assert (found.prior_hct.value, found.hct_requested.value) == (prior, requested)


def test_hct_date_is_the_first_transplant(knowledge: Knowledge) -> None:
    procedures = [
        fb.procedure(fb.HCT, "completed", HCT_DAY + timedelta(days=300)),
        fb.procedure(fb.HCT, "completed", HCT_DAY),
    ]
    assert facts_of(knowledge, procedures=procedures).hct_date.value == HCT_DAY


@pytest.mark.parametrize(
    ("value", "status"),
    [
        ({"valueCodeableConcept": fb.concept((fb.NCIT, "C116835"))}, "CNS3"),
        ({"valueCodeableConcept": fb.concept((fb.NCIT, "C116833"))}, "CNS1"),
        ({"valueCodeableConcept": {"text": "CNS2b"}}, "CNS2"),
        ({"valueString": "cns 3a"}, "CNS3"),
        ({"valueString": "traumatic tap"}, None),
    ],
)
def test_cns_status(knowledge: Knowledge, value: dict[str, Any], status: str | None) -> None:
    for code in [(fb.NCIT, "C116832"), (fb.LAB, "cns-status")]:
        assert only(knowledge, fb.observation(code, DX, **value)).cns_status.value == status


@pytest.mark.parametrize(
    ("age_years", "age_months", "wbc", "risk"),
    [
        (9, 11, 10.0, "standard"),
        (10, 0, 10.0, "high"),
        (5, 0, 49.9, "standard"),
        (5, 0, 50.0, "high"),
        (5, 0, None, None),
        (10, 0, None, "high"),
        (0, 11, 10.0, "infant"),
    ],
)
def test_nci_risk_group(
    knowledge: Knowledge, age_years: int, age_months: int, wbc: float | None, risk: str | None
) -> None:
    born = fb.years_before(DX, age_years, age_months)
    observations = [fb.quantity_obs(fb.WBC, DX, wbc, "10*3/uL")] if wbc is not None else []
    assert facts_of(knowledge, born=born, observations=observations).nci_risk.value == risk
