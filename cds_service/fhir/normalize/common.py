"""Shared helpers of the normaliser: code look-ups, FHIR dates, quantities, calendar ages."""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from cds_service.fhir.models import is_valid_resource
from cds_service.fhir.shapes import listed
from cds_service.pathway import vocab as vs
from cds_service.pathway.facts import Source
from cds_service.pathway.knowledge import Knowledge

Resource = Mapping[str, Any]
Pair = tuple[str, str]

_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:T[0-9:.]+(?:Z|[+-]\d{2}:\d{2})?)?$")


@dataclass(frozen=True)
class Vocab:
    """Every value set of a Knowledge as (system, code) sets, built once per Knowledge."""

    knowledge: Knowledge
    sets: Mapping[str, frozenset[Pair]]
    # Observation.code values the pathway reads: anything else is skipped unvalidated.
    observation_codes: frozenset[Pair] = frozenset()
    # The part of those read whatever their date (not only a SERIES_SETS measurement).
    always_read_codes: frozenset[Pair] = frozenset()

    def has(self, value_set: str, pairs: Iterable[Pair]) -> bool:
        """Say whether any of the codings is in the value set."""
        members = self.sets.get(value_set, frozenset())
        return any(pair in members for pair in pairs)


OBSERVATION_SETS = (
    vs.DISEASE_STATUS,
    vs.PH_TEST,
    vs.KMT2A_TEST,
    vs.GENOMIC_VARIANT,
    vs.KARYOTYPE,
    vs.WBC,
    vs.ANC,
    vs.BODY_WEIGHT,
    vs.BODY_HEIGHT,
    vs.BSA,
    vs.CNS_STATUS,
    vs.MRD,
    vs.RELAPSE_SITE,
)
# Measurements the pathway reads only near one date (labs.read_windows): years of them are many.
SERIES_SETS = (vs.WBC, vs.ANC, vs.BODY_WEIGHT, vs.BODY_HEIGHT, vs.BSA)
_VOCABS: dict[int, Vocab] = {}


def vocab_for(knowledge: Knowledge) -> Vocab:
    """Return the code index of a Knowledge (cached: a chart never pays for building it)."""
    cached = _VOCABS.get(id(knowledge))
    if cached is not None and cached.knowledge is knowledge:
        return cached
    sets = {name: knowledge.codes(name) for name in knowledge.value_sets}
    read = frozenset().union(*(sets.get(name, frozenset()) for name in OBSERVATION_SETS))
    always = frozenset().union(
        *(sets.get(name, frozenset()) for name in OBSERVATION_SETS if name not in SERIES_SETS)
    )
    vocab = Vocab(knowledge, sets, read, always)
    if len(_VOCABS) > 16:  # a new Knowledge per test or per reload: keep the cache small
        _VOCABS.clear()
    _VOCABS[id(knowledge)] = vocab
    return vocab


@dataclass
class Validator:
    """Validate resources with fhir.resources, each at most once; count the invalid (skipped)."""

    skipped: int = 0
    # id(resource) -> (resource, verdict); the resource is held so its id cannot be reused.
    _verdicts: dict[int, tuple[Resource, bool]] = field(default_factory=dict, repr=False)

    def is_valid(self, resource: Resource) -> bool:
        """Say whether a resource is valid R4 (validated on first ask; invalid ones counted)."""
        known = self._verdicts.get(id(resource))
        if known is not None:
            return known[1]
        verdict = is_valid_resource(dict(resource))
        self._verdicts[id(resource)] = (resource, verdict)
        if not verdict:
            self.skipped += 1
        return verdict

    def keep_valid(self, resources: Iterable[Resource]) -> list[Resource]:
        """Return the resources that are valid R4, counting the others as skipped."""
        return [resource for resource in resources if self.is_valid(resource)]


def codings(concept: Any) -> list[Pair]:
    """Return the (system, code) pairs of a CodeableConcept (or a list of them)."""
    # Decoded JSON is a dict: tested first, as the abstract Mapping check costs more than the
    # rest of this function (it runs for every resource of a big chart).
    if type(concept) is dict or isinstance(concept, Mapping):
        found = concept.get("coding")
    elif isinstance(concept, list):
        return [pair for item in concept for pair in codings(item)]
    else:
        return []
    if type(found) is not list:
        return []
    return [
        (str(c.get("system", "")), str(c.get("code", "")))
        for c in found
        if type(c) is dict or isinstance(c, Mapping)
    ]


def texts(concept: Any) -> list[str]:
    """Return the human-readable texts of a CodeableConcept (text and coding displays)."""
    if not isinstance(concept, Mapping):
        return []
    found = [concept.get("text")] + [
        c.get("display") for c in listed(concept.get("coding")) if isinstance(c, Mapping)
    ]
    return [t.strip() for t in found if isinstance(t, str) and t.strip()]


def fhir_date(value: Any) -> date | None:
    """Read a FHIR date or dateTime as a calendar date; partial dates are unknown."""
    if not isinstance(value, str):
        return None
    stripped = value.strip()
    if _DATE.match(stripped) is None:
        return None
    try:
        # The date as recorded at the site (its own offset), not converted to UTC. fromisoformat
        # is C code: this runs for every windowed result of a chart.
        return date.fromisoformat(stripped[:10])
    except ValueError:
        return None


def observation_date(obs: Resource) -> date | None:
    """Return when an Observation was taken (effective[x], else issued)."""
    found = fhir_date(obs.get("effectiveDateTime")) or fhir_date(obs.get("effectiveInstant"))
    if found is None:  # the period is looked at only when needed: this runs for years of labs
        period = obs.get("effectivePeriod")
        if period is not None and isinstance(period, (dict, Mapping)):
            found = fhir_date(period.get("start"))
    return found or fhir_date(obs.get("issued"))


def source(resource: Resource, when: date | None = None) -> Source:
    """Return the Source (``Type/id``) of a resource."""
    return Source(f"{resource.get('resourceType')}/{resource.get('id', '?')}", when)


def quantity(obs: Resource) -> tuple[float, str, str | None] | None:
    """Return (value, UCUM code or unit, comparator) of an Observation's valueQuantity."""
    value = obs.get("valueQuantity")
    if not isinstance(value, Mapping) or not isinstance(value.get("value"), int | float):
        return None
    unit = value.get("code") or value.get("unit") or ""
    return float(value["value"]), str(unit).strip(), value.get("comparator")


def within(day: date | None, centre: date, before: float, after: float) -> bool:
    """Say whether ``day`` lies in [centre - before, centre + after]."""
    if day is None:
        return False
    return shift(centre, -before) <= day <= shift(centre, after)


def shift(day: date, days: float) -> date:
    """Move ``day`` by ``days``, clamped to the calendar (a chart may say 0001-01-01 or 9999)."""
    try:
        return day + timedelta(days=days)
    except OverflowError:
        return date.max if days > 0 else date.min


def text(value: Any) -> str | None:
    """Return ``value`` when it is a string: raw FHIR JSON may hold a list or object anywhere."""
    return value if isinstance(value, str) else None


def latest(items: Sequence[tuple[date, Any]]) -> tuple[date, Any] | None:
    """Return the latest (date, item) pair (the first listed among equals)."""
    best: tuple[date, Any] | None = None
    for item in items:
        if best is None or item[0] > best[0]:
            best = item
    return best


def full_months(born: date, on: date) -> tuple[int, date]:
    """Return the whole calendar months from ``born`` to ``on`` and the last monthly anniversary."""
    months = (on.year - born.year) * 12 + (on.month - born.month)
    while months > 0 and _add_months(born, months) > on:
        months -= 1
    return months, _add_months(born, months)


def _add_months(start: date, months: int) -> date:
    year, month = divmod(start.month - 1 + months, 12)
    year += start.year
    # An anniversary on the 31st (or 29 February) falls on the month's last day.
    day = min(start.day, calendar.monthrange(year, month + 1)[1])
    return date(year, month + 1, day)


def age_in_months(born: date, on: date) -> float | None:
    """Return the calendar age in months (exactly 6.0 on the 6-month anniversary)."""
    if on < born or on.year >= date.max.year:  # no anniversary after 9999-12: not a real date
        return None
    months, anniversary = full_months(born, on)
    following = _add_months(born, months + 1)
    return months + (on - anniversary).days / (following - anniversary).days


def age_in_years(born: date, on: date) -> float | None:
    """Return the calendar age in years (exactly 10.0 on the 10th birthday)."""
    months = age_in_months(born, on)
    if months is None:
        return None
    whole, _ = full_months(born, on)
    years = whole // 12
    last_birthday = _add_months(born, years * 12)
    next_birthday = _add_months(born, (years + 1) * 12)
    return years + (on - last_birthday).days / (next_birthday - last_birthday).days
