"""Card templates as data (cards/templates.toml), validated when loaded.

A template is text with ``{name}`` placeholders; every name must be declared in the file's
``[placeholders]`` table (with the words to print when the value is unknown) or be one of the
context fields the builder always fills. Anything else stops the load: a typo in a template must
fail at start-up, not show up in a clinician's card.
"""

from __future__ import annotations

import string
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from cards.suggestions import SUGGESTION_KINDS

DEFAULT_PATH = Path(__file__).resolve().parent / "templates.toml"

# Always known when a card is rendered (filled by the builder, never from Finding.values).
CONTEXT_FIELDS = frozenset({"step_display", "knowledge_version", "hook"})

SelectionBehavior = Literal["any", "at-most-one"]
_TEMPLATE_KEYS = frozenset(
    {"summary", "detail", "detail_if_known", "suggestions", "override_reasons", "selection"}
)


class TemplateError(ValueError):
    """The card templates file is broken: the service must not start with it."""


@dataclass(frozen=True)
class CardTemplate:
    """The text and the named suggestions of one step's card."""

    code: str
    summary: str
    detail: str
    # Lines appended to the detail only when every placeholder in them has a value.
    detail_if_known: tuple[str, ...] = ()
    suggestions: tuple[str, ...] = ()
    override_reasons: tuple[str, ...] = ()
    selection: SelectionBehavior = "any"


@dataclass(frozen=True)
class Templates:
    """All card templates plus the shared tables they refer to."""

    cards: Mapping[str, CardTemplate]
    # placeholder name -> text printed when the value is unknown
    placeholders: Mapping[str, str]
    # override-reason code -> display
    override_reasons: Mapping[str, str]
    default_override_reasons: tuple[str, ...]

    @property
    def codes(self) -> frozenset[str]:
        return frozenset(self.cards)


def load_templates(path: Path | None = None) -> Templates:
    """Read and validate the card templates file (the shipped one by default)."""
    source = path or DEFAULT_PATH
    try:
        data = tomllib.loads(source.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise TemplateError(f"{source.name}: cannot read ({exc})") from None
    return parse_templates(data)


@lru_cache(maxsize=1)
def shipped_templates() -> Templates:
    """Return the shipped templates, loaded once per process."""
    return load_templates()


def template_codes() -> frozenset[str]:
    """Return the step codes the shipped templates cover (checked against the knowledge)."""
    return shipped_templates().codes


def parse_templates(data: Mapping[str, Any]) -> Templates:
    """Validate the parsed TOML document and build ``Templates``."""
    placeholders = _string_table(data, "placeholders")
    reasons = _string_table(data, "override_reasons")
    defaults = _string_list(data.get("default_override_reasons", []), "default_override_reasons")
    _check_known(defaults, reasons, "default_override_reasons", "override reason")
    raw_cards = data.get("cards")
    if not isinstance(raw_cards, dict) or not raw_cards:
        raise TemplateError("[cards] must hold one table per step code")
    known_names = CONTEXT_FIELDS | frozenset(placeholders)
    cards = {
        code: _parse_card(code, body, known_names, reasons) for code, body in raw_cards.items()
    }
    return Templates(cards, placeholders, reasons, tuple(defaults))


def _parse_card(
    code: str, body: Any, known_names: frozenset[str], reasons: Mapping[str, str]
) -> CardTemplate:
    where = f"cards.{code}"
    if not isinstance(body, dict):
        raise TemplateError(f"{where} must be a table")
    unknown_keys = sorted(set(body) - _TEMPLATE_KEYS)
    if unknown_keys:
        raise TemplateError(f"{where}: unknown key(s) {', '.join(unknown_keys)}")
    for key in ("summary", "detail"):
        if not isinstance(body.get(key), str) or not body[key].strip():
            raise TemplateError(f"{where}.{key} is required and must be non-empty text")
    extra = _string_list(body.get("detail_if_known", []), f"{where}.detail_if_known")
    for text in (body["summary"], body["detail"], *extra):
        _check_placeholders(text, known_names, where)
    kinds = _string_list(body.get("suggestions", []), f"{where}.suggestions")
    _check_known(kinds, SUGGESTION_KINDS, f"{where}.suggestions", "suggestion kind")
    own_reasons = _string_list(body.get("override_reasons", []), f"{where}.override_reasons")
    _check_known(own_reasons, reasons, f"{where}.override_reasons", "override reason")
    selection = body.get("selection", "any")
    if selection not in ("any", "at-most-one"):
        raise TemplateError(f"{where}.selection must be 'any' or 'at-most-one'")
    return CardTemplate(
        code=code,
        summary=body["summary"].strip(),
        detail=body["detail"].strip(),
        detail_if_known=tuple(extra),
        suggestions=tuple(kinds),
        override_reasons=tuple(own_reasons),
        selection=selection,
    )


def placeholder_names(text: str) -> frozenset[str]:
    """Return the ``{name}`` fields used in a template text."""
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise TemplateError(f"bad placeholder syntax in {text[:40]!r}: {exc}") from None
    names = set()
    for _, field_name, spec, conversion in parsed:
        if field_name is None:
            continue
        # Values are pre-formatted text: specs, conversions and a.b / a[0] lookups are never needed.
        if spec or conversion or not field_name.isidentifier():
            raise TemplateError(f"placeholder {{{field_name}}} must be a plain {{name}}")
        names.add(field_name)
    return frozenset(names)


def _check_placeholders(text: str, known_names: frozenset[str], where: str) -> None:
    unknown = sorted(placeholder_names(text) - known_names)
    if unknown:
        raise TemplateError(f"{where}: unknown placeholder(s) {', '.join(unknown)}")


def _check_known(items: list[str], known: Any, where: str, what: str) -> None:
    unknown = sorted(set(items) - set(known))
    if unknown:
        raise TemplateError(f"{where}: unknown {what}(s) {', '.join(unknown)}")


def _string_table(data: Mapping[str, Any], key: str) -> dict[str, str]:
    table = data.get(key, {})
    if not isinstance(table, dict) or not all(
        isinstance(v, str) and v.strip() for v in table.values()
    ):
        raise TemplateError(f"[{key}] must map names to non-empty text")
    return dict(table)


def _string_list(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise TemplateError(f"{where} must be a list of non-empty strings")
    return list(value)
