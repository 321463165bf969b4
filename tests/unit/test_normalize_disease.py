"""FHIR -> facts: diagnosis lineage and disease state (line of therapy, relapse, site)."""

from __future__ import annotations

from datetime import date, timedelta
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
