"""The card builder: order, source, links, why section, override reasons and the wire rules."""

from __future__ import annotations

import json
from datetime import date

import pytest

from cards import TemplateError
from cards.render import shorten
from cards.templates import parse_templates
from cds_service.pathway.facts import Source
from cds_service.pathway.findings import Action, Reason, Suggestion
from tests.unit.test_cards_support import (
    BASE,
    CLINICAL_STEPS,
    EVIDENCE,
    FULL_VALUES,
    SMART_URL,
    empty_fields,
    make_context,
    make_finding,
    make_knowledge,
    mrd_reason,
    render,
    response_errors,
)

ALL_STEPS = sorted(CLINICAL_STEPS)


def test_cards_are_ordered_critical_then_warning_then_info() -> None:
    findings = [
        make_finding("blinatumomab-monitoring"),
        make_finding("neutropenia"),
        make_finding("order-vincristine-intrathecal"),
    ]
    cards = render(findings)
    assert [c["indicator"] for c in cards] == ["critical", "warning", "info"]


def test_position_card_comes_first_within_its_indicator() -> None:
    findings = [
        make_finding("blinatumomab-monitoring"),
        make_finding("standard-risk-blinatumomab"),
        make_finding("induction"),
    ]
    codes = [c["source"]["topic"]["code"] for c in render(findings)]
    assert codes == ["induction", "blinatumomab-monitoring", "standard-risk-blinatumomab"]


def test_source_names_the_service_the_guideline_and_the_step() -> None:
    (card,) = render([make_finding("induction")])
    assert card["source"] == {
        "label": "B-ALL Pathway (pediatric)",
        "url": EVIDENCE["NCCN"].url,
        "topic": {
            "system": f"{BASE}/CodeSystem/pathway-step",
            "code": "induction",
            "display": "Induction",
        },
    }


def test_source_url_is_omitted_when_the_guideline_has_no_link() -> None:
    knowledge = make_knowledge(evidence={"MRD": EVIDENCE["MRD"]})
    (card,) = render([make_finding("induction")], knowledge)
    assert "url" not in card["source"]


def test_every_evidence_ref_with_a_url_becomes_an_absolute_link() -> None:
    (card,) = render([make_finding("ph-positive")], context=make_context(smart_launch_url=None))
    assert [link["url"] for link in card["links"]] == [
        EVIDENCE["NCCN"].url,
        EVIDENCE["AALL0031"].url,
    ]
    assert all(link["type"] == "absolute" for link in card["links"])
    assert all(len(link["label"]) <= 80 for link in card["links"])


def test_evidence_without_a_url_gives_no_link() -> None:
    (card,) = render([make_finding("induction")], context=make_context(smart_launch_url=None))
    assert [link["label"].split(":")[0] for link in card["links"]] == ["NCCN"]


def test_smart_link_names_the_step_in_app_context_when_configured() -> None:
    (card,) = render([make_finding("induction")])
    smart = card["links"][-1]
    assert smart["type"] == "smart"
    assert smart["url"] == SMART_URL
    assert json.loads(smart["appContext"]) == {"step": "induction"}


def test_no_smart_link_when_the_viewer_is_not_configured() -> None:
    (card,) = render([make_finding("induction")], context=make_context(smart_launch_url=None))
    assert all(link["type"] == "absolute" for link in card["links"])


def test_links_are_omitted_when_there_is_nothing_to_link() -> None:
    knowledge = make_knowledge(evidence={"MRD": EVIDENCE["MRD"]})
    context = make_context(smart_launch_url=None)
    (card,) = render([make_finding("induction")], knowledge, context)
    assert "links" not in card


def test_why_section_lists_each_reason_with_its_dated_sources() -> None:
    (card,) = render([make_finding("consolidation-mrd-positive", why=(mrd_reason(),))])
    assert (
        "- **End-of-induction MRD**: 0.05 % (positive), 2026-10-01 — from "
        "Observation/mrd-1 (2026-10-01), DiagnosticReport/bm-7"
    ) in card["detail"]


def test_why_section_cites_the_step_evidence() -> None:
    (card,) = render([make_finding("ph-positive")])
    why = card["detail"].split("**Why this card**")[1]
    assert f"Evidence (AALL0031): {EVIDENCE['AALL0031'].citation}" in why
    assert f"Evidence (NCCN): {EVIDENCE['NCCN'].citation}" in why


def test_footer_states_the_knowledge_version() -> None:
    (card,) = render([make_finding("induction")], make_knowledge(version="2026.11.0"))
    last_line = card["detail"].splitlines()[-1]
    assert "Pathway knowledge 2026.11.0" in last_line
    assert "does not replace" in last_line


def test_reason_without_value_or_sources_is_just_its_label() -> None:
    (card,) = render([make_finding("induction", why=(Reason("Ph status", ""),))])
    assert "- **Ph status**\n" in card["detail"]


@pytest.mark.parametrize(
    ("step", "has_reasons"),
    [("neutropenia", True), ("order-vincristine-intrathecal", True), ("induction", False)],
)
def test_override_reasons_only_on_warning_and_critical_cards(step: str, has_reasons: bool) -> None:
    (card,) = render([make_finding(step)])
    assert ("overrideReasons" in card) is has_reasons


def test_override_reasons_are_codings_with_display() -> None:
    (card,) = render([make_finding("neutropenia")])
    system = f"{BASE}/CodeSystem/override-reason"
    assert [r["code"] for r in card["overrideReasons"]] == [
        "not-applicable",
        "already-addressed",
        "patient-on-protocol",
        "clinical-judgement",
    ]
    assert all(r["system"] == system and r["display"] for r in card["overrideReasons"])


def test_a_template_may_narrow_its_override_reasons() -> None:
    (card,) = render([make_finding("order-vincristine-intrathecal")])
    assert [r["code"] for r in card["overrideReasons"]] == ["not-applicable", "already-addressed"]


def test_selection_behavior_is_at_most_one_for_alternative_tkis() -> None:
    (card,) = render([make_finding("ph-positive-no-tki", values={"bsa_m2": 1.12})])
    assert len(card["suggestions"]) == 2
    assert card["selectionBehavior"] == "at-most-one"


@pytest.mark.parametrize("step", ALL_STEPS)
def test_selection_behavior_is_present_exactly_when_there_are_suggestions(step: str) -> None:
    (card,) = render([make_finding(step, values=FULL_VALUES)])
    assert ("selectionBehavior" in card) is ("suggestions" in card)


def test_dose_arithmetic_is_shown_in_the_detail() -> None:
    (card,) = render([make_finding("ph-positive-no-tki", values={"bsa_m2": 1.12})])
    assert "340 mg/m²/day × 1.12 m² = 380.8 mg/day → 380 mg daily" in card["detail"]


def test_rule_suggestions_are_rendered_as_given() -> None:
    draft = {"resourceType": "MedicationRequest", "id": "d1", "status": "draft"}
    update = Suggestion("Use 380 mg daily", (Action("update", "Correct the dose", draft),), True)
    delete = Suggestion(
        "Remove the order", (Action("delete", "Delete", None, "MedicationRequest/d1"),)
    )
    finding = make_finding("order-imatinib-dose", suggestions=(update, delete))
    (card,) = render([finding])
    assert card["suggestions"] == [
        {
            "label": "Use 380 mg daily",
            "uuid": "u-2",
            "isRecommended": True,
            "actions": [{"type": "update", "description": "Correct the dose", "resource": draft}],
        },
        {
            "label": "Remove the order",
            "uuid": "u-3",
            "actions": [
                {"type": "delete", "description": "Delete", "resourceId": "MedicationRequest/d1"}
            ],
        },
    ]
    assert card["selectionBehavior"] == "any"


def test_a_suggestion_without_a_usable_action_is_dropped() -> None:
    broken = Suggestion("Nothing to do", (Action("update", "No resource"),))
    (card,) = render([make_finding("order-imatinib-dose", suggestions=(broken,))])
    assert "suggestions" not in card
    assert "selectionBehavior" not in card


def test_every_card_and_suggestion_gets_its_own_uuid_from_the_factory() -> None:
    findings = [make_finding(s, values=FULL_VALUES) for s in ("induction", "ph-positive-no-tki")]
    cards = render(findings)
    ids = [c["uuid"] for c in cards] + [s["uuid"] for c in cards for s in c.get("suggestions", [])]
    assert len(ids) == len(set(ids)) == 5
    assert all(i.startswith("u-") for i in ids)


def test_a_finding_without_a_template_is_a_bug() -> None:
    with pytest.raises(TemplateError, match="no card template"):
        render([make_finding("made-up-step")])


def test_a_missing_value_prints_its_declared_unknown_text() -> None:
    templates = parse_templates(
        {
            "placeholders": {"anc": "not recorded"},
            "cards": {"neutropenia": {"summary": "ANC {anc}", "detail": "ANC {anc}, {hook}"}},
        }
    )
    (bare,) = render([make_finding("neutropenia")], templates=templates)
    (full,) = render([make_finding("neutropenia", values={"anc": 0.4})], templates=templates)
    assert bare["summary"] == "ANC not recorded"
    assert full["summary"] == "ANC 0.4"
    assert full["detail"].startswith("ANC 0.4, patient-view")


@pytest.mark.parametrize(
    ("value", "shown"),
    [(True, "yes"), (False, "no"), (1.125, "1.12"), (2.0, "2"), (date(2026, 3, 2), "2026-03-02")],
)
def test_values_are_formatted_for_reading(value: object, shown: str) -> None:
    templates = parse_templates(
        {"placeholders": {"x": "?"}, "cards": {"neutropenia": {"summary": "{x}", "detail": "d"}}}
    )
    (card,) = render([make_finding("neutropenia", values={"x": value})], templates=templates)
    assert card["summary"] == shown


def test_an_overlong_summary_is_cut_at_a_word_with_an_ellipsis() -> None:
    templates = parse_templates(
        {"placeholders": {"x": "?"}, "cards": {"neutropenia": {"summary": "{x}", "detail": "d"}}}
    )
    long_text = "word " * 40
    (card,) = render([make_finding("neutropenia", values={"x": long_text})], templates=templates)
    assert len(card["summary"]) <= 139
    assert card["summary"].endswith("word…")


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("short enough", 20, "short enough"),
        ("alpha beta gamma", 12, "alpha beta…"),
        ("alpha, beta gamma", 12, "alpha…"),
        ("unbreakableword", 8, "unbreak…"),
        ("  spaced\n out  ", 20, "spaced out"),
    ],
)
def test_shorten_cuts_at_a_word_boundary(text: str, limit: int, expected: str) -> None:
    assert shorten(text, limit) == expected
    assert len(shorten(text, limit)) <= limit


@pytest.mark.parametrize("step", ALL_STEPS)
@pytest.mark.parametrize("values", [FULL_VALUES, {}], ids=["full-values", "no-values"])
def test_no_card_has_an_empty_optional_field(step: str, values: dict[str, object]) -> None:
    finding = make_finding(step, values=values, why=(mrd_reason(),))
    for context in (make_context(), make_context(user_id=None, encounter_id=None)):
        assert list(empty_fields(render([finding], context=context))) == []


@pytest.mark.parametrize("step", ALL_STEPS)
@pytest.mark.parametrize("values", [FULL_VALUES, {}], ids=["full-values", "no-values"])
def test_every_card_validates_against_the_response_schema(
    step: str, values: dict[str, object]
) -> None:
    finding = make_finding(step, values=values, why=(mrd_reason(),))
    assert response_errors(render([finding])) == []


def test_reason_source_without_a_date_shows_the_reference_only() -> None:
    reason = Reason("Diagnosis", "B-ALL", (Source("Condition/c1"),))
    (card,) = render([make_finding("induction", why=(reason,))])
    assert "- **Diagnosis**: B-ALL — from Condition/c1\n" in card["detail"]
