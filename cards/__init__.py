"""Cards: templates as data and a pure builder, Findings -> CDS Hooks 2.0 cards."""

from __future__ import annotations

from cards.builder import build_cards
from cards.context import CardContext
from cards.templates import TemplateError, Templates, load_templates, template_codes

__all__ = [
    "CardContext",
    "TemplateError",
    "Templates",
    "build_cards",
    "load_templates",
    "template_codes",
]
