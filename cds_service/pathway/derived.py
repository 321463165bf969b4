"""Facts derived from other facts, named so step predicates can read them (CLINICAL.md §1–2).

Each derivation keeps the sources of the facts it reads, and stays unknown when they are unknown.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

from cds_service.pathway.facts import Fact, MrdResult, PatientFacts

RELAPSE_LINES = frozenset({"first-relapse", "multiple-relapse"})

# Names of the derived facts; the loader accepts predicates on these and on PatientFacts fields.
DERIVED = frozenset(
    {
        "eoi_mrd_positive",
        "relapse_mrd_positive",
        "latest_mrd_positive",
        "current_eoi_mrd_positive",
        "line_start_date",
        "relapse_after_hct",
    }
)


def base_fact_names() -> frozenset[str]:
    """Return the PatientFacts fields that hold a Fact."""
    return frozenset(
        f.name for f in dataclasses.fields(PatientFacts) if str(f.type).startswith("Fact[")
    )


def fact_names() -> frozenset[str]:
    """Return every fact name a predicate may read."""
    return base_fact_names() | DERIVED


def fact_view(facts: PatientFacts) -> dict[str, Fact[Any]]:
    """Map every fact name to its Fact, derived ones included."""
    view: dict[str, Fact[Any]] = {name: getattr(facts, name) for name in base_fact_names()}
    view["eoi_mrd_positive"] = mrd_positive(facts.eoi_mrd)
    view["relapse_mrd_positive"] = mrd_positive(facts.relapse_eoi_mrd)
    view["latest_mrd_positive"] = mrd_positive(facts.latest_mrd)
    in_relapse = facts.line.value in RELAPSE_LINES
    # mrd-eoi-missing and ph-status-unknown count "since diagnosis or relapse": the current line.
    view["current_eoi_mrd_positive"] = view[
        "relapse_mrd_positive" if in_relapse else "eoi_mrd_positive"
    ]
    view["line_start_date"] = facts.relapse_date if in_relapse else facts.diagnosis_date
    view["relapse_after_hct"] = relapse_after_hct(facts)
    return view


def mrd_positive(result: Fact[MrdResult]) -> Fact[bool]:
    """Return whether an MRD result is positive (unknown when absent or not interpretable)."""
    if result.value is None or result.value.positive is None:
        return Fact(None, result.sources)
    return Fact(result.value.positive, result.sources)


def relapse_after_hct(facts: PatientFacts) -> Fact[bool]:
    """Say whether the current relapse came after an HCT (relapse-mrd-positive, CLINICAL.md §2)."""
    if facts.line.value is None:
        return Fact()
    if facts.line.value not in RELAPSE_LINES:
        return Fact(False, facts.line.sources)
    sources = facts.prior_hct.sources + facts.hct_date.sources + facts.relapse_date.sources
    if facts.prior_hct.value is False:
        return Fact(False, facts.prior_hct.sources)
    hct, relapse = facts.hct_date.value, facts.relapse_date.value
    if facts.prior_hct.value is True and isinstance(hct, date) and isinstance(relapse, date):
        return Fact(hct < relapse, sources)
    return Fact(None, sources)
