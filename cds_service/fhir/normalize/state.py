"""Line of therapy from status events: first line, first/multiple relapse, refractory.

CLINICAL.md §1 "disease state": relapses are counted by distinct relapse dates; a relapse
restated later (a second Observation of it) is the same relapse unless a remission lies between.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from cds_service.fhir.normalize.common import within
from cds_service.fhir.normalize.conditions import StatusEvent
from cds_service.pathway.facts import Fact, MrdResult, Source


@dataclass(frozen=True)
class DiseaseState:
    """The line-of-therapy facts."""

    line: Fact[str] = field(default_factory=Fact)
    relapse_count: Fact[int] = field(default_factory=Fact)
    relapse_date: Fact[date] = field(default_factory=Fact)
    in_remission: Fact[bool] = field(default_factory=Fact)
    relapse_sources: tuple[Source, ...] = ()


def disease_state(events: Sequence[StatusEvent], diagnosed: date | None) -> DiseaseState:
    """Work out the line of therapy from the events after the diagnosis date."""
    # A relapse dated on or before the diagnosis (e.g. a relapse status on the original Condition)
    # says "relapsed" but not when.
    dated = sorted(
        (e for e in events if e.date is not None and (diagnosed is None or e.date > diagnosed)),
        key=lambda e: e.date or date.min,
    )
    undated = [e for e in events if e.kind == "relapse" and e not in dated]
    relapses: list[StatusEvent] = []
    remitted = True
    for event in dated:
        if event.kind == "relapse" and (not relapses or remitted):
            relapses.append(event)
        if event.kind in ("relapse", "refractory"):
            remitted = False
        elif event.kind == "remission" and relapses:
            remitted = True
    count = len(relapses) or (1 if undated else 0)
    evidence = tuple(e.source for e in relapses or undated)
    last = dated[-1] if dated else None
    if last is not None and last.kind == "refractory":
        line, evidence = "refractory", (*evidence, last.source)
    else:
        line = {0: "first-line", 1: "first-relapse"}.get(count, "multiple-relapse")
    relapse_date = Fact(relapses[-1].date, (relapses[-1].source,)) if relapses else Fact()
    remission = Fact(last.kind == "remission", (last.source,)) if last else Fact()
    return DiseaseState(
        Fact(line, evidence), Fact(count, evidence), relapse_date, remission, evidence
    )


def relapse_sites(
    events: Sequence[StatusEvent],
    site_observations: Sequence[tuple[date | None, frozenset[str], Source]],
    relapse_date: date | None,
    window_days: float,
) -> tuple[frozenset[str], tuple[Source, ...]]:
    """Return the sites of the latest relapse (Condition bodySite, site Observations)."""
    sites: set[str] = set()
    sources: list[Source] = []
    for event in events:
        if (
            event.kind == "relapse"
            and event.sites
            and _same_relapse(event.date, relapse_date, window_days)
        ):
            sites |= event.sites
            sources.append(event.source)
    for when, found, src in site_observations:
        if found and _same_relapse(when, relapse_date, window_days):
            sites |= found
            sources.append(src)
    return frozenset(sites), tuple(sources)


def _same_relapse(when: date | None, relapse_date: date | None, window_days: float) -> bool:
    if relapse_date is None or when is None:
        return True
    return within(when, relapse_date, window_days, window_days)


def isolated_extramedullary(
    sites: frozenset[str],
    site_sources: tuple[Source, ...],
    mrd: Sequence[MrdResult],
    relapse_date: date | None,
    window_days: float,
) -> tuple[Fact[str], Fact[bool]]:
    """Return the extramedullary site and whether the relapse spared the marrow."""
    extramedullary = sorted(sites - {"marrow"})
    if not extramedullary:
        return Fact(), (Fact(False, site_sources) if "marrow" in sites else Fact())
    site = Fact("+".join(extramedullary), site_sources)
    if "marrow" in sites:
        return site, Fact(False, site_sources)
    # "Isolated" = marrow not involved: a marrow MRD result around the relapse says so.
    if relapse_date is None:
        return site, Fact()
    near = [r for r in mrd if within(r.date, relapse_date, window_days, window_days)]
    known = [r for r in near if r.positive is not None]
    if not known:
        return site, Fact()
    sources = site_sources + tuple(r.source for r in known if r.source is not None)
    return site, Fact(not any(r.positive for r in known), sources)
