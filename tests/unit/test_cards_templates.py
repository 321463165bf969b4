"""Card templates: the shipped file covers the pathway, and broken files are refused."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

from cards import TemplateError, load_templates, template_codes
from cards.templates import parse_templates
from cds_service.fhir.models import resource_errors
from tests.unit.test_cards_support import (
    CLINICAL_STEPS,
    FULL_VALUES,
    make_finding,
    make_knowledge,
    render,
    response_errors,
)

SHIPPED = load_templates()


def minimal_doc(**card: Any) -> dict[str, Any]:
    body = {"summary": "A summary", "detail": "A detail"}
    body.update(card)
    return {
        "placeholders": {"anc": "not recorded"},
        "override_reasons": {"not-applicable": "Does not apply"},
        "cards": {"neutropenia": body},
    }


def test_shipped_templates_cover_every_clinical_step_code() -> None:
    assert template_codes() == frozenset(CLINICAL_STEPS)


def test_shipped_template_placeholders_all_have_a_full_value_fixture() -> None:
    assert set(SHIPPED.placeholders) <= set(FULL_VALUES)


def test_a_valid_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text(
        '[placeholders]\nanc = "unknown"\n'
        '[cards.neutropenia]\nsummary = "ANC {anc}"\ndetail = "Low"\n'
    )
    assert load_templates(path).cards["neutropenia"].summary == "ANC {anc}"


def test_an_unreadable_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text("[cards.neutropenia\n")
    with pytest.raises(TemplateError, match="cannot read"):
        load_templates(path)


@pytest.mark.parametrize(
    ("card", "message"),
    [
        ({"summary": ""}, "summary is required"),
        ({"detail": "   "}, "detail is required"),
        ({"summary": "ANC {wbc}"}, "unknown placeholder"),
        ({"detail": "ANC {anc:.1f}"}, "plain"),
        ({"detail": "ANC {anc!r}"}, "plain"),
        ({"detail": "ANC {anc.value}"}, "plain"),
        ({"detail": "ANC {anc"}, "syntax"),
        ({"detail_if_known": ["ANC {platelets}"]}, "unknown placeholder"),
        ({"detail_if_known": "ANC {anc}"}, "list"),
        ({"suggestions": ["order-cake"]}, "unknown suggestion kind"),
        ({"override_reasons": ["because"]}, "unknown override reason"),
        ({"selection": "all"}, "selection"),
        ({"sumary": "typo"}, "unknown key"),
    ],
)
def test_a_broken_card_template_is_refused(card: dict[str, Any], message: str) -> None:
    with pytest.raises(TemplateError, match=message):
        parse_templates(minimal_doc(**card))


@pytest.mark.parametrize(
    "doc",
    [
        {"cards": {}},
        {"cards": {"neutropenia": "text"}},
        {"placeholders": {"anc": ""}, "cards": {"x": {"summary": "s", "detail": "d"}}},
        {"default_override_reasons": ["nope"], "cards": {"x": {"summary": "s", "detail": "d"}}},
    ],
)
def test_a_broken_templates_document_is_refused(doc: dict[str, Any]) -> None:
    with pytest.raises(TemplateError):
        parse_templates(doc)


@pytest.mark.parametrize("step", sorted(CLINICAL_STEPS))
@pytest.mark.parametrize("values", [FULL_VALUES, {}], ids=["full-values", "no-values"])
def test_every_shipped_template_renders_cleanly(step: str, values: dict[str, Any]) -> None:
    (card,) = render([make_finding(step, values=values)])
    text = card["summary"] + card["detail"]
    assert len(card["summary"]) <= 139
    assert "None" not in text
    assert "{" not in text
    assert "}" not in text


@pytest.mark.parametrize("step", sorted(c for c, t in SHIPPED.cards.items() if t.detail_if_known))
def test_known_value_lines_appear_only_with_their_values(step: str) -> None:
    first_line = SHIPPED.cards[step].detail_if_known[0]
    marker = first_line.split("{", 1)[0]
    (full,) = render([make_finding(step, values=FULL_VALUES)])
    (bare,) = render([make_finding(step)])
    assert marker in full["detail"]
    assert marker not in bare["detail"].split("**Why this card**")[0]


def test_every_shipped_knowledge_step_has_a_template_that_renders() -> None:
    loader = pytest.importorskip("cds_service.pathway.loader")
    knowledge_dir = Path(__file__).resolve().parents[2] / "cds_service" / "knowledge"
    knowledge = loader.load_knowledge(knowledge_dir)
    loader.check_card_templates(knowledge, template_codes())
    findings = [
        make_finding(code, kind=step.kind, indicator=step.indicator, values=FULL_VALUES)
        for code, step in knowledge.steps.items()
    ]
    cards = render(findings, knowledge)
    assert {card["source"]["topic"]["code"] for card in cards} == knowledge.step_codes
    assert response_errors(cards) == []
    resources = [
        action["resource"]
        for card in cards
        for suggestion in card.get("suggestions", [])
        for action in suggestion["actions"]
    ]
    assert [resource_errors(resource) for resource in resources] == [[]] * len(resources)


def test_the_fixture_knowledge_matches_the_template_codes() -> None:
    assert make_knowledge().step_codes == template_codes()


@pytest.mark.parametrize(
    "module", sorted((Path(__file__).resolve().parents[2] / "cards").glob("*.py")), ids=str
)
def test_cards_modules_import_no_web_http_or_fhir_library(module: Path) -> None:
    forbidden = ("flask", "requests", "fhir", "cds_service.fhir")
    tree = ast.parse(module.read_text(encoding="utf-8"))
    imported = [
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    ]
    imported += [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    assert [
        name for name in imported if name.split(".")[0] in forbidden or name.startswith(forbidden)
    ] == []
