"""Reading draftOrders into DraftOrders: triggers vs context, doses, routes, service codes."""

from __future__ import annotations

from typing import Any

import pytest

from cds_service.fhir.drafts import read_dose, read_draft, read_drafts
from tests.unit.test_orders_support import (
    CPT,
    SNOMED,
    bundle,
    dstu2,
    med,
    service,
)

GTS = "http://terminology.hl7.org/CodeSystem/v3-GTSAbbreviation"


def _with_timing(resource: dict[str, Any], timing: dict[str, Any]) -> dict[str, Any]:
    resource["dosageInstruction"][0]["timing"] = timing
    return resource


def test_order_select_triggers_are_the_selected_drafts() -> None:
    drafts = read_drafts(
        bundle(med("a", "imatinib", 300), med("b", "vincristine", 1)), ["MedicationRequest/a"]
    )
    assert [d.reference for d in drafts.triggers] == ["MedicationRequest/a"]
    assert [d.reference for d in drafts.context] == ["MedicationRequest/b"]
    assert drafts.hook == "order-select"


def test_order_sign_makes_every_draft_a_trigger() -> None:
    drafts = read_drafts(bundle(med("a", "imatinib", 300), med("b", "vincristine", 1)), None)
    assert len(drafts.triggers) == 2
    assert drafts.context == ()
    assert drafts.hook == "order-sign"


def test_selection_naming_no_draft_is_ignored() -> None:
    drafts = read_drafts(bundle(med("a", "imatinib", 300)), ["MedicationRequest/zzz"])
    assert drafts.triggers == ()
    assert len(drafts.context) == 1


@pytest.mark.parametrize(
    "draft_orders",
    [None, {}, {"resourceType": "Bundle"}, {"entry": "x"}, {"entry": [1, {"resource": "x"}, {}]}],
)
def test_empty_or_malformed_bundle_gives_no_drafts(draft_orders: Any) -> None:
    drafts = read_drafts(draft_orders, ["MedicationRequest/a"])
    assert drafts.all == ()


def test_draft_without_id_cannot_be_selected() -> None:
    drafts = read_drafts(bundle(med(None, "imatinib", 300)), ["MedicationRequest"])
    assert drafts.triggers == ()
    assert drafts.context[0].reference == "MedicationRequest"


def test_dstu2_medication_order_reference_keeps_its_type() -> None:
    draft = read_draft(dstu2("m1", "imatinib", 300))
    assert draft.reference == "MedicationOrder/m1"
    assert draft.ingredients == {"imatinib"}


def test_draft_classes_come_from_the_medication_table() -> None:
    drafts = read_drafts(bundle(), None)
    assert drafts.in_class("dasatinib", "tki")
    assert not drafts.in_class("dexamethasone", "chemotherapy")


def test_r4_dose_per_administration_and_per_day() -> None:
    dose = read_dose(med("a", "imatinib", 150, per_day=2))
    assert dose is not None
    assert (dose.value, dose.unit, dose.per_day, dose.daily) == (150, "mg", 2, 300)


def test_dstu2_dose_is_read_from_dosage_instruction() -> None:
    dose = read_dose(dstu2("m1", "imatinib", 340))
    assert dose is not None
    assert (dose.daily, dose.rate_index) == (340, None)


@pytest.mark.parametrize(
    ("value", "unit", "mass", "amount", "per_m2"),
    [
        (0.3, "g", "mg", 300, False),
        (15, "ug", "ug", 15, False),
        (15, "mcg", "ug", 15, False),
        (15, "µg", "ug", 15, False),
        (340, "mg/m2", "mg", 340, True),
        (15, "ug/m2", "ug", 15, True),
    ],
)
def test_mass_units_are_normalised(
    value: float, unit: str, mass: str, amount: float, per_m2: bool
) -> None:
    dose = read_dose(med("a", "imatinib", value, unit))
    assert dose is not None
    assert (dose.unit, dose.value, dose.per_m2) == (mass, pytest.approx(amount), per_m2)


@pytest.mark.parametrize("unit", ["tab", "mL", "{tbl}", "", "mg/kg"])
def test_unknown_units_give_no_dose(unit: str) -> None:
    assert read_dose(med("a", "imatinib", 2, unit)) is None


def test_ucum_code_wins_over_the_display_unit() -> None:
    resource = med("a", "imatinib", 300)
    resource["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]["unit"] = "milligrams"
    assert read_dose(resource) is not None


@pytest.mark.parametrize(
    ("timing", "per_day"),
    [
        ({"repeat": {"frequency": 1, "period": 12, "periodUnit": "h"}}, 2.0),
        ({"repeat": {"frequency": 2, "period": 1, "periodUnit": "wk"}}, 2 / 7),
        ({"repeat": {"period": 1, "periodUnit": "d"}}, 1.0),
        ({"code": {"coding": [{"system": GTS, "code": "BID"}]}}, 2.0),
        ({"repeat": {"frequency": 1, "frequencyMax": 2, "period": 1, "periodUnit": "d"}}, None),
        ({"repeat": {"frequency": 1, "period": 1, "periodUnit": "mo"}}, None),
        ({"repeat": {"frequency": 0, "period": 1, "periodUnit": "d"}}, None),
        ({}, None),
        ({"code": {"text": "as directed"}}, None),
    ],
)
def test_timing_gives_administrations_per_day(
    timing: dict[str, Any], per_day: float | None
) -> None:
    dose = read_dose(_with_timing(med("a", "imatinib", 100), timing))
    assert dose is not None
    assert dose.per_day == (pytest.approx(per_day) if per_day is not None else None)


def test_unreadable_timing_leaves_no_daily_amount() -> None:
    dose = read_dose(_with_timing(med("a", "imatinib", 100), {}))
    assert dose is not None
    assert dose.daily is None


@pytest.mark.parametrize("unit", ["ug/d", "mcg/d", "ug/(24.h)", "ug/day"])
def test_per_day_rate_is_a_daily_dose(unit: str) -> None:
    dose = read_dose(med("a", "blinatumomab", 15, unit, rate=True))
    assert dose is not None
    assert (dose.daily, dose.unit, dose.field) == (15, "ug", "rateQuantity")


def test_hourly_rate_is_not_read() -> None:
    assert read_dose(med("a", "blinatumomab", 0.6, "ug/h", rate=True)) is None


def test_no_dose_is_none() -> None:
    assert read_dose(med("a", "imatinib")) is None


def test_two_dosage_instructions_are_ambiguous() -> None:
    resource = med("a", "imatinib", 100)
    resource["dosageInstruction"].append(resource["dosageInstruction"][0])
    assert read_dose(resource) is None


def test_dose_with_a_comparator_is_not_a_dose() -> None:
    resource = med("a", "imatinib", 100)
    resource["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]["comparator"] = "<"
    assert read_dose(resource) is None


@pytest.mark.parametrize("value", [0, -5, "300", True, None])
def test_non_positive_or_non_numeric_dose_is_none(value: Any) -> None:
    resource = med("a", "imatinib", 100)
    resource["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]["value"] = value
    assert read_dose(resource) is None


def test_per_m2_dose_needs_bsa_for_an_absolute_amount() -> None:
    dose = read_dose(med("a", "imatinib", 340, "mg/m2"))
    assert dose is not None
    assert dose.daily_in("mg", None) is None
    assert dose.daily_in("mg", 1.5) == pytest.approx(510)


def test_daily_amount_converts_between_mg_and_ug() -> None:
    dose = read_dose(med("a", "blinatumomab", 0.015, "mg"))
    assert dose is not None
    assert dose.daily_in("ug", None) == pytest.approx(15)


def test_routes_and_route_text_are_read() -> None:
    route = {"coding": [{"system": SNOMED, "code": "72607000", "display": "Intrathecal"}]}
    draft = read_draft(med("a", "vincristine", 1, route=route))
    assert draft.routes == {(SNOMED, "72607000")}
    assert draft.route_texts == ("Intrathecal",)


def test_service_request_codes_are_read() -> None:
    draft = read_draft(service("s1", CPT, "38240"))
    assert draft.service_codes == {(CPT, "38240")}
    assert draft.ingredients == frozenset()


def test_valid_r4_medication_request_is_updatable() -> None:
    assert read_draft(med("a", "imatinib", 300)).updatable


def test_invalid_r4_draft_is_not_updatable() -> None:
    resource = med("a", "imatinib", 300)
    del resource["subject"]
    assert not read_draft(resource).updatable


def test_dstu2_draft_is_not_updatable() -> None:
    assert not read_draft(dstu2("m1", "imatinib", 300)).updatable
