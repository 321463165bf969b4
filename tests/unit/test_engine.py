"""The engine on FHIR-level synthetic charts: every step fires, its near misses do not."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from cds_service.fhir.normalize import normalize
from cds_service.pathway.engine import evaluate, in_scope
from cds_service.pathway.findings import Finding
from cds_service.pathway.knowledge import Knowledge
from cds_service.pathway.loader import load_knowledge
from tests.unit import fhir_builders as fb
from tests.unit.test_knowledge_loader import SHIPPED

TODAY = date(2026, 3, 2)
PH_NEG = fb.concept(fb.NOT_DETECTED)
PH_POS = fb.concept(fb.DETECTED)


@pytest.fixture(scope="module")
def knowledge() -> Knowledge:
    return load_knowledge(SHIPPED)


def child(
    *,
    years: int = 5,
    months: int = 0,
    dx_days: int = 20,
    wbc: float | None = 12,
    ph: str | None = "negative",
    kmt2a: str | None = None,
    mrd: tuple[tuple[int, float, str | None], ...] = (),
    observations: tuple[dict[str, Any], ...] = (),
    conditions: tuple[dict[str, Any], ...] = (),
    meds: tuple[str, ...] = (),
    procedures: tuple[dict[str, Any], ...] = (),
    service_requests: tuple[dict[str, Any], ...] = (),
    born_days_earlier: int = 0,
) -> dict[str, list[dict[str, Any]]]:
    """A synthetic chart; ages are calendar ages at diagnosis, MRD is (days after dx, %, tag)."""
    dx = TODAY - timedelta(days=dx_days)
    born = fb.years_before(dx, years, months) - timedelta(days=born_days_earlier)
    obs = list(observations)
    if wbc is not None:
        obs.append(fb.quantity_obs(fb.WBC, dx, wbc, "10*3/uL"))
    if ph is not None:
        obs.append(
            fb.observation(
                fb.PH_TEST, dx, valueCodeableConcept=PH_POS if ph == "positive" else PH_NEG
            )
        )
    if kmt2a is not None:
        value = fb.concept(fb.DETECTED if kmt2a == "rearranged" else fb.NOT_DETECTED)
        obs.append(fb.observation(fb.KMT2A_TEST, dx, valueCodeableConcept=value))
    obs += [fb.mrd(dx + timedelta(days=d), pct, timepoint=tag) for d, pct, tag in mrd]
    return fb.chart(
        born,
        conditions=[fb.condition(onset=dx), *conditions],
        observations=obs,
        medications=[fb.med(m) for m in meds],
        procedures=list(procedures),
        service_requests=list(service_requests),
    )


def run(knowledge: Knowledge, prefetch: dict[str, list[dict[str, Any]]]) -> list[Finding]:
    return evaluate(normalize(prefetch, knowledge, TODAY).facts, knowledge)


def position(findings: list[Finding]) -> str:
    (found,) = [f.step for f in findings if f.kind == "position"]
    return found


def gaps(findings: list[Finding]) -> set[str]:
    return {f.step for f in findings if f.kind == "gap"}


RELAPSE_DAYS = 60  # first relapse 60 days ago, diagnosis 700 days ago


def relapsed(*, relapse_days: int = RELAPSE_DAYS, **extra: Any) -> dict[str, list[dict[str, Any]]]:
    relapse_day = TODAY - timedelta(days=relapse_days)
    relapse = fb.condition((fb.ICD10, "C91.02"), relapse_day, body_sites=extra.pop("sites", None))
    mrd_after = extra.pop("relapse_mrd", None)
    observations = tuple(extra.pop("observations", ()))
    if mrd_after is not None:
        observations += (fb.mrd(relapse_day + timedelta(days=30), mrd_after),)
    return child(dx_days=700, conditions=(relapse,), observations=observations, **extra)


PERSISTENT = ((29, 0.05, "eoi"), (100, 0.5, "eoc"))
EOI_NEGATIVE = ((29, 0.001, None),)
HCT_BEFORE = fb.procedure(fb.HCT, "completed", TODAY - timedelta(days=300))
POSITION_CASES = [
    # id, chart, expected position
    ("induction-day-49", lambda: child(dx_days=49), "induction"),
    ("post-induction-day-50", lambda: child(dx_days=50), "post-induction-mrd-unknown"),
    ("eoi-mrd-0.009-negative", lambda: child(dx_days=60, mrd=((29, 0.009, None),)),
     "consolidation-mrd-negative"),
    ("eoi-mrd-0.01-positive", lambda: child(dx_days=60, mrd=((29, 0.01, None),)),
     "consolidation-mrd-positive"),
    ("persistent", lambda: child(dx_days=150, mrd=((29, 0.05, "eoi"), (100, 0.02, "eoc"))),
     "persistent-mrd"),
    ("cleared-after-consolidation",
     lambda: child(dx_days=150, mrd=((29, 0.05, "eoi"), (100, 0.001, "eoc"))),
     "consolidation-mrd-positive"),
    ("ph-positive", lambda: child(ph="positive"), "ph-positive"),
    ("ph-positive-infant", lambda: child(years=0, months=4, ph="positive"), "ph-positive"),
    ("infant-11.9-months", lambda: child(years=0, months=11, born_days_earlier=25),
     "infant-kmt2a-unknown"),
    ("not-infant-12.0-months", lambda: child(years=1, months=0), "induction"),
    ("infant-5.9-months-kmt2a-r", lambda: child(years=0, months=5, born_days_earlier=25,
                                                 kmt2a="rearranged", wbc=100),
     "infant-kmt2a-high-risk"),
    ("infant-6.0-months-kmt2a-r", lambda: child(years=0, months=6, kmt2a="rearranged", wbc=100),
     "infant-kmt2a-intermediate-risk"),
    ("infant-wbc-300", lambda: child(years=0, months=8, kmt2a="rearranged", wbc=300),
     "infant-kmt2a-high-risk"),
    ("infant-wbc-299.9", lambda: child(years=0, months=8, kmt2a="rearranged", wbc=299.9),
     "infant-kmt2a-intermediate-risk"),
    ("infant-persistent-mrd", lambda: child(years=0, months=8, kmt2a="rearranged", wbc=100,
                                             dx_days=150, mrd=PERSISTENT),
     "infant-kmt2a-high-risk"),
    ("infant-germline", lambda: child(years=0, months=8, kmt2a="germline"),
     "infant-kmt2a-germline"),
    ("relapse-cr2-negative", lambda: relapsed(relapse_mrd=0.009), "relapse-cr2-mrd-negative"),
    ("relapse-cr2-positive", lambda: relapsed(relapse_mrd=0.01), "relapse-mrd-positive"),
    ("relapse-after-hct", lambda: relapsed(procedures=(HCT_BEFORE,)), "relapse-mrd-positive"),
    ("relapse-after-hct-mrd-negative",
     lambda: relapsed(relapse_mrd=0.001, procedures=(HCT_BEFORE,)),
     "relapse-mrd-positive"),
    ("relapse-assessment", lambda: relapsed(relapse_days=10), "relapse-assessment"),
    ("relapse-ph-positive", lambda: relapsed(relapse_days=10, ph="positive"), "relapse-assessment"),
    ("second-relapse", lambda: relapsed(observations=(
        fb.status_obs(TODAY - timedelta(days=40), fb.REMISSION),
        fb.status_obs(TODAY - timedelta(days=5), fb.RELAPSE))), "multiple-relapse-refractory"),
    ("refractory", lambda: child(dx_days=90, observations=(
        fb.status_obs(TODAY - timedelta(days=30), fb.REFRACTORY),)), "multiple-relapse-refractory"),
    ("isolated-cns-relapse", lambda: relapsed(sites=[(fb.NCIT, "C12438")], observations=(
        fb.mrd(TODAY - timedelta(days=RELAPSE_DAYS), 0.001),)), "isolated-extramedullary-relapse"),
    ("combined-cns-marrow-relapse", lambda: relapsed(sites=[(fb.NCIT, "C12438")], observations=(
        fb.mrd(TODAY - timedelta(days=RELAPSE_DAYS), 5.0),)), "relapse-assessment"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("build", "expected"),
    [pytest.param(build, expected, id=name) for name, build, expected in POSITION_CASES],
)
def test_position_step(knowledge: Knowledge, build: Any, expected: str) -> None:
    assert position(run(knowledge, build())) == expected


GAP_CASES = [
    # id, chart, gap, fires
    ("blina-standard-risk", lambda: child(dx_days=60, mrd=((29, 0.001, None),)), True),
    ("blina-age-9.99", lambda: child(years=9, months=11, born_days_earlier=25, dx_days=60,
                                     mrd=((29, 0.001, None),)), True),
    ("blina-age-10.0", lambda: child(years=10, dx_days=60, mrd=((29, 0.001, None),)), False),
    ("blina-wbc-49.9", lambda: child(wbc=49.9, dx_days=60, mrd=((29, 0.001, None),)), True),
    ("blina-wbc-50", lambda: child(wbc=50, dx_days=60, mrd=((29, 0.001, None),)), False),
    ("blina-day-180", lambda: child(dx_days=180, mrd=((29, 0.001, None),)), True),
    ("blina-day-181", lambda: child(dx_days=181, mrd=((29, 0.001, None),)), False),
    ("blina-no-eoi", lambda: child(dx_days=60), False),
    ("blina-ph-unknown", lambda: child(ph=None, dx_days=60, mrd=((29, 0.001, None),)), False),
    ("blina-already-on", lambda: child(dx_days=60, mrd=EOI_NEGATIVE, meds=("blinatumomab",)),
     False),
    ("blina-cns3", lambda: child(dx_days=60, mrd=((29, 0.001, None),), observations=(
        fb.observation((fb.NCIT, "C116832"), TODAY - timedelta(days=60),
                       valueCodeableConcept=fb.concept((fb.NCIT, "C116835"))),)), False),
]  # fmt: skip


@pytest.mark.parametrize(
    ("build", "fires"), [pytest.param(b, f, id=name) for name, b, f in GAP_CASES]
)
def test_standard_risk_blinatumomab(knowledge: Knowledge, build: Any, fires: bool) -> None:
    assert ("standard-risk-blinatumomab" in gaps(run(knowledge, build()))) is fires


OTHER_GAPS = [
    ("mrd-missing-day-29", lambda: child(dx_days=29), "mrd-eoi-missing", True),
    ("mrd-missing-day-28", lambda: child(dx_days=28), "mrd-eoi-missing", False),
    ("mrd-missing-day-90", lambda: child(dx_days=90), "mrd-eoi-missing", True),
    ("mrd-missing-day-91", lambda: child(dx_days=91), "mrd-eoi-missing", False),
    ("mrd-recorded", lambda: child(dx_days=60, mrd=((29, 0.001, None),)), "mrd-eoi-missing", False),
    ("mrd-missing-after-relapse", lambda: relapsed(relapse_days=40), "mrd-eoi-missing", True),
    ("mrd-present-after-relapse", lambda: relapsed(relapse_days=40, relapse_mrd=0.001),
     "mrd-eoi-missing", False),
    ("ph-unknown-day-90", lambda: child(ph=None, dx_days=90), "ph-status-unknown", True),
    ("ph-unknown-day-91", lambda: child(ph=None, dx_days=91), "ph-status-unknown", False),
    ("ph-known", lambda: child(dx_days=20), "ph-status-unknown", False),
    ("ph-unknown-after-relapse", lambda: relapsed(ph=None), "ph-status-unknown", True),
    ("kmt2a-unknown-infant", lambda: child(years=0, months=8), "kmt2a-status-unknown", True),
    ("kmt2a-unknown-ph-positive-infant", lambda: child(years=0, months=8, ph="positive"),
     "kmt2a-status-unknown", True),
    ("kmt2a-unknown-infant-day-91", lambda: child(years=0, months=8, dx_days=91),
     "kmt2a-status-unknown", False),
    ("kmt2a-unknown-not-infant", lambda: child(years=1), "kmt2a-status-unknown", False),
    ("kmt2a-known-infant", lambda: child(years=0, months=8, kmt2a="germline"),
     "kmt2a-status-unknown", False),
    ("ph-positive-no-tki", lambda: child(ph="positive"), "ph-positive-no-tki", True),
    ("ph-positive-on-imatinib", lambda: child(ph="positive", meds=("imatinib",)),
     "ph-positive-no-tki", False),
    ("ph-positive-on-dasatinib", lambda: child(ph="positive", meds=("dasatinib",)),
     "ph-positive-no-tki", False),
    ("hct-with-mrd-0.01", lambda: child(dx_days=150, mrd=((120, 0.01, None),),
                                        service_requests=(fb.service_request(fb.HCT, "draft"),)),
     "hct-with-detectable-mrd", True),
    ("hct-with-mrd-0.009", lambda: child(dx_days=150, mrd=((120, 0.009, None),),
                                         service_requests=(fb.service_request(fb.HCT, "draft"),)),
     "hct-with-detectable-mrd", False),
    ("no-hct-request", lambda: child(dx_days=150, mrd=((120, 0.5, None),)),
     "hct-with-detectable-mrd", False),
    ("anc-0.99", lambda: child(observations=(fb.quantity_obs(fb.ANC, TODAY, 0.99, "10*3/uL"),)),
     "neutropenia", True),
    ("anc-1.0", lambda: child(observations=(fb.quantity_obs(fb.ANC, TODAY, 1.0, "10*3/uL"),)),
     "neutropenia", False),
    ("anc-8-days-old", lambda: child(observations=(
        fb.quantity_obs(fb.ANC, TODAY - timedelta(days=8), 0.2, "10*3/uL"),)),
     "neutropenia", False),
    ("on-blinatumomab", lambda: relapsed(meds=("blinatumomab",)), "blinatumomab-monitoring", True),
    ("blinatumomab-stopped", lambda: child(), "blinatumomab-monitoring", False),
]  # fmt: skip


@pytest.mark.parametrize(
    ("build", "gap", "fires"), [pytest.param(b, g, f, id=n) for n, b, g, f in OTHER_GAPS]
)
def test_gap_step(knowledge: Knowledge, build: Any, gap: str, fires: bool) -> None:
    assert (gap in gaps(run(knowledge, build()))) is fires


def test_every_step_has_a_firing_case() -> None:
    fired = {expected for _, _, expected in POSITION_CASES}
    fired |= {gap for _, _, gap, fires in OTHER_GAPS if fires} | {"standard-risk-blinatumomab"}
    assert len(fired) == 15 + 8


# ---- scope


@pytest.mark.parametrize(
    ("prefetch", "expected"),
    [
        (lambda: fb.chart(fb.years_before(TODAY, 18),
                          conditions=[fb.condition(onset=TODAY)]), False),
        (lambda: fb.chart(fb.years_before(TODAY, 18) + timedelta(days=1),
                          conditions=[fb.condition(onset=TODAY)]), True),
        (lambda: fb.chart(date(2020, 1, 1), conditions=[fb.condition(fb.T_ALL, TODAY)]), False),
        (lambda: fb.chart(date(2020, 1, 1), conditions=[]), False),
        (lambda: fb.chart(date(2020, 1, 1), conditions=[
            fb.condition(onset=TODAY, verification="entered-in-error")]), False),
        (lambda: fb.chart(None, conditions=[fb.condition(onset=TODAY)]), False),
    ],
    ids=["adult-18.0", "17.99-years", "t-all", "no-leukemia", "entered-in-error", "no-birth-date"],
)  # fmt: skip
def test_scope(knowledge: Knowledge, prefetch: Any, expected: bool) -> None:
    facts = normalize(prefetch(), knowledge, TODAY).facts
    assert in_scope(facts) is expected
    assert bool(evaluate(facts, knowledge)) is expected


# ---- what the findings carry


def test_finding_carries_indicator_and_template_values(knowledge: Knowledge) -> None:
    findings = run(knowledge, child(dx_days=49, ph=None))
    induction = next(f for f in findings if f.step == "induction")
    gap = next(f for f in findings if f.step == "ph-status-unknown")
    assert (induction.indicator, gap.indicator) == ("info", "warning")
    assert induction.values["days_since_diagnosis"] == 49
    assert induction.values["diagnosis_date"] == TODAY - timedelta(days=49)
    assert induction.values["nci_risk"] == "standard"
    assert induction.values["has_trial"] is False


def test_why_lists_the_facts_that_fired_with_units_dates_and_sources(knowledge: Knowledge) -> None:
    findings = run(knowledge, child(dx_days=60, mrd=((29, 0.05, None),)))
    finding = next(f for f in findings if f.step == "consolidation-mrd-positive")
    eoi = next(r for r in finding.why if r.label == "End-of-induction MRD")
    assert eoi.value == f"0.05 % (positive), {(TODAY - timedelta(days=31)).isoformat()}"
    assert eoi.sources[0].reference.startswith("Observation/")
    assert finding.values["eoi_mrd_percent"] == 0.05


def test_why_says_which_fact_is_missing(knowledge: Knowledge) -> None:
    findings = run(knowledge, child(dx_days=20, ph=None))
    gap = next(f for f in findings if f.step == "ph-status-unknown")
    assert ("BCR::ABL1 (Ph)", "not recorded") in [(r.label, r.value) for r in gap.why]


def test_neutropenia_says_grade_4(knowledge: Knowledge) -> None:
    anc = fb.quantity_obs(fb.ANC, TODAY, 0.4, "10*3/uL")
    finding = next(f for f in run(knowledge, child(observations=(anc,))) if f.step == "neutropenia")
    assert (finding.values["anc"], finding.values["anc_grade4"]) == (0.4, True)
    assert [r.value for r in finding.why] == [f"0.4 ×10^3/µL, {TODAY.isoformat()}"]
