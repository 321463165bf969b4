"""The pathway knowledge as typed values (the TOML files in cds_service/knowledge/ load into these).

The loader lives in ``cds_service.pathway.loader``; everything downstream reads only these types.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cds_service.pathway.findings import Indicator, StepKind


@dataclass(frozen=True)
class Code:
    """One code in a value set, with whether the research verified it."""

    system: str
    code: str
    display: str = ""
    verified: bool = False
    source: str = ""  # where the code was checked (or why it is unverified)


@dataclass(frozen=True)
class EvidenceRef:
    """An entry of the evidence catalogue (shared/CLINICAL.md §3)."""

    ref: str  # e.g. "AALL1731"
    citation: str
    url: str | None = None


@dataclass(frozen=True)
class StepDef:
    """A pathway step: when it applies (predicates) and what card it becomes."""

    code: str
    kind: StepKind
    display: str
    indicator: Indicator
    evidence: tuple[str, ...]  # EvidenceRef.ref values, at least one
    # Closed set of predicate kinds combined with AND; exact shape is the loader's business.
    when: tuple[Mapping[str, Any], ...] = ()
    precedence: int = 0  # position steps: higher wins


@dataclass(frozen=True)
class Knowledge:
    """All pathway knowledge, validated at start-up."""

    version: str
    value_sets: Mapping[str, tuple[Code, ...]]
    thresholds: Mapping[str, float]
    steps: Mapping[str, StepDef]
    evidence: Mapping[str, EvidenceRef]
    # Codings the cards put into suggested orders, by name (e.g. "mrd-bone-marrow", "imatinib").
    orderables: Mapping[str, Code] = field(default_factory=dict)

    @property
    def step_codes(self) -> frozenset[str]:
        return frozenset(self.steps)

    def codes(self, value_set: str) -> frozenset[tuple[str, str]]:
        """Return the (system, code) pairs of one value set (empty when it is not defined)."""
        return frozenset((c.system, c.code) for c in self.value_sets.get(value_set, ()))
