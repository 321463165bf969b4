"""Place a child on the pathway: facts + knowledge -> findings (pure; CLINICAL.md §2).

In scope (under 18 today, B-ALL) -> exactly one position finding, the highest-precedence position
step whose predicates all hold, plus every gap step that holds. Out of scope -> nothing: no noise.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from cds_service.pathway.derived import fact_view
from cds_service.pathway.describe import LABELS, reason, template_values
from cds_service.pathway.facts import Fact, PatientFacts
from cds_service.pathway.findings import Finding, Reason
from cds_service.pathway.knowledge import Knowledge, StepDef
from cds_service.pathway.predicates import Thresholds, all_true, fact_names

log = logging.getLogger(__name__)

DEFAULT_AGE_LIMIT_YEARS = 18.0


def in_scope(facts: PatientFacts, age_limit_years: float = DEFAULT_AGE_LIMIT_YEARS) -> bool:
    """Say whether the pathway applies: a known age under the limit and a B-ALL diagnosis."""
    age = facts.age_years.value
    return age is not None and age < age_limit_years and facts.diagnosis.value == "b-all"


def evaluate(facts: PatientFacts, knowledge: Knowledge) -> list[Finding]:
    """Return the position finding and the gap findings for one child (empty out of scope)."""
    if not in_scope(facts, knowledge.thresholds.get("pediatric_age_limit_years", 18.0)):
        return []
    view = fact_view(facts)
    limits = Thresholds(knowledge.thresholds)
    values = template_values(facts, knowledge.thresholds)
    holding = [
        step
        for step in knowledge.steps.values()
        if step.kind in ("position", "gap") and all_true(step.when, view, facts.today, limits)
    ]
    positions = sorted((s for s in holding if s.kind == "position"), key=lambda s: -s.precedence)
    if not positions:
        # The shipped catalogue places every in-scope child (tests/unit/test_engine_positions.py);
        # an edited catalogue might not: say so by step-free facts only (no PHI).
        log.warning("no position step matched (line=%s)", facts.line.value)
    chosen = positions[:1] + [s for s in holding if s.kind == "gap"]
    return [_finding(step, view, facts, values) for step in chosen]


def _finding(
    step: StepDef, view: Mapping[str, Fact[Any]], facts: PatientFacts, values: Mapping[str, Any]
) -> Finding:
    return Finding(
        step=step.code,
        kind=step.kind,
        indicator=step.indicator,
        why=_why(step, view, facts),
        values=dict(values),
    )


def _why(step: StepDef, view: Mapping[str, Fact[Any]], facts: PatientFacts) -> tuple[Reason, ...]:
    reasons: list[Reason] = []
    seen: set[str] = set()
    for name in fact_names(step.when):
        if name in seen:
            continue
        seen.add(name)
        described = reason(name, view[name], facts)
        if described is None:
            # An unknown fact that shaped the step (e.g. no BCR::ABL1 result) is part of the why.
            described = Reason(LABELS.get(name, name), "not recorded")
        if described not in reasons:
            reasons.append(described)
    return tuple(reasons)
