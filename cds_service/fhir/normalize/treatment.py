"""Active therapies, HCT (done or requested) and trial enrolment (CLINICAL.md §1)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any

from cds_service.fhir.normalize.common import (
    Resource,
    Vocab,
    codings,
    fhir_date,
    source,
    text,
)
from cds_service.pathway import vocab as vs
from cds_service.pathway.facts import Fact, Source

Ingredients = Callable[[Mapping[str, Any]], frozenset[str]]

# Only an active order is a therapy the child is on; drafts are order-select context, and
# cancelled/stopped/completed/entered-in-error orders are not current.
ACTIVE_MEDICATION_STATUS = frozenset({"active"})
THERAPY_INTENTS = frozenset({"order", "original-order", "reflex-order", "instance-order", "plan"})
HCT_DONE = frozenset({"completed"})
HCT_UNDER_WAY = frozenset({"preparation", "in-progress"})  # Procedure: counts as requested
HCT_REQUEST_OPEN = frozenset({"active", "draft"})  # ServiceRequest


def is_active_therapy(request: Resource, ingredients_of: Ingredients) -> bool:
    """Say whether a MedicationRequest is an active pathway therapy order (cheap check)."""
    return (
        text(request.get("status")) in ACTIVE_MEDICATION_STATUS
        and text(request.get("intent")) in THERAPY_INTENTS
        and bool(ingredients_of(request))
    )


def therapies(requests: Sequence[Resource], ingredients_of: Ingredients) -> Fact[frozenset[str]]:
    """Return the ingredient names of the active pathway therapy orders (validated ones)."""
    names: set[str] = set()
    sources: list[Source] = []
    for request in requests:
        found = ingredients_of(request)
        if found:
            names |= found
            sources.append(source(request, fhir_date(request.get("authoredOn"))))
    return Fact(frozenset(names), tuple(sources))


def is_hct(resource: Resource, vocab: Vocab) -> bool:
    """Say whether a Procedure or ServiceRequest is for an HCT."""
    return vocab.has(vs.HCT_PROCEDURE, codings(resource.get("code")))


def procedure_date(procedure: Resource) -> date | None:
    """Return when a Procedure was performed."""
    period = procedure.get("performedPeriod")
    start = period.get("start") if isinstance(period, dict) else None
    return fhir_date(procedure.get("performedDateTime")) or fhir_date(start)


def hct_facts(
    procedures: Sequence[Resource] | None,
    requests: Sequence[Resource] | None,
    history: Sequence[tuple[date | None, Source]] | None,
) -> tuple[Fact[bool], Fact[date], Fact[bool]]:
    """Return prior_hct, hct_date (the first HCT) and hct_requested; None = source unavailable."""
    done = [(procedure_date(p), source(p, procedure_date(p))) for p in procedures or []
            if p.get("status") in HCT_DONE]  # fmt: skip
    done += list(history or [])
    prior: Fact[bool]
    if done:
        prior = Fact(True, tuple(src for _, src in done))
    else:
        prior = Fact(False) if procedures is not None and history is not None else Fact()
    dated = sorted(((d, src) for d, src in done if d is not None), key=lambda x: x[0])
    # The first HCT: a relapse after it is a post-transplant relapse (relapse-mrd-positive).
    hct_date = Fact(dated[0][0], (dated[0][1],)) if dated else Fact()
    wanted = [source(p) for p in procedures or [] if p.get("status") in HCT_UNDER_WAY]
    wanted += [source(r) for r in requests or [] if r.get("status") in HCT_REQUEST_OPEN]
    requested: Fact[bool]
    if wanted:
        requested = Fact(True, tuple(wanted))
    else:
        requested = Fact(False) if procedures is not None and requests is not None else Fact()
    return prior, hct_date, requested


def is_active_research_subject(subject: Resource, vocab: Vocab) -> bool:
    """Say whether a ResearchSubject's status means the child is enrolled (cheap check)."""
    status = subject.get("status")
    systems = {system for system, _ in vocab.sets.get(vs.RESEARCH_ACTIVE, frozenset())}
    return isinstance(status, str) and any(
        vocab.has(vs.RESEARCH_ACTIVE, [(system, status)]) for system in systems
    )
