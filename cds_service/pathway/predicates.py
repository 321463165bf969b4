"""The closed set of predicate kinds a step's ``when`` list is written in (DESIGN.md: no eval).

A predicate is a small TOML table, e.g. ``{kind = "lt", fact = "age_at_diagnosis_months",
value = 12}``. It evaluates to True, False or None (unknown): unknown facts give None unless the
predicate says what an unknown fact means for placement (``if_unknown = true|false``), which keeps
"unknown is not negative" visible in the data. Numeric parameters may name a threshold instead of
holding a number (``value = "wbc_high_risk"``), so the knowledge states each limit once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date
from typing import Any

from cds_service.pathway.facts import Fact

Predicate = Mapping[str, Any]
FactView = Mapping[str, Fact[Any]]

_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
}
# Parameters each kind needs besides `kind` (and the optional `if_unknown`).
_REQUIRED: dict[str, frozenset[str]] = {
    "equals": frozenset({"fact", "value"}),
    "not_equals": frozenset({"fact", "value"}),
    "in": frozenset({"fact", "values"}),
    "not_in": frozenset({"fact", "values"}),
    "known": frozenset({"fact"}),
    "unknown": frozenset({"fact"}),
    "contains": frozenset({"fact", "value"}),
    "not_contains": frozenset({"fact", "value"}),
    "days_since_between": frozenset({"fact"}),
    "any_of": frozenset({"predicates"}),
    "none_of": frozenset({"predicates"}),
    **{kind: frozenset({"fact", "value"}) for kind in _COMPARE},
}
_OPTIONAL: dict[str, frozenset[str]] = {"days_since_between": frozenset({"min", "max"})}
KINDS = frozenset(_REQUIRED)


class Thresholds:
    """Resolve numeric parameters: a number as written, or a threshold named by a string."""

    def __init__(self, values: Mapping[str, float]) -> None:
        self._values = values

    def number(self, raw: Any) -> float:
        """Return the number a parameter stands for."""
        if isinstance(raw, str):
            return float(self._values[raw])
        return float(raw)


def evaluate(predicate: Predicate, facts: FactView, today: date, limits: Thresholds) -> bool | None:
    """Evaluate one predicate: True, False, or None when the facts it needs are unknown."""
    kind = predicate["kind"]
    if kind in ("any_of", "none_of"):
        found = _any(predicate["predicates"], facts, today, limits)
        result = found if kind == "any_of" or found is None else not found
        return _unknown_as(predicate, result)
    fact = facts[predicate["fact"]]
    if kind == "known":
        return fact.value is not None
    if kind == "unknown":
        return fact.value is None
    if fact.value is None:
        return _unknown_as(predicate, None)
    return _known(kind, predicate, fact.value, today, limits)


def _known(kind: str, predicate: Predicate, value: Any, today: date, limits: Thresholds) -> bool:
    if kind == "equals":
        return bool(value == predicate["value"])
    if kind == "not_equals":
        return bool(value != predicate["value"])
    if kind == "in":
        return value in predicate["values"]
    if kind == "not_in":
        return value not in predicate["values"]
    if kind in ("contains", "not_contains"):
        wanted = _as_list(predicate["value"])
        hit = any(item in value for item in wanted)
        return hit if kind == "contains" else not hit
    if kind == "days_since_between":
        days = (today - value).days
        low, high = predicate.get("min"), predicate.get("max")
        return (low is None or days >= limits.number(low)) and (
            high is None or days <= limits.number(high)
        )
    return _COMPARE[kind](float(value), limits.number(predicate["value"]))


def _any(
    predicates: Sequence[Predicate], facts: FactView, today: date, limits: Thresholds
) -> bool | None:
    # Kleene OR: one True decides; otherwise any unknown leaves the answer unknown.
    results = [evaluate(p, facts, today, limits) for p in predicates]
    if any(r is True for r in results):
        return True
    return None if any(r is None for r in results) else False


def _unknown_as(predicate: Predicate, result: bool | None) -> bool | None:
    if result is None and "if_unknown" in predicate:
        return bool(predicate["if_unknown"])
    return result


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


def all_true(
    predicates: Sequence[Predicate], facts: FactView, today: date, limits: Thresholds
) -> bool:
    """Say whether every predicate is True (a step fires only then; unknown does not fire)."""
    return all(evaluate(p, facts, today, limits) is True for p in predicates)


def fact_names(predicates: Sequence[Predicate]) -> Iterator[str]:
    """Yield the fact names the predicates read, in order of appearance (nested ones included)."""
    for predicate in predicates:
        if "fact" in predicate:
            yield str(predicate["fact"])
        yield from fact_names(predicate.get("predicates", ()))


def problems(
    predicate: Any, facts: frozenset[str], thresholds: Mapping[str, float], where: str
) -> list[str]:
    """List what is wrong with one predicate (empty when it is well formed)."""
    if not isinstance(predicate, Mapping):
        return [f"{where}: a predicate must be a table"]
    kind = predicate.get("kind")
    if kind not in KINDS:
        return [f"{where}: unknown predicate kind {kind!r} (known: {', '.join(sorted(KINDS))})"]
    found: list[str] = []
    allowed = _REQUIRED[kind] | _OPTIONAL.get(kind, frozenset()) | {"kind", "if_unknown"}
    found += [f"{where}: {kind} lacks {key!r}" for key in sorted(_REQUIRED[kind] - set(predicate))]
    found += [f"{where}: {kind} has unknown key {k!r}" for k in sorted(set(predicate) - allowed)]
    if "fact" in predicate and predicate["fact"] not in facts:
        found.append(f"{where}: unknown fact {predicate['fact']!r}")
    if "if_unknown" in predicate and not isinstance(predicate["if_unknown"], bool):
        found.append(f"{where}: if_unknown must be true or false")
    found += _parameter_problems(kind, predicate, facts, thresholds, where)
    return found


def _parameter_problems(
    kind: str,
    predicate: Mapping[str, Any],
    facts: frozenset[str],
    thresholds: Mapping[str, float],
    where: str,
) -> list[str]:
    found: list[str] = []
    if kind in _COMPARE or kind == "days_since_between":
        for key in ("value", "min", "max"):
            raw = predicate.get(key)
            if isinstance(raw, str) and raw not in thresholds:
                found.append(f"{where}: {key} names unknown threshold {raw!r}")
            elif raw is not None and not isinstance(raw, int | float | str):
                found.append(f"{where}: {key} must be a number or a threshold name")
    if kind in ("in", "not_in") and not isinstance(predicate.get("values"), list):
        found.append(f"{where}: {kind} needs a list of values")
    if kind in ("any_of", "none_of"):
        inner = predicate.get("predicates")
        if not isinstance(inner, list) or not inner:
            return [*found, f"{where}: {kind} needs a non-empty list of predicates"]
        for i, sub in enumerate(inner):
            found += problems(sub, facts, thresholds, f"{where}.predicates[{i}]")
    return found
