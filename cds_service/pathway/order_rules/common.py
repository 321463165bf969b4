"""What every order check shares: its inputs, finding construction and the facts it asks about."""

from __future__ import annotations

import calendar
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from cds_service.pathway.facts import MrdResult, PatientFacts, Source
from cds_service.pathway.findings import Finding, Indicator, Reason, Suggestion
from cds_service.pathway.knowledge import Knowledge
from cds_service.pathway.order_rules.config import OrderConfig
from cds_service.pathway.order_rules.model import DraftOrder, DraftSet

DEFAULT_INDICATORS: Mapping[str, Indicator] = {
    "order-hct-with-detectable-mrd": "warning",
    "order-infant-hct-timing": "warning",
    "order-infant-tbi": "warning",
    "order-imatinib-dose": "warning",
    "order-blinatumomab-dose": "warning",
    "order-blinatumomab-safety": "info",
    "order-ph-positive-no-tki": "warning",
    "order-extramedullary-local-only": "warning",
    "order-off-pathway": "info",
    "order-vincristine-intrathecal": "critical",
}
ORDER_STEPS = frozenset(DEFAULT_INDICATORS)


@dataclass(frozen=True)
class OrderContext:
    """The inputs of one run of the checks; ``triggers`` are the drafts the checks look at."""

    facts: PatientFacts
    drafts: DraftSet
    knowledge: Knowledge
    config: OrderConfig
    position_step: str | None
    triggers: tuple[DraftOrder, ...]
    active_steps: Collection[str] | None = None


def finding(
    ctx: OrderContext,
    step: str,
    why: tuple[Reason, ...],
    values: Mapping[str, Any],
    suggestions: tuple[Suggestion, ...] = (),
) -> Finding:
    """Build an order finding; the indicator comes from the step catalogue when it has the step."""
    step_def = ctx.knowledge.steps.get(step)
    indicator = step_def.indicator if step_def is not None else DEFAULT_INDICATORS[step]
    return Finding(
        step=step,
        kind="order",
        indicator=indicator,
        why=why,
        values=dict(values),
        suggestions=suggestions,
    )


def draft_reason(label: str, draft: DraftOrder, value: str) -> Reason:
    """Name a draft order as a reason (its reference only: no free text from the order)."""
    sources = (Source(draft.reference),) if draft.has_id else ()
    return Reason(label=label, value=value, sources=sources)


def drafts_value(drafts: tuple[DraftOrder, ...]) -> tuple[str, ...]:
    """Return the references of drafts, for ``Finding.values["drafts"]``."""
    return tuple(d.reference for d in drafts)


def mrd_positive(result: MrdResult, threshold_percent: float) -> bool | None:
    """Say whether an MRD result is positive; None when the lab gave neither verdict nor value."""
    if result.positive is not None:
        return result.positive
    if result.value_percent is None:
        return None
    return result.value_percent >= threshold_percent


def describe_mrd(result: MrdResult) -> str:
    """Render an MRD result for a card, e.g. "0.05 % (positive), 2026-03-02"."""
    verdict = {True: "positive", False: "negative", None: "not interpreted"}[result.positive]
    value = f"{result.value_percent:g} % " if result.value_percent is not None else ""
    return f"{value}({verdict}), {result.date.isoformat()}"


def age_below_months(facts: PatientFacts, months: float) -> bool | None:
    """Say whether the child is younger than ``months`` today; None when the age is unknown."""
    birth = facts.birth_date.value
    if birth is not None and float(months).is_integer():
        # Calendar months: a child born on 2026-01-15 turns 6 months on 2026-07-15.
        return facts.today < add_months(birth, int(months))
    if facts.age_years.value is not None:
        return facts.age_years.value * 12 < months
    return None


def age_months(facts: PatientFacts) -> float | None:
    """Return the age today in months (one decimal), for card text."""
    birth = facts.birth_date.value
    if birth is not None:
        return round((facts.today - birth).days / 30.4375, 1)
    if facts.age_years.value is not None:
        return round(facts.age_years.value * 12, 1)
    return None


def add_months(day: date, months: int) -> date:
    """Return the same day ``months`` later, clamped to the month's last day."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))
