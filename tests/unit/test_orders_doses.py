"""Dose checks: imatinib 340 mg/m²/day and blinatumomab, with the one-click update."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from cds_service.fhir.models import resource_errors
from cds_service.pathway.findings import Finding
from tests.unit.test_orders_support import dstu2, facts, med, run, steps

BSA_1 = {"bsa_m2": 1.0, "weight_kg": 30.0}  # imatinib target 340 mg/day; blinatumomab 15 µg/day


def _imatinib_cards(resource: dict[str, Any], **patient: Any) -> list[Finding]:
    findings = run(facts(**(patient or BSA_1)), resource)
    return [f for f in findings if f.step == "order-imatinib-dose"]


@pytest.mark.parametrize(
    ("daily_mg", "fires"),
    [(340, False), (309.4, False), (370.6, False), (302, True), (378, True), (34, True)],
)
def test_imatinib_dose_fires_only_beyond_ten_percent(daily_mg: float, fires: bool) -> None:
    # 309.4 / 370.6 are 9 % off 340; 302 / 378 are about 11 % off.
    assert bool(_imatinib_cards(med("i", "imatinib", daily_mg))) is fires


def test_imatinib_dose_counts_administrations_per_day() -> None:
    assert _imatinib_cards(med("i", "imatinib", 170, per_day=2)) == []
    assert _imatinib_cards(med("i", "imatinib", 150, per_day=2))


@pytest.mark.parametrize(
    ("value", "unit", "fires"),
    [(0.34, "g", False), (0.3, "g", True), (340, "mg/m2", False), (300, "mg/m2", True)],
)
def test_imatinib_dose_in_grams_or_per_m2(value: float, unit: str, fires: bool) -> None:
    assert bool(_imatinib_cards(med("i", "imatinib", value, unit))) is fires


@pytest.mark.parametrize(
    "resource",
    [
        med("i", "imatinib"),  # no dose
        med("i", "imatinib", 3, "{tbl}"),  # unknown unit
        med("i", "99999", 100),  # unknown drug code
    ],
)
def test_unreadable_imatinib_order_gives_no_dose_card(resource: dict[str, Any]) -> None:
    assert _imatinib_cards(resource) == []


def test_imatinib_with_unknown_bsa_gives_no_dose_card() -> None:
    assert _imatinib_cards(med("i", "imatinib", 100), weight_kg=30.0) == []


def test_imatinib_dose_values_show_the_arithmetic() -> None:
    finding = _imatinib_cards(med("i", "imatinib", 300), bsa_m2=1.12, weight_kg=35.0)[0]
    assert finding.values["dose_formula"] == "340 mg/m²/day × 1.12 m² = 380.8 mg/day"
    assert finding.values["draft_dose"] == "300 mg/day"
    assert finding.values["practical_daily"] == 380
    assert finding.values["difference_percent"] == -21.2


def test_imatinib_update_replaces_only_the_dose_of_the_whole_draft() -> None:
    draft = med("i", "imatinib", 150, per_day=2)
    original = copy.deepcopy(draft)
    finding = _imatinib_cards(draft, bsa_m2=1.12, weight_kg=35.0)[0]
    (suggestion,) = finding.suggestions
    (action,) = suggestion.actions
    assert action.type == "update"
    assert action.resource is not None
    updated = copy.deepcopy(dict(action.resource))
    quantity = updated["dosageInstruction"][0]["doseAndRate"][0].pop("doseQuantity")
    assert quantity == {"value": 190, "unit": "mg", "system": "http://unitsofmeasure.org",
                        "code": "mg"}  # fmt: skip
    original["dosageInstruction"][0]["doseAndRate"][0].pop("doseQuantity")
    assert updated == original
    assert draft == med("i", "imatinib", 150, per_day=2)  # the draft itself is untouched


def test_imatinib_update_resource_is_valid_r4() -> None:
    finding = _imatinib_cards(med("i", "imatinib", 200, "mg/m2"))[0]
    assert resource_errors(dict(finding.suggestions[0].actions[0].resource or {})) == []


def test_dstu2_imatinib_draft_gets_the_card_without_an_update() -> None:
    (finding,) = _imatinib_cards(dstu2("i", "imatinib", 200))
    assert finding.suggestions == ()


def test_imatinib_draft_without_id_gets_no_update() -> None:
    (finding,) = _imatinib_cards(med(None, "imatinib", 200))
    assert finding.suggestions == ()


def _blina_cards(resource: dict[str, Any], **patient: Any) -> list[Finding]:
    findings = run(facts(**(patient or BSA_1)), resource)
    return [f for f in findings if f.step == "order-blinatumomab-dose"]


@pytest.mark.parametrize(
    ("dose", "unit", "fires"),
    [
        (15, "ug/d", False),  # full dose 15 µg/m²/day × 1.0 m²
        (5, "ug/d", False),  # step dose 5 µg/m²/day
        (10, "ug/d", True),
        (15, "mg/d", True),  # mg for µg: a thousandfold error
        (0.015, "mg/d", False),
    ],
)
def test_blinatumomab_rate_per_day(dose: float, unit: str, fires: bool) -> None:
    assert bool(_blina_cards(med("b", "blinatumomab", dose, unit, rate=True))) is fires


@pytest.mark.parametrize(("unit", "fires"), [("mcg", False), ("mg", True)])
def test_blinatumomab_daily_dose_in_mcg_or_mg(unit: str, fires: bool) -> None:
    assert bool(_blina_cards(med("b", "blinatumomab", 15, unit))) is fires


@pytest.mark.parametrize(("dose", "fires"), [(28, False), (9, False), (20, True)])
def test_blinatumomab_fixed_dose_from_45_kg(dose: float, fires: bool) -> None:
    resource = med("b", "blinatumomab", dose, "ug/d", rate=True)
    assert bool(_blina_cards(resource, weight_kg=45.0)) is fires


def test_blinatumomab_capped_dose_is_accepted() -> None:
    resource = med("b", "blinatumomab", 28, "ug/d", rate=True)
    assert _blina_cards(resource, bsa_m2=1.9, weight_kg=44.0) == []


@pytest.mark.parametrize("patient", [{"bsa_m2": 1.0}, {"weight_kg": 30.0}])
def test_blinatumomab_without_weight_or_bsa_gives_no_dose_card(patient: dict[str, Any]) -> None:
    assert _blina_cards(med("b", "blinatumomab", 10, "ug/d", rate=True), **patient) == []


def test_blinatumomab_update_sets_the_nearer_regimen_as_a_per_day_rate() -> None:
    finding = _blina_cards(med("b", "blinatumomab", 12, "ug/d", rate=True))[0]
    resource = finding.suggestions[0].actions[0].resource or {}
    rate = resource["dosageInstruction"][0]["doseAndRate"][0]["rateQuantity"]
    assert (rate["value"], rate["code"]) == (15, "ug/d")
    assert resource_errors(dict(resource)) == []


def test_blinatumomab_step_dose_is_suggested_when_nearer() -> None:
    finding = _blina_cards(med("b", "blinatumomab", 3, "ug/d", rate=True))[0]
    assert finding.values["target_daily"] == pytest.approx(5)


def test_dose_card_is_a_warning() -> None:
    findings = run(facts(**BSA_1), med("b", "blinatumomab", 10, "ug/d", rate=True))
    assert "order-blinatumomab-dose" in steps(findings)
    assert all(f.indicator == "warning" for f in findings if f.step.endswith("-dose"))
