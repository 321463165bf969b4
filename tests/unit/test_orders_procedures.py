"""Order checks on procedures: HCT with MRD, infant HCT timing, infant TBI, local-only therapy."""

from __future__ import annotations

from datetime import date

import pytest

from cds_service.pathway.facts import MrdResult
from tests.unit.test_orders_support import (
    CPT,
    PROCEDURE,
    SNOMED,
    facts,
    med,
    run,
    service,
    steps,
)

HCT = service("hct", SNOMED, "234336002")
HCT_CPT = service("hct2", CPT, "38240")
TBI = service("tbi", CPT, "77470")
CRANIAL = service("rt", PROCEDURE, "cranial-radiation")
SCHOOL_AGE = {"age_years": 8.0, "birth_date": date(2018, 6, 1)}


def _mrd(positive: bool | None, percent: float | None = None) -> MrdResult:
    return MrdResult(date=date(2026, 11, 1), positive=positive, value_percent=percent)


@pytest.mark.parametrize("order", [HCT, HCT_CPT])
def test_hct_with_positive_latest_mrd_warns(order: dict[str, object]) -> None:
    findings = run(facts(latest_mrd=_mrd(True, 0.5), **SCHOOL_AGE), order)
    assert steps(findings) == ["order-hct-with-detectable-mrd"]
    assert findings[0].indicator == "warning"


def test_hct_with_negative_latest_mrd_is_silent() -> None:
    assert run(facts(latest_mrd=_mrd(False, 0.001), **SCHOOL_AGE), HCT) == []


@pytest.mark.parametrize(("percent", "fires"), [(0.009, False), (0.01, True)])
def test_uninterpreted_mrd_value_uses_the_0_01_percent_cut_off(percent: float, fires: bool) -> None:
    findings = run(facts(latest_mrd=_mrd(None, percent), **SCHOOL_AGE), HCT)
    assert ("order-hct-with-detectable-mrd" in steps(findings)) is fires


def test_hct_with_unknown_mrd_is_silent() -> None:
    assert run(facts(**SCHOOL_AGE), HCT) == []


def test_hct_with_mrd_without_value_or_verdict_is_silent() -> None:
    assert run(facts(latest_mrd=_mrd(None), **SCHOOL_AGE), HCT) == []


def test_hct_finding_carries_the_mrd_for_the_card() -> None:
    finding = run(facts(latest_mrd=_mrd(True, 0.5), **SCHOOL_AGE), HCT)[0]
    assert finding.values["latest_mrd"] == "0.5 % (positive), 2026-11-01"
    assert finding.values["drafts"] == ("ServiceRequest/hct",)


def test_unselected_hct_draft_is_context_not_a_trigger() -> None:
    findings = run(
        facts(latest_mrd=_mrd(True, 0.5), **SCHOOL_AGE),
        HCT,
        med("v", "vincristine", 1.5),
        selections=["MedicationRequest/v"],
    )
    assert findings == []


@pytest.mark.parametrize(
    ("birth_date", "fires"),
    [(date(2026, 5, 25), True), (date(2026, 5, 24), False)],  # 6 months old on 2026-11-24
)
def test_infant_hct_timing_turns_off_on_the_six_month_birthday(
    birth_date: date, fires: bool
) -> None:
    findings = run(facts(birth_date=birth_date), HCT)
    assert ("order-infant-hct-timing" in steps(findings)) is fires


@pytest.mark.parametrize(("months", "fires"), [(5.9, True), (6.0, False)])
def test_infant_hct_timing_from_age_without_birth_date(months: float, fires: bool) -> None:
    findings = run(facts(age_years=months / 12), HCT)
    assert ("order-infant-hct-timing" in steps(findings)) is fires


def test_infant_hct_timing_with_unknown_age_is_silent() -> None:
    assert run(facts(), HCT) == []


def test_infant_hct_card_states_the_age() -> None:
    finding = run(facts(age_years=0.25), HCT)[0]
    assert finding.values["age_months"] == "3"


@pytest.mark.parametrize(
    "patient",
    [
        {"age_years": 0.8},
        {"birth_date": date(2026, 3, 1)},
        {"age_years": 1.5, "nci_risk": "infant"},
        {"age_years": 10.0, "kmt2a_status": "rearranged"},
    ],
)
def test_tbi_for_infant_or_kmt2a_rearranged_warns(patient: dict[str, object]) -> None:
    assert steps(run(facts(**patient), TBI)) == ["order-infant-tbi"]


@pytest.mark.parametrize(
    "patient",
    [
        {"age_years": 10.0, "kmt2a_status": "germline", "nci_risk": "high"},
        {"age_years": 1.0},  # 12 months exactly: no longer an infant
        {},
    ],
)
def test_tbi_for_older_germline_or_unknown_patient_is_silent(patient: dict[str, object]) -> None:
    assert run(facts(**patient), TBI) == []


def test_isolated_extramedullary_relapse_with_local_therapy_only_warns() -> None:
    patient = facts(isolated_extramedullary=True, extramedullary_site="cns", therapies=frozenset())
    findings = run(patient, CRANIAL)
    assert steps(findings) == ["order-extramedullary-local-only"]
    assert findings[0].values["site"] == "cns"


def test_local_therapy_with_systemic_therapy_drafted_is_silent() -> None:
    patient = facts(isolated_extramedullary=True, therapies=frozenset())
    assert run(patient, CRANIAL, med("c", "cytarabine", 100)) == []


def test_local_therapy_with_systemic_therapy_in_unselected_context_is_silent() -> None:
    patient = facts(isolated_extramedullary=True, therapies=frozenset())
    findings = run(patient, CRANIAL, med("c", "cytarabine", 100), selections=["ServiceRequest/rt"])
    assert findings == []


def test_local_therapy_with_active_chemotherapy_is_silent() -> None:
    patient = facts(isolated_extramedullary=True, therapies=frozenset({"methotrexate"}))
    assert run(patient, CRANIAL) == []


def test_local_therapy_with_only_a_steroid_still_warns() -> None:
    patient = facts(isolated_extramedullary=True, therapies=frozenset({"dexamethasone"}))
    assert steps(run(patient, CRANIAL)) == ["order-extramedullary-local-only"]


@pytest.mark.parametrize(
    "patient",
    [
        {"isolated_extramedullary": False, "therapies": frozenset()},
        {"therapies": frozenset()},
        {"isolated_extramedullary": True},  # therapies unknown
    ],
)
def test_local_therapy_without_known_isolated_relapse_or_therapies_is_silent(
    patient: dict[str, object],
) -> None:
    assert run(facts(**patient), CRANIAL) == []
