"""FHIR -> facts: HCT done or requested, CNS status and NCI risk group."""

from __future__ import annotations

from datetime import timedelta
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
