"""FHIR -> facts: ages, units, dates, statuses, unavailable data, and the cost of a big chart."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from cds_service.fhir import models
from cds_service.fhir.normalize import normalize
from cds_service.fhir.normalize.common import age_in_months, age_in_years, fhir_date
from cds_service.pathway.facts import PatientFacts
from cds_service.pathway.knowledge import Knowledge
from cds_service.pathway.loader import load_knowledge
from tests.unit import fhir_builders as fb
from tests.unit.test_knowledge_loader import SHIPPED

TODAY = date(2026, 3, 2)
DX = date(2026, 2, 10)
BORN = date(2020, 6, 15)


@pytest.fixture(scope="module")
def knowledge() -> Knowledge:
    return load_knowledge(SHIPPED)


def facts_of(knowledge: Knowledge, **parts: Any) -> PatientFacts:
    unavailable = parts.pop("unavailable", frozenset())
    born = parts.pop("born", BORN)
    parts.setdefault("conditions", [fb.condition(onset=DX)])
    return normalize(fb.chart(born, **parts), knowledge, TODAY, unavailable).facts


# ---- ages


@pytest.mark.parametrize(
    ("born", "on", "years"),
    [
        (date(2016, 3, 2), date(2026, 3, 2), 10.0),
        (date(2016, 3, 3), date(2026, 3, 2), 9.997),
        (date(2016, 2, 29), date(2026, 2, 28), 10.0),
    ],
)
def test_age_in_years_is_calendar_correct(born: date, on: date, years: float) -> None:
    assert age_in_years(born, on) == pytest.approx(years, abs=0.001)


@pytest.mark.parametrize(
    ("born", "on", "months"),
    [
        (date(2025, 9, 2), date(2026, 3, 2), 6.0),
        (date(2025, 9, 3), date(2026, 3, 2), 5 + 27 / 28),
        (date(2025, 3, 2), date(2026, 3, 2), 12.0),
        (date(2025, 3, 3), date(2026, 3, 2), 11 + 27 / 28),
        (date(2025, 8, 31), date(2026, 2, 28), 6.0),
    ],
)
def test_age_in_months_is_calendar_correct(born: date, on: date, months: float) -> None:
    assert age_in_months(born, on) == pytest.approx(months, abs=1e-9)


def test_a_child_is_ten_on_the_tenth_birthday_not_a_day_later(knowledge: Knowledge) -> None:
    on_birthday = facts_of(knowledge, born=date(2016, 3, 2))
    day_before = facts_of(knowledge, born=date(2016, 3, 3))
    assert on_birthday.age_years.value == 10.0
    assert day_before.age_years.value is not None
    assert day_before.age_years.value < 10.0


# ---- dates


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-02-10", date(2026, 2, 10)),
        ("2026-02-10T23:30:00-05:00", date(2026, 2, 10)),
        ("2026-02-10T01:15:00Z", date(2026, 2, 10)),
        ("2026-02-10T01:15:00.250+09:00", date(2026, 2, 10)),
        ("2026-02", None),
        ("2026", None),
        ("2026-02-30", None),
        (None, None),
    ],
)
def test_fhir_dates_become_calendar_dates(raw: str | None, expected: date | None) -> None:
    assert fhir_date(raw) == expected


def test_diagnosis_date_falls_back_to_recorded_date(knowledge: Knowledge) -> None:
    found = facts_of(knowledge, conditions=[fb.condition(recorded=DX)])
    assert found.diagnosis_date.value == DX


@pytest.mark.parametrize(
    "when",
    [
        {"effectivePeriod": {"start": "2026-02-11T08:00:00+01:00"}},
        {"issued": "2026-02-11T08:00:00+01:00"},
    ],
)
def test_observation_date_comes_from_period_start_or_issued(
    knowledge: Knowledge, when: dict[str, Any]
) -> None:
    wbc = fb.quantity_obs(fb.WBC, DX, 12, "10*3/uL")
    del wbc["effectiveDateTime"]
    wbc.update(when)
    found = facts_of(knowledge, observations=[wbc])
    assert found.wbc_at_diagnosis.sources[0].date == date(2026, 2, 11)


# ---- units


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [
        (62, "10*3/uL", 62.0),
        (62, "10*9/L", 62.0),
        (62000, "/uL", 62.0),
        (62000, "cells/uL", 62.0),
        (62000, "{cells}/uL", 62.0),
        (62, "K/uL", None),
        (62, "", None),
    ],
)
def test_wbc_is_normalised_to_thousands_per_microlitre(
    knowledge: Knowledge, value: float, unit: str, expected: float | None
) -> None:
    found = facts_of(knowledge, observations=[fb.quantity_obs(fb.WBC, DX, value, unit)])
    assert found.wbc_at_diagnosis.value == expected


@pytest.mark.parametrize(("offset", "known"), [(14, True), (-14, True), (15, False), (-15, False)])
def test_wbc_at_diagnosis_is_within_fourteen_days(
    knowledge: Knowledge, offset: int, known: bool
) -> None:
    day = DX + timedelta(days=offset)
    found = facts_of(knowledge, observations=[fb.quantity_obs(fb.WBC, day, 20, "10*3/uL")])
    assert found.wbc_at_diagnosis.known is known


def test_wbc_nearest_the_diagnosis_wins(knowledge: Knowledge) -> None:
    observations = [
        fb.quantity_obs(fb.WBC, DX + timedelta(days=5), 8, "10*3/uL"),
        fb.quantity_obs(fb.WBC, DX - timedelta(days=1), 64, "10*3/uL"),
    ]
    assert facts_of(knowledge, observations=observations).wbc_at_diagnosis.value == 64


@pytest.mark.parametrize(
    ("offset", "value", "unit", "expected"),
    [(0, 0.8, "10*3/uL", 0.8), (7, 800, "/uL", 0.8), (8, 0.8, "10*3/uL", None)],
)
def test_anc_is_the_latest_of_the_last_seven_days(
    knowledge: Knowledge, offset: int, value: float, unit: str, expected: float | None
) -> None:
    day = TODAY - timedelta(days=offset)
    found = facts_of(knowledge, observations=[fb.quantity_obs(fb.ANC, day, value, unit)])
    assert found.anc.value == expected


@pytest.mark.parametrize(
    ("charted", "bsa", "flag"), [(None, 0.782, None), (0.80, 0.80, False), (0.95, 0.95, True)]
)
def test_bsa_is_charted_or_mosteller_and_flagged_when_they_differ(
    knowledge: Knowledge, charted: float | None, bsa: float, flag: bool | None
) -> None:
    day = TODAY - timedelta(days=3)
    observations = [
        fb.quantity_obs(("http://loinc.org", "29463-7"), day, 20, "kg"),
        fb.quantity_obs(("http://loinc.org", "8302-2"), day, 1.10, "m"),
    ]
    if charted is not None:
        observations.append(fb.quantity_obs(("http://loinc.org", "8277-6"), day, charted, "m2"))
    found = facts_of(knowledge, observations=observations)
    assert found.height_cm.value == 110.0
    assert found.bsa_m2.value == pytest.approx(bsa, abs=0.001)
    assert found.bsa_discrepancy.value is flag


def test_weight_older_than_thirty_days_is_unknown(knowledge: Knowledge) -> None:
    old = fb.quantity_obs(("http://loinc.org", "29463-7"), TODAY - timedelta(days=31), 20, "kg")
    found = facts_of(knowledge, observations=[old])
    assert not found.weight_kg.known
    assert not found.bsa_m2.known


# ---- statuses


@pytest.mark.parametrize("verification", ["entered-in-error", "refuted"])
def test_a_withdrawn_diagnosis_is_no_diagnosis(knowledge: Knowledge, verification: str) -> None:
    found = facts_of(knowledge, conditions=[fb.condition(onset=DX, verification=verification)])
    assert not found.diagnosis.known


@pytest.mark.parametrize(
    ("status", "counts"),
    [("final", True), ("preliminary", True), ("amended", True), ("corrected", True),
     ("entered-in-error", False), ("cancelled", False), ("registered", False)],
)  # fmt: skip
def test_observation_status_decides_whether_a_result_counts(
    knowledge: Knowledge, status: str, counts: bool
) -> None:
    wbc = fb.quantity_obs(fb.WBC, DX, 12, "10*3/uL")
    wbc["status"] = status
    assert facts_of(knowledge, observations=[wbc]).wbc_at_diagnosis.known is counts


@pytest.mark.parametrize(
    ("status", "intent", "active"),
    [("active", "order", True), ("active", "plan", True), ("draft", "order", False),
     ("on-hold", "order", False), ("stopped", "order", False), ("completed", "order", False),
     ("cancelled", "order", False), ("entered-in-error", "order", False),
     ("active", "proposal", False)],
)  # fmt: skip
def test_only_active_orders_are_therapies(
    knowledge: Knowledge, status: str, intent: str, active: bool
) -> None:
    found = facts_of(knowledge, medications=[fb.med("imatinib", status=status, intent=intent)])
    assert ("imatinib" in (found.therapies.value or set())) is active


def test_no_medication_orders_means_no_therapies(knowledge: Knowledge) -> None:
    assert facts_of(knowledge).therapies.value == frozenset()


# ---- unavailable data stays unknown


@pytest.mark.parametrize(
    ("subjects", "enrolled"),
    [([], False), ([fb.research_subject("on-study")], True),
     ([fb.research_subject("withdrawn")], False)],
)  # fmt: skip
def test_trial_enrolment_reads_active_research_subjects(
    knowledge: Knowledge, subjects: list[dict[str, Any]], enrolled: bool
) -> None:
    assert facts_of(knowledge, research_subjects=subjects).trial_enrolled.value is enrolled


PH_NEGATIVE = fb.observation(fb.PH_TEST, DX, valueCodeableConcept=fb.concept(fb.NOT_DETECTED))
KMT2A_NEGATIVE = fb.observation(fb.KMT2A_TEST, DX, valueCodeableConcept=fb.concept(fb.NOT_DETECTED))


@pytest.mark.parametrize(
    ("key", "fact", "parts"),
    [("researchSubjects", "trial_enrolled", {}), ("medications", "therapies", {}),
     ("procedures", "prior_hct", {}), ("procedures", "hct_requested", {}),
     ("serviceRequests", "hct_requested", {}),
     ("observations", "ph_status", {"observations": [PH_NEGATIVE]}),
     ("observations", "kmt2a_status", {"observations": [KMT2A_NEGATIVE]})],
)  # fmt: skip
def test_unavailable_data_leaves_its_facts_unknown(
    knowledge: Knowledge, key: str, fact: str, parts: dict[str, Any]
) -> None:
    assert getattr(facts_of(knowledge, **parts), fact).known
    found = facts_of(knowledge, unavailable=frozenset({key}), **parts)
    assert not getattr(found, fact).known


# ---- validation cost and invalid resources


def test_a_big_chart_validates_only_the_relevant_observations(
    knowledge: Knowledge, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = count_validations(monkeypatch)
    noise = [
        fb.quantity_obs(("http://loinc.org", "2345-7"), DX, 90 + i % 10, "mg/dL")
        for i in range(2000)
    ]
    relevant = [fb.quantity_obs(fb.WBC, DX, 12, "10*3/uL"), fb.mrd(TODAY, 0.05)]
    found = facts_of(knowledge, observations=noise + relevant)
    assert [r["id"] for r in relevant if r["id"] in calls] == [r["id"] for r in relevant]
    assert not {r["id"] for r in noise} & set(calls)
    assert found.wbc_at_diagnosis.value == 12


def invalid(resource: dict[str, Any]) -> dict[str, Any]:
    """Return the resource made invalid R4 in a field no reader looks at."""
    resource["issued"] = "not-an-instant"
    return resource


def test_an_invalid_relevant_resource_is_skipped_and_counted(knowledge: Knowledge) -> None:
    broken = invalid(fb.quantity_obs(fb.WBC, DX, 75, "10*3/uL"))
    irrelevant_broken = {"resourceType": "Observation", "status": "final", "code": "nonsense"}
    result = normalize(
        fb.chart(
            BORN, conditions=[fb.condition(onset=DX)], observations=[broken, irrelevant_broken]
        ),
        knowledge,
        TODAY,
    )
    assert result.skipped == 1
    assert not result.facts.wbc_at_diagnosis.known


def count_validations(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record the id of every resource validated from now on (no verdict remembered before)."""
    calls: list[str] = []
    real = models.parse_resource

    def counting(data: Any) -> Any:
        calls.append(data.get("id"))
        return real(data)

    monkeypatch.setattr(models, "parse_resource", counting)
    monkeypatch.setattr(models, "_VERDICTS", models._Verdicts(1000))
    return calls


def test_only_the_count_a_reader_picks_is_validated(
    knowledge: Knowledge, monkeypatch: pytest.MonkeyPatch
) -> None:
    week = [
        fb.quantity_obs(fb.ANC, TODAY - timedelta(days=d), 1.0 + d, "10*3/uL") for d in range(6)
    ]
    calls = count_validations(monkeypatch)

    found = facts_of(knowledge, observations=week)

    assert found.anc.value == 1.0
    assert [c for c in calls if c.startswith("obs-")] == [week[0]["id"]]


def test_an_invalid_latest_count_is_skipped_and_the_next_valid_one_read(
    knowledge: Knowledge,
) -> None:
    latest = invalid(fb.quantity_obs(fb.ANC, TODAY, 0.2, "10*3/uL"))
    earlier = fb.quantity_obs(fb.ANC, TODAY - timedelta(days=2), 0.9, "10*3/uL")

    result = normalize(
        fb.chart(BORN, conditions=[fb.condition(onset=DX)], observations=[latest, earlier]),
        knowledge,
        TODAY,
    )

    assert result.facts.anc.value == 0.9
    assert result.facts.anc.sources[0].reference == f"Observation/{earlier['id']}"
    assert result.skipped == 1


def test_an_invalid_nearest_wbc_is_skipped_and_the_next_nearest_read(
    knowledge: Knowledge,
) -> None:
    nearest = invalid(fb.quantity_obs(fb.WBC, DX, 75, "10*3/uL"))
    next_nearest = fb.quantity_obs(fb.WBC, DX + timedelta(days=3), 12, "10*3/uL")
    farther = fb.quantity_obs(fb.WBC, DX - timedelta(days=9), 60, "10*3/uL")

    result = normalize(
        fb.chart(
            BORN,
            conditions=[fb.condition(onset=DX)],
            observations=[farther, nearest, next_nearest],
        ),
        knowledge,
        TODAY,
    )

    assert result.facts.wbc_at_diagnosis.value == 12
    assert result.skipped == 1


def test_an_invalid_latest_weight_gives_way_to_the_previous_one(knowledge: Knowledge) -> None:
    weight = ("http://loinc.org", "29463-7")
    latest = invalid(fb.quantity_obs(weight, TODAY, 30, "kg"))
    earlier = fb.quantity_obs(weight, TODAY - timedelta(days=10), 21, "kg")

    found = facts_of(knowledge, observations=[earlier, latest])

    assert found.weight_kg.value == 21


def test_results_read_in_full_are_validated_even_when_unused(
    knowledge: Knowledge, monkeypatch: pytest.MonkeyPatch
) -> None:
    mrd_results = [fb.mrd(TODAY - timedelta(days=d), 0.05) for d in (10, 40)]
    calls = count_validations(monkeypatch)

    facts_of(knowledge, observations=mrd_results)

    assert sorted(c for c in calls if c.startswith("obs-")) == sorted(r["id"] for r in mrd_results)


def test_patient_id_and_birth_date_are_read(knowledge: Knowledge) -> None:
    found = facts_of(knowledge)
    assert found.patient_id == fb.PATIENT_ID
    assert found.birth_date.value == BORN
    assert found.age_years.sources[0].reference == f"Patient/{fb.PATIENT_ID}"
