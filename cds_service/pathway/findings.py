"""What the engine concludes: one ``Finding`` per card to show (pure values, no FHIR, no Flask)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from cds_service.pathway.facts import Source

Indicator = Literal["info", "warning", "critical"]
StepKind = Literal["position", "gap", "order"]


@dataclass(frozen=True)
class Reason:
    """One fact that made a step fire, for the card's "Why this card" section."""

    label: str  # e.g. "End-of-induction MRD"
    value: str  # e.g. "0.05 % (positive), 2026-03-02"
    sources: tuple[Source, ...] = ()


@dataclass(frozen=True)
class Action:
    """A CDS Hooks suggestion action; ``resource`` is a whole FHIR R4 resource as a dict."""

    type: Literal["create", "update", "delete"]
    description: str
    resource: Mapping[str, Any] | None = None  # create / update
    resource_id: str | None = None  # delete: "Type/id"


@dataclass(frozen=True)
class Suggestion:
    """A one-click fix built by the rule that knows the draft (e.g. the corrected dose)."""

    label: str
    actions: tuple[Action, ...]
    recommended: bool = False


@dataclass(frozen=True)
class Finding:
    """A step that applies to this patient (shared/CLINICAL.md §2)."""

    step: str  # step code, the public contract (source.topic.code)
    kind: StepKind
    indicator: Indicator
    why: tuple[Reason, ...] = ()
    # Template parameters and suggestion inputs (e.g. bsa_m2, imatinib_daily_mg, a draft resource).
    values: Mapping[str, Any] = field(default_factory=dict)
    # Suggestions computed by the rule itself; the card template may add named ones.
    suggestions: tuple[Suggestion, ...] = ()
