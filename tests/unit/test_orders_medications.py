"""Order checks on medications: intrathecal vincristine, Ph+ without TKI, off-pathway, policy."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.test_orders_support import (
    SNOMED,
    dstu2,
    facts,
    knowledge,
    med,
    run,
    service,
    steps,
)

IT_CODED = {"coding": [{"system": SNOMED, "code": "72607000"}]}
IT_TEXT = {"text": "Intrathecal"}
IV = {"coding": [{"system": SNOMED, "code": "47625008", "display": "Intravenous route"}]}
PH_POS = {"ph_status": "positive", "therapies": frozenset(), "bsa_m2": 0.9}


@pytest.mark.parametrize("route", [IT_CODED, IT_TEXT])
def test_intrathecal_vincristine_is_critical_with_a_delete(route: dict[str, Any]) -> None:
    (finding,) = run(facts(), med("v", "vincristine", 1.5, route=route))
    assert (finding.step, finding.indicator) == ("order-vincristine-intrathecal", "critical")
    (action,) = finding.suggestions[0].actions
    assert (action.type, action.resource_id) == ("delete", "MedicationRequest/v")


def test_intravenous_vincristine_is_silent() -> None:
    assert run(facts(), med("v", "vincristine", 1.5, route=IV)) == []


def test_intrathecal_methotrexate_is_silent() -> None:
    assert run(facts(), med("m", "methotrexate", 12, route=IT_CODED)) == []


def test_intrathecal_vincristine_without_id_gets_the_card_but_no_delete() -> None:
    (finding,) = run(facts(), med(None, "vincristine", 1.5, route=IT_CODED))
    assert finding.suggestions == ()


def test_critical_card_comes_first() -> None:
    findings = run(
        facts(**PH_POS),
        med("c", "cytarabine", 100),
        med("v", "vincristine", 1.5, route=IT_CODED),
    )
    assert steps(findings) == ["order-vincristine-intrathecal", "order-ph-positive-no-tki"]


def test_ph_positive_chemotherapy_without_tki_warns() -> None:
    (finding,) = run(facts(**PH_POS), med("c", "cytarabine", 100))
    assert finding.step == "order-ph-positive-no-tki"
    assert finding.values["bsa_m2"] == 0.9  # the card's start-imatinib suggestion doses from it


def test_ph_positive_dstu2_chemotherapy_without_tki_warns() -> None:
    assert steps(run(facts(**PH_POS), dstu2("c", "cytarabine", 100))) == [
        "order-ph-positive-no-tki"
    ]


@pytest.mark.parametrize(
    ("patient", "extra"),
    [
        ({**PH_POS, "therapies": frozenset({"imatinib"})}, []),
        (PH_POS, [med("d", "dasatinib", 50)]),
        ({**PH_POS, "ph_status": "negative"}, []),
        ({"ph_status": "positive"}, []),  # therapies unknown
        ({k: v for k, v in PH_POS.items() if k != "ph_status"}, []),  # Ph unknown
    ],
)
def test_ph_positive_check_is_silent_with_a_tki_or_unknown_facts(
    patient: dict[str, Any], extra: list[dict[str, Any]]
) -> None:
    assert run(facts(**patient), med("c", "cytarabine", 100), *extra) == []


def test_tki_drafted_but_not_selected_still_counts() -> None:
    findings = run(
        facts(**PH_POS),
        med("c", "cytarabine", 100),
        med("d", "dasatinib", 50),
        selections=["MedicationRequest/c"],
    )
    assert findings == []


def test_ph_positive_steroid_alone_is_not_chemotherapy() -> None:
    assert run(facts(**PH_POS), med("x", "dexamethasone", 6)) == []


def _off(position: str | None, drug: str = "blinatumomab", **kwargs: Any) -> list[str]:
    patient = facts(nci_risk="high", line="first-line", ph_status="negative")
    selections = ["MedicationRequest/b"]
    return steps(run(patient, med("b", drug), selections=selections, position=position, **kwargs))


@pytest.mark.parametrize(
    ("position", "drug", "fires"),
    [
        ("consolidation-mrd-positive", "blinatumomab", True),
        ("persistent-mrd", "blinatumomab", False),
        ("relapse-mrd-positive", "inotuzumab ozogamicin", False),
        ("persistent-mrd", "inotuzumab ozogamicin", True),
        ("persistent-mrd", "Kymriah (tisagenlecleucel)", False),
        ("induction", "Kymriah (tisagenlecleucel)", True),
        ("induction", "cytarabine", False),
        (None, "blinatumomab", False),
    ],
)
def test_off_pathway_immunotherapy(position: str | None, drug: str, fires: bool) -> None:
    assert ("order-off-pathway" in _off(position, drug)) is fires


def test_off_pathway_finding_names_the_position() -> None:
    findings = run(
        facts(nci_risk="high"),
        med("b", "blinatumomab"),
        selections=["MedicationRequest/b"],
        position="induction",
    )
    (finding,) = [f for f in findings if f.step == "order-off-pathway"]
    assert finding.values["position_step"] == "induction"
    assert finding.indicator == "info"


def test_standard_risk_blinatumomab_gap_may_list_the_drug() -> None:
    patient = facts(nci_risk="standard", line="first-line", ph_status="negative")
    findings = run(
        patient,
        med("b", "blinatumomab"),
        selections=["MedicationRequest/b"],
        position="consolidation-mrd-negative",
    )
    assert "order-off-pathway" not in steps(findings)


@pytest.mark.parametrize(
    ("active", "fires"),
    [({"consolidation-mrd-negative", "standard-risk-blinatumomab"}, False),
     ({"consolidation-mrd-negative"}, True)],
)  # fmt: skip
def test_active_steps_decide_the_gap_listing(active: set[str], fires: bool) -> None:
    patient = facts(nci_risk="standard", line="first-line", ph_status="negative")
    findings = run(
        patient,
        med("b", "blinatumomab"),
        selections=["MedicationRequest/b"],
        position="consolidation-mrd-negative",
        active_steps=active,
    )
    assert ("order-off-pathway" in steps(findings)) is fires


def test_selected_blinatumomab_gets_the_safety_card_at_order_select() -> None:
    findings = run(
        facts(),
        med("b", "blinatumomab"),
        selections=["MedicationRequest/b"],
        position="persistent-mrd",
    )
    assert steps(findings) == ["order-blinatumomab-safety"]


def test_info_cards_are_not_repeated_at_order_sign() -> None:
    assert run(facts(), med("b", "blinatumomab"), position="induction") == []


def test_order_sign_shows_info_cards_for_drafts_that_were_never_selectable() -> None:
    findings = run(facts(), med(None, "blinatumomab"), position="persistent-mrd")
    assert steps(findings) == ["order-blinatumomab-safety"]


def test_site_can_show_info_cards_at_order_sign() -> None:
    findings = run(
        facts(),
        med("b", "blinatumomab"),
        position="persistent-mrd",
        know=knowledge(order_sign_shows_info=1),
    )
    assert steps(findings) == ["order-blinatumomab-safety"]


def test_warnings_are_repeated_at_order_sign() -> None:
    findings = run(facts(**PH_POS), med("c", "cytarabine", 100))
    assert steps(findings) == ["order-ph-positive-no-tki"]


@pytest.mark.parametrize(
    ("draft_orders", "selections"),
    [
        ([], None),
        ([], ["MedicationRequest/x"]),
        ([med("a", "cytarabine", 100)], ["MedicationRequest/missing"]),
        ([{"resourceType": "MedicationRequest", "id": "junk", "dosageInstruction": "x"}], None),
        ([service("s", "http://example.org", "x")], None),
    ],
)
def test_bad_or_partial_orders_raise_no_card_and_no_error(
    draft_orders: list[dict[str, Any]], selections: list[str] | None
) -> None:
    patient = facts(**PH_POS, isolated_extramedullary=True, age_years=0.3)
    assert run(patient, *draft_orders, selections=selections, position="induction") == []
