"""Text for cards: placeholder values, the summary limit, the "Why this card" section, links."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from cards.templates import CardTemplate, placeholder_names
from cds_service.pathway.facts import Source
from cds_service.pathway.findings import Reason
from cds_service.pathway.knowledge import EvidenceRef

# CDS Hooks 2.0 §Card: summary "<140 characters".
SUMMARY_LIMIT = 139
LINK_LABEL_LIMIT = 80
ELLIPSIS = "…"
DISCLAIMER = "supports, does not replace, the treating team's judgement"


def format_value(value: Any) -> str | None:
    """Turn one Finding value into card text; None when it is unknown or not printable."""
    if value is None or isinstance(value, Mapping):
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, list | tuple | frozenset | set):
        parts = [p for p in (format_value(v) for v in value) if p]
        return ", ".join(sorted(parts) if isinstance(value, frozenset | set) else parts) or None
    return None


def known_values(values: Mapping[str, Any]) -> dict[str, str]:
    """Keep the printable values, pre-formatted as text."""
    texts = {str(name): format_value(value) for name, value in values.items()}
    return {name: text for name, text in texts.items() if text is not None}


def fill(text: str, known: Mapping[str, str], unknown_text: Mapping[str, str]) -> str:
    """Substitute placeholders: known values first, else the declared words for "unknown"."""
    return text.format_map({**unknown_text, **known})


def extra_lines(template: CardTemplate, known: Mapping[str, str]) -> list[str]:
    """Return the ``detail_if_known`` lines whose every placeholder has a value."""
    return [
        line.format_map(known)
        for line in template.detail_if_known
        if placeholder_names(line) <= known.keys()
    ]


def shorten(text: str, limit: int) -> str:
    """Fit text into ``limit`` characters, cutting at a word boundary and adding an ellipsis."""
    text = re.sub(r"\s+", " ", text).strip()
    if len(text) <= limit:
        return text
    cut = text[: limit - len(ELLIPSIS)]
    if " " in cut:
        cut = cut[: cut.rfind(" ")]
    return cut.rstrip(" ,;:.-–—(") + ELLIPSIS


def _source_text(source: Source) -> str:
    return f"{source.reference} ({source.date.isoformat()})" if source.date else source.reference


def _reason_line(reason: Reason) -> str:
    line = f"- **{reason.label}**"
    if reason.value:
        line += f": {reason.value}"
    if reason.sources:
        line += " — from " + ", ".join(_source_text(s) for s in reason.sources)
    return line


def why_section(
    reasons: Sequence[Reason], evidence: Iterable[EvidenceRef], knowledge_version: str
) -> str:
    """Render the "Why this card" section: facts with their sources, evidence, version footer."""
    lines = ["**Why this card**", ""]
    lines += [_reason_line(reason) for reason in reasons]
    lines += [f"- Evidence ({ref.ref}): {ref.citation}" for ref in evidence]
    lines += ["", f"_Pathway knowledge {knowledge_version} · {DISCLAIMER}._"]
    return "\n".join(lines)


def evidence_links(evidence: Iterable[EvidenceRef]) -> list[dict[str, str]]:
    """Link every evidence ref that has a url (CLINICAL.md §3)."""
    return [
        {
            "label": shorten(f"{ref.ref}: {ref.citation}", LINK_LABEL_LIMIT),
            "url": ref.url,
            "type": "absolute",
        }
        for ref in evidence
        if ref.url
    ]


def smart_link(launch_url: str, step: str) -> dict[str, str]:
    """Link the SMART pathway viewer; appContext is a string in CDS Hooks 2.0."""
    return {
        "label": "Open the pathway viewer",
        "url": launch_url,
        "type": "smart",
        "appContext": json.dumps({"step": step}),
    }
