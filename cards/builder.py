"""Findings -> CDS Hooks 2.0 cards (CONFORMANCE.md "Cards"; DESIGN.md "Contracts").

Pure: the clock and the uuid factory are passed in, so the same findings give the same cards.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from cards.context import CardContext
from cards.render import (
    SUMMARY_LIMIT,
    evidence_links,
    extra_lines,
    fill,
    known_values,
    shorten,
    smart_link,
    why_section,
)
from cards.suggestions import Built, OrderInput, build_named, suggestion_json
from cards.templates import CardTemplate, TemplateError, Templates, shipped_templates
from cds_service.pathway.findings import Finding
from cds_service.pathway.knowledge import EvidenceRef, Knowledge, StepDef

# CONFORMANCE.md: order the cards critical > warning > info.
_INDICATOR_RANK = {"critical": 0, "warning": 1, "info": 2}
# The evidence ref whose link is the card's source.url (CLINICAL.md §3).
GUIDELINE_REF = "NCCN"


def _new_uuid() -> str:
    return str(uuid.uuid4())


def build_cards(
    findings: Sequence[Finding],
    knowledge: Knowledge,
    context: CardContext,
    *,
    new_uuid: Callable[[], str] = _new_uuid,
    today: date,
    templates: Templates | None = None,
) -> list[dict[str, Any]]:
    """Render findings as spec-valid cards, ordered critical > warning > info."""
    templates = templates or shipped_templates()
    ordered = sorted(findings, key=lambda f: (_INDICATOR_RANK[f.indicator], f.kind != "position"))
    return [_card(finding, knowledge, context, templates, new_uuid, today) for finding in ordered]


def _card(
    finding: Finding,
    knowledge: Knowledge,
    context: CardContext,
    templates: Templates,
    new_uuid: Callable[[], str],
    today: date,
) -> dict[str, Any]:
    template = templates.cards.get(finding.step)
    if template is None:
        # The start-up cross-check (template_codes vs knowledge) makes this a bug, not data.
        raise TemplateError(f"no card template for step {finding.step!r}")
    step = knowledge.steps.get(finding.step)
    display = step.display if step else finding.step
    evidence = _evidence(step, knowledge)
    built = _named_suggestions(template, OrderInput(finding, knowledge, context, today))
    card: dict[str, Any] = {"uuid": new_uuid()}
    card["summary"], card["detail"] = _texts(
        finding, template, templates, display, knowledge.version, built, evidence, context.hook
    )
    card["indicator"] = finding.indicator
    card["source"] = _source(finding.step, display, knowledge, context)
    suggestions = [suggestion_json(s, new_uuid) for s in finding.suggestions]
    suggestions += [suggestion_json(b.suggestion, new_uuid) for b in built]
    wire_suggestions = [s for s in suggestions if s]
    if wire_suggestions:
        card["suggestions"] = wire_suggestions
        card["selectionBehavior"] = template.selection
    reasons = _override_reasons(template, templates, context)
    if reasons and finding.indicator in ("warning", "critical"):
        card["overrideReasons"] = reasons
    links = evidence_links(evidence)
    if context.smart_launch_url:
        links.append(smart_link(context.smart_launch_url, finding.step))
    if links:
        card["links"] = links
    return card


def _texts(
    finding: Finding,
    template: CardTemplate,
    templates: Templates,
    display: str,
    version: str,
    built: Sequence[Built],
    evidence: Sequence[EvidenceRef],
    hook: str,
) -> tuple[str, str]:
    known = known_values(finding.values)
    known.update(step_display=display, knowledge_version=version, hook=hook)
    summary = shorten(fill(template.summary, known, templates.placeholders), SUMMARY_LIMIT)
    parts = [fill(template.detail, known, templates.placeholders)]
    facts = extra_lines(template, known) + [b.note for b in built if b.note]
    if facts:
        parts.append("\n".join(["**For this patient**", "", *(f"- {line}" for line in facts)]))
    parts.append(why_section(finding.why, evidence, version))
    return summary, "\n\n".join(parts)


def _named_suggestions(template: CardTemplate, order: OrderInput) -> list[Built]:
    built = (build_named(kind, order) for kind in template.suggestions)
    return [b for b in built if b is not None]


def _evidence(step: StepDef | None, knowledge: Knowledge) -> list[EvidenceRef]:
    if step is None:
        return []
    return [knowledge.evidence[ref] for ref in step.evidence if ref in knowledge.evidence]


def _source(step: str, display: str, knowledge: Knowledge, context: CardContext) -> dict[str, Any]:
    source: dict[str, Any] = {"label": context.service_label}
    guideline = knowledge.evidence.get(GUIDELINE_REF)
    if guideline and guideline.url:
        source["url"] = guideline.url
    topic = {"system": f"{context.canonical_base}/CodeSystem/pathway-step", "code": step}
    if display:
        topic["display"] = display
    source["topic"] = topic
    return source


def _override_reasons(
    template: CardTemplate, templates: Templates, context: CardContext
) -> list[dict[str, str]]:
    codes = template.override_reasons or templates.default_override_reasons
    system = f"{context.canonical_base}/CodeSystem/override-reason"
    return [
        {"system": system, "code": code, "display": templates.override_reasons[code]}
        for code in codes
    ]
