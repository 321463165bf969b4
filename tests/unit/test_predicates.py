"""Every predicate kind: a true, a false and an unknown case; and what the loader refuses."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from cds_service.pathway.facts import Fact
from cds_service.pathway.predicates import KINDS, Thresholds, all_true, evaluate, problems

TODAY = date(2026, 3, 2)
LIMITS = Thresholds({"wbc_high_risk": 50.0, "induction_max_days": 49.0})
FACTS: dict[str, Fact[Any]] = {
    "line": Fact("first-line"),
    "ph_status": Fact(None),
    "wbc_at_diagnosis": Fact(49.9),
    "wbc_unknown": Fact(None),
    "therapies": Fact(frozenset({"vincristine", "imatinib"})),
    "no_therapies": Fact(None),
    "diagnosis_date": Fact(date(2026, 1, 12)),  # 49 days before TODAY
    "undated": Fact(None),
    "flag": Fact(True),
}


def p(kind: str, **params: Any) -> dict[str, Any]:
    return {"kind": kind, **params}


CASES = [
    # kind, predicate, expected
    ("equals", p("equals", fact="line", value="first-line"), True),
    ("equals", p("equals", fact="line", value="first-relapse"), False),
    ("equals", p("equals", fact="ph_status", value="positive"), None),
    ("not_equals", p("not_equals", fact="line", value="first-relapse"), True),
    ("not_equals", p("not_equals", fact="line", value="first-line"), False),
    ("not_equals", p("not_equals", fact="ph_status", value="positive"), None),
    ("in", p("in", fact="line", values=["first-line", "refractory"]), True),
    ("in", p("in", fact="line", values=["refractory"]), False),
    ("in", p("in", fact="ph_status", values=["positive"]), None),
    ("not_in", p("not_in", fact="line", values=["refractory"]), True),
    ("not_in", p("not_in", fact="line", values=["first-line"]), False),
    ("not_in", p("not_in", fact="ph_status", values=["positive"]), None),
    ("known", p("known", fact="line"), True),
    ("known", p("known", fact="ph_status"), False),
    ("unknown", p("unknown", fact="ph_status"), True),
    ("unknown", p("unknown", fact="line"), False),
    ("lt", p("lt", fact="wbc_at_diagnosis", value="wbc_high_risk"), True),
    ("lt", p("lt", fact="wbc_at_diagnosis", value=49.9), False),
    ("lt", p("lt", fact="wbc_unknown", value=50), None),
    ("le", p("le", fact="wbc_at_diagnosis", value=49.9), True),
    ("le", p("le", fact="wbc_at_diagnosis", value=49.8), False),
    ("le", p("le", fact="wbc_unknown", value=50), None),
    ("gt", p("gt", fact="wbc_at_diagnosis", value=49.8), True),
    ("gt", p("gt", fact="wbc_at_diagnosis", value=49.9), False),
    ("gt", p("gt", fact="wbc_unknown", value=50), None),
    ("ge", p("ge", fact="wbc_at_diagnosis", value=49.9), True),
    ("ge", p("ge", fact="wbc_at_diagnosis", value="wbc_high_risk"), False),
    ("ge", p("ge", fact="wbc_unknown", value=50), None),
    ("days_since_between", p("days_since_between", fact="diagnosis_date", max=49), True),
    ("days_since_between", p("days_since_between", fact="diagnosis_date", min=50), False),
    ("days_since_between", p("days_since_between", fact="undated", max=49), None),
    ("contains", p("contains", fact="therapies", value="imatinib"), True),
    ("contains", p("contains", fact="therapies", value=["blinatumomab", "dasatinib"]), False),
    ("contains", p("contains", fact="no_therapies", value="imatinib"), None),
    ("not_contains", p("not_contains", fact="therapies", value="blinatumomab"), True),
    ("not_contains", p("not_contains", fact="therapies", value=["dasatinib", "imatinib"]), False),
    ("not_contains", p("not_contains", fact="no_therapies", value="imatinib"), None),
    (
        "any_of",
        p(
            "any_of",
            predicates=[p("known", fact="ph_status"), p("equals", fact="flag", value=True)],
        ),
        True,
    ),
    (
        "any_of",
        p(
            "any_of",
            predicates=[p("known", fact="ph_status"), p("equals", fact="flag", value=False)],
        ),
        False,
    ),
    (
        "any_of",
        p(
            "any_of",
            predicates=[p("known", fact="ph_status"), p("lt", fact="wbc_unknown", value=1)],
        ),
        None,
    ),
    ("none_of", p("none_of", predicates=[p("equals", fact="flag", value=False)]), True),
    ("none_of", p("none_of", predicates=[p("equals", fact="flag", value=True)]), False),
    ("none_of", p("none_of", predicates=[p("lt", fact="wbc_unknown", value=1)]), None),
]


@pytest.mark.parametrize(("kind", "predicate", "expected"), CASES)
def test_predicate_kind_evaluates_true_false_or_unknown(
    kind: str, predicate: dict[str, Any], expected: bool | None
) -> None:
    assert predicate["kind"] == kind
    assert evaluate(predicate, FACTS, TODAY, LIMITS) is expected


def test_every_predicate_kind_has_a_true_a_false_and_an_unknown_case() -> None:
    outcomes: dict[str, set[bool | None]] = {}
    for kind, _, expected in CASES:
        outcomes.setdefault(kind, set()).add(expected)
    # known/unknown are never unknown themselves: they ask exactly that question.
    assert {k: v for k, v in outcomes.items() if v != {True, False, None}} == {
        "known": {True, False},
        "unknown": {True, False},
    }
    assert set(outcomes) == KINDS


@pytest.mark.parametrize("answer", [True, False])
def test_if_unknown_decides_an_unknown_fact(answer: bool) -> None:
    predicate = p("not_equals", fact="ph_status", value="positive", if_unknown=answer)
    assert evaluate(predicate, FACTS, TODAY, LIMITS) is answer


def test_if_unknown_does_not_change_a_known_fact() -> None:
    predicate = p("equals", fact="line", value="refractory", if_unknown=True)
    assert evaluate(predicate, FACTS, TODAY, LIMITS) is False


def test_days_since_between_includes_both_limits() -> None:
    predicate = p("days_since_between", fact="diagnosis_date", min=49, max="induction_max_days")
    assert evaluate(predicate, FACTS, TODAY, LIMITS) is True


def test_a_step_fires_only_when_every_predicate_is_true() -> None:
    unknown_one = [p("equals", fact="line", value="first-line"), p("unknown", fact="line")]
    assert all_true([p("equals", fact="line", value="first-line")], FACTS, TODAY, LIMITS)
    assert not all_true(unknown_one, FACTS, TODAY, LIMITS)
    assert not all_true([p("equals", fact="ph_status", value="negative")], FACTS, TODAY, LIMITS)


NAMES = frozenset(FACTS)
THRESHOLDS = {"wbc_high_risk": 50.0}


@pytest.mark.parametrize(
    ("predicate", "message"),
    [
        (p("regex", fact="line", value=".*"), "unknown predicate kind 'regex'"),
        (p("equals", fact="shoe_size", value=3), "unknown fact 'shoe_size'"),
        (p("equals", fact="line"), "lacks 'value'"),
        (p("equals", fact="line", value=1, extra=2), "unknown key 'extra'"),
        (p("lt", fact="wbc_at_diagnosis", value="no_such_limit"), "unknown threshold"),
        (p("in", fact="line", values="first-line"), "needs a list of values"),
        (p("any_of", predicates=[]), "non-empty list of predicates"),
        (
            p("any_of", predicates=[p("equals", fact="nope", value=1)]),
            "predicates[0]: unknown fact",
        ),
        (p("known", fact="line", if_unknown="yes"), "if_unknown must be true or false"),
        ("equals", "a predicate must be a table"),
    ],
)
def test_malformed_predicate_is_reported(predicate: Any, message: str) -> None:
    found = problems(predicate, NAMES, THRESHOLDS, "steps.x.when[0]")
    assert any(message in line for line in found), found


def test_well_formed_predicate_has_no_problems() -> None:
    predicate = p("lt", fact="wbc_at_diagnosis", value="wbc_high_risk", if_unknown=False)
    assert problems(predicate, NAMES, THRESHOLDS, "here") == []
