"""Named suggestion kinds: complete, valid R4 resources for the call and the patient."""

from __future__ import annotations

from typing import Any

import pytest

from cards.suggestions import SUGGESTION_KINDS, OrderInput, build_named
from cds_service.fhir.models import resource_errors
from tests.unit.test_cards_support import (
    ORDERABLES,
    TODAY,
    make_context,
    make_finding,
    make_knowledge,
)

KINDS = sorted(SUGGESTION_KINDS)
VALUES = {"bsa_m2": 1.12, "has_trial": False}


def build(kind: str, values: dict[str, Any] | None = None, **context: Any) -> Any:
    finding = make_finding("induction", values=VALUES if values is None else values)
    order = OrderInput(finding, make_knowledge(), make_context(**context), TODAY)
    return build_named(kind, order)


def resource_of(kind: str, values: dict[str, Any] | None = None, **context: Any) -> Any:
    (action,) = build(kind, values, **context).suggestion.actions
    assert action.type == "create"
    return action.resource


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "context",
    [{}, {"user_id": None, "encounter_id": None}],
    ids=["known-user", "unknown-user"],
)
def test_every_suggested_resource_is_valid_r4(kind: str, context: dict[str, Any]) -> None:
    assert resource_errors(resource_of(kind, **context)) == []


@pytest.mark.parametrize("kind", KINDS)
def test_suggested_orders_are_drafts_for_this_patient_and_user(kind: str) -> None:
    resource = resource_of(kind)
    assert resource["status"] == "draft"
    assert resource["intent"] == "order"
    assert resource["subject"] == {"reference": "Patient/pat-1"}
    assert resource["requester"] == {"reference": "Practitioner/dr-1"}
    assert resource["encounter"] == {"reference": "Encounter/enc-1"}
    assert resource["authoredOn"] == "2026-11-24"
    assert resource["reasonCode"][0]["coding"][0]["code"] == "277571004"


def test_without_a_known_user_the_order_is_a_proposal_with_no_requester() -> None:
    resource = resource_of("order-mrd", user_id=None, encounter_id=None)
    assert resource["intent"] == "proposal"
    assert "requester" not in resource
    assert "encounter" not in resource


@pytest.mark.parametrize(
    ("kind", "orderable"),
    [
        ("order-mrd", "mrd-bone-marrow"),
        ("repeat-mrd", "mrd-bone-marrow"),
        ("order-bcr-abl1", "bcr-abl1-test"),
        ("order-kmt2a", "kmt2a-test"),
        ("trial-screening", "trial-screening"),
    ],
)
def test_service_requests_use_the_configured_orderable(kind: str, orderable: str) -> None:
    coding = resource_of(kind)["code"]["coding"][0]
    assert coding["system"] == ORDERABLES[orderable].system
    assert coding["code"] == ORDERABLES[orderable].code


def test_repeat_mrd_is_labelled_as_a_repeat_before_hct() -> None:
    assert build("repeat-mrd").suggestion.label == "Repeat bone-marrow MRD before HCT"


@pytest.mark.parametrize(("has_trial", "offered"), [(False, True), (True, False), (None, False)])
def test_trial_screening_is_offered_only_with_no_active_trial(
    has_trial: bool | None, offered: bool
) -> None:
    assert (build("trial-screening", {"has_trial": has_trial}) is not None) is offered


def test_a_kind_whose_orderable_is_not_configured_offers_nothing() -> None:
    finding = make_finding("mrd-eoi-missing")
    order = OrderInput(finding, make_knowledge(orderables={}), make_context(), TODAY)
    assert build_named("order-mrd", order) is None
    assert build_named("start-imatinib", order) is None


@pytest.mark.parametrize(
    ("kind", "rxnorm", "dose"),
    [("start-imatinib", "282388", 380), ("start-dasatinib", "475342", 70)],
)
def test_tki_dose_is_computed_from_bsa(kind: str, rxnorm: str, dose: int) -> None:
    resource = resource_of(kind)
    assert resource["medicationCodeableConcept"]["coding"][0]["code"] == rxnorm
    quantity = resource["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]
    assert quantity == {
        "value": dose,
        "unit": "mg",
        "system": "http://unitsofmeasure.org",
        "code": "mg",
    }


def test_tki_arithmetic_note_shows_the_computation() -> None:
    assert build("start-dasatinib").note == (
        "Dasatinib: 60 mg/m²/day × 1.12 m² = 67.2 mg/day → 70 mg daily."
    )


@pytest.mark.parametrize("bsa", [None, "1.1", 0, 9.5, True])
def test_without_a_usable_bsa_the_dose_is_left_to_be_set(bsa: object) -> None:
    built = build("start-imatinib", {"bsa_m2": bsa})
    assert "dose to be set" in built.suggestion.label
    (action,) = built.suggestion.actions
    assert "doseAndRate" not in action.resource["dosageInstruction"][0]
    assert resource_errors(action.resource) == []
