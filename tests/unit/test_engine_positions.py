"""Every in-scope child gets exactly one position step, whatever is known or unknown."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest

from cds_service.pathway.engine import evaluate
from cds_service.pathway.facts import Fact, MrdResult, PatientFacts
from cds_service.pathway.knowledge import Knowledge
from cds_service.pathway.loader import load_knowledge
from tests.unit.test_knowledge_loader import SHIPPED

TODAY = date(2026, 3, 2)


@pytest.fixture(scope="module")
def knowledge() -> Knowledge:
    return load_knowledge(SHIPPED)


def mrd(state: bool | str | None) -> Fact[MrdResult]:
    """An MRD fact: "absent" (no result), or a result positive True/False/None (unknown)."""
    if state == "absent" or isinstance(state, str):
        return Fact()
    return Fact(MrdResult(TODAY - timedelta(days=30), state, None))


PH = [None, "positive", "negative"]
AGE_MONTHS = [None, 3.0, 8.0, 60.0]
DX_DAYS = [None, 10, 200]
# First line: everything that places a child before a relapse.
FIRST_LINE = [
    ("first-line", ph, months, kmt2a, eoi, persistent, dx_days, "absent", False, None, wbc)
    for ph, months, kmt2a, eoi, persistent, dx_days, wbc in itertools.product(
        PH, AGE_MONTHS, [None, "rearranged", "germline"], ["absent", None, True, False],
        [None, True, False], DX_DAYS, [None, 400.0],
    )
]  # fmt: skip
# Relapse lines: what decides between the relapse steps (first-line facts vary less here).
RELAPSE = [
    (line, ph, months, None, "absent", None, dx_days, r_mrd, hct, isolated, None)
    for line, ph, months, dx_days, r_mrd, hct, isolated in itertools.product(
        ["first-relapse", "multiple-relapse", "refractory"], PH, AGE_MONTHS, DX_DAYS,
        ["absent", None, True, False], [None, True, False], [None, True, False],
    )
]  # fmt: skip
GRID = FIRST_LINE + RELAPSE


def facts_for(combo: tuple[Any, ...]) -> PatientFacts:
    line, ph, months, kmt2a, eoi, persistent, dx_days, r_mrd, hct, isolated, wbc = combo
    diagnosed = TODAY - timedelta(days=dx_days) if dx_days is not None else None
    return PatientFacts(
        today=TODAY,
        age_years=Fact(9.0),
        diagnosis=Fact("b-all"),
        diagnosis_date=Fact(diagnosed),
        age_at_diagnosis_months=Fact(months),
        line=Fact(line),
        relapse_date=Fact(TODAY - timedelta(days=50) if line != "first-line" else None),
        ph_status=Fact(ph),
        kmt2a_status=Fact(kmt2a),
        wbc_at_diagnosis=Fact(wbc),
        eoi_mrd=mrd(eoi),
        persistent_mrd=Fact(persistent if eoi is True else None),
        relapse_eoi_mrd=mrd(r_mrd),
        prior_hct=Fact(hct),
        hct_date=Fact(TODAY - timedelta(days=400) if hct else None),
        isolated_extramedullary=Fact(isolated if line != "first-line" else None),
        therapies=Fact(frozenset()),
    )


def test_the_grid_covers_every_line_and_state() -> None:
    assert {combo[0] for combo in GRID} == {
        "first-line",
        "first-relapse",
        "multiple-relapse",
        "refractory",
    }
    assert len(GRID) > 5_000


def test_every_combination_gets_exactly_one_position(knowledge: Knowledge) -> None:
    failures = []
    for combo in GRID:
        positions = [f.step for f in evaluate(facts_for(combo), knowledge) if f.kind == "position"]
        if len(positions) != 1:
            failures.append((combo, positions))
    assert failures[:5] == []


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        # Precedence (CLINICAL.md §2): isolated EM > relapse > Ph+ > infant > MRD > induction.
        ({"line": "first-relapse", "isolated": True, "ph": "positive"},
         "isolated-extramedullary-relapse"),
        ({"line": "first-relapse", "ph": "positive", "months": 3.0}, "relapse-assessment"),
        ({"ph": "positive", "months": 3.0, "kmt2a": "rearranged"}, "ph-positive"),
        ({"months": 8.0, "eoi": True, "persistent": True, "kmt2a": "germline"},
         "infant-kmt2a-germline"),
        ({"eoi": True, "persistent": True}, "persistent-mrd"),
        ({"ph": None, "dx_days": 10}, "induction"),
        ({"ph": None, "dx_days": None}, "post-induction-mrd-unknown"),
        ({"eoi": None, "dx_days": 200}, "post-induction-mrd-unknown"),
        ({"line": "first-relapse", "hct": None, "r_mrd": "absent"}, "relapse-assessment"),
        ({"line": "first-relapse", "hct": True, "r_mrd": False}, "relapse-mrd-positive"),
        ({"months": 8.0, "kmt2a": "rearranged", "wbc": None}, "infant-kmt2a-intermediate-risk"),
    ],
)  # fmt: skip
def test_precedence_and_unknowns(
    knowledge: Knowledge, changes: dict[str, Any], expected: str
) -> None:
    base = {
        "line": "first-line", "ph": "negative", "months": 60.0, "kmt2a": None, "eoi": "absent",
        "persistent": None, "dx_days": 10, "r_mrd": "absent", "hct": False, "isolated": None,
        "wbc": None,
    }  # fmt: skip
    base.update(changes)
    facts = facts_for(tuple(base.values()))
    if changes.get("persistent"):
        facts = replace(facts, persistent_mrd=Fact(True))
    positions = [f.step for f in evaluate(facts, knowledge) if f.kind == "position"]
    assert positions == [expected]


def test_a_catalogue_without_a_fallback_step_leaves_children_unplaced(
    knowledge: Knowledge,
) -> None:
    # Proves the grid reaches the fallback: without post-induction-mrd-unknown some child is lost.
    steps = {c: s for c, s in knowledge.steps.items() if c != "post-induction-mrd-unknown"}
    thinned = replace(knowledge, steps=steps)
    unplaced = [
        combo
        for combo in GRID
        if not [f for f in evaluate(facts_for(combo), thinned) if f.kind == "position"]
    ]
    assert unplaced
