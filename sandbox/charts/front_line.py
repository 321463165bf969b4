"""Front-line patients: induction and the MRD steps (shared/CLINICAL.md §2, first rows)."""

from __future__ import annotations

from collections.abc import Callable

from sandbox.charts.builders import HCT, RXNORM, Chart, coding, concept
from sandbox.charts.common import ALL_ICD10, ago, eoi, first_line, induction_meds

FRONTLINE_TRIAL = ("NCT03914625", "AALL1731: blinatumomab in standard-risk B-ALL")


def induction_standard_risk() -> Chart:
    c = first_line(
        "induction-standard-risk",
        ("Lindqvist", "Maja"),
        sex="female",
        age=7.4,
        dx_ago=20,
        wbc=12.0,
        growth=(24.0, 123.0),
    )
    induction_meds(c, ago(20), 1.4, 3.0)
    c.mrd(ago(12), 0.8, timepoint="day8", method="mrd-pb-flow")
    c.research_subject(ago(18), *FRONTLINE_TRIAL)
    return c


def induction_mrd_overdue() -> Chart:
    c = first_line(
        "induction-mrd-overdue",
        ("Okafor", "Daniel"),
        sex="male",
        age=12.1,
        dx_ago=36,
        wbc=64.0,
        growth=(41.0, 151.0),
    )
    induction_meds(c, ago(36), 2.0, 4.5)
    return c


def induction_neutropenia() -> Chart:
    # The diagnostic count comes from a lab that reports cells per microlitre (8 500 /uL = 8.5).
    c = first_line(
        "induction-neutropenia",
        ("Brandt", "Felix"),
        sex="male",
        age=3.2,
        dx_ago=12,
        wbc=8500,
        wbc_unit="/uL",
        anc=0.3,
        growth=(14.5, 97.0),
    )
    induction_meds(c, ago(12), 0.95, 1.8)
    return c


def ph_status_unknown() -> Chart:
    c = first_line(
        "ph-status-unknown",
        ("Moreau", "Lea"),
        sex="female",
        age=5.6,
        dx_ago=9,
        wbc=22.0,
        ph=None,
        growth=(19.0, 112.0),
    )
    induction_meds(c, ago(9), 1.1, 2.3)
    return c


def post_induction_mrd_unknown() -> Chart:
    c = first_line(
        "post-induction-mrd-unknown",
        ("Novak", "Tomas"),
        sex="male",
        age=8.1,
        dx_ago=120,
        wbc=31.0,
        growth=(26.0, 128.0),
        code=concept(ALL_ICD10, text="ALL"),
    )  # ICD-10-CM only: no lineage
    c.medication("vincristine", ago(120), status="completed", dose=(1.5, "mg"), route="iv")
    c.medication("mercaptopurine", ago(85), dose=(75, "mg"), route="oral")
    return c


def consolidation_mrd_negative() -> Chart:
    c = first_line(
        "consolidation-mrd-negative",
        ("Haddad", "Yasmin"),
        sex="female",
        age=11.5,
        dx_ago=70,
        wbc=18.0,
        growth=(38.0, 147.0),
        clinical="remission",
    )
    eoi(c, 70, 0.01, comparator="<")  # "<0.01 %": below the 10^-4 threshold, negative
    c.medication("mercaptopurine", ago(40), dose=(90, "mg"), route="oral")
    c.medication("cyclophosphamide", ago(40), status="completed", dose=(1250, "mg"), route="iv")
    return c


def consolidation_standard_risk_blinatumomab() -> Chart:
    c = first_line(
        "consolidation-standard-risk-blinatumomab",
        ("Silva", "Mateo"),
        sex="male",
        age=4.3,
        dx_ago=45,
        wbc=7.9,
        growth=(16.8, 104.0),
        clinical="remission",
    )
    eoi(c, 45, None, detected=False)
    c.medication("mercaptopurine", ago(15), dose=(50, "mg"), route="oral")
    return c


def consolidation_mrd_positive() -> Chart:
    c = first_line(
        "consolidation-mrd-positive",
        ("Kowalski", "Jan"),
        sex="male",
        age=13.2,
        dx_ago=60,
        wbc=82.0,
        growth=(47.0, 158.0),
    )
    # No time-point component: EOI is the first MRD 21–49 days after diagnosis (day 30).
    c.mrd(ago(30), 0.45, timepoint=None)
    c.medication("cytarabine", ago(28), dose=(115, "mg"), route="iv", frequency=1)
    return c


def _persistent(c: Chart, dx_ago: int) -> Chart:
    eoi(c, dx_ago, 1.2)
    c.mrd(ago(dx_ago - 105), 0.08, timepoint="eoc", method="mrd-bm-ngs")
    product = concept(coding(RXNORM, "1734919", "cyclophosphamide 1000 MG Injection"))
    c.medication(product, ago(dx_ago - 40), status="completed", dose=(1500, "mg"), route="iv")
    return c


def persistent_mrd() -> Chart:
    c = first_line(
        "persistent-mrd",
        ("Jensen", "Ida"),
        sex="female",
        age=14.6,
        dx_ago=150,
        wbc=55.0,
        growth=(50.0, 161.0),
    )
    return _persistent(c, 150)


def persistent_mrd_hct_planned() -> Chart:
    c = first_line(
        "persistent-mrd-hct-planned",
        ("Romero", "Lucas"),
        sex="male",
        age=12.8,
        dx_ago=160,
        wbc=58.0,
        growth=(44.0, 155.0),
    )
    c.service_request(HCT, ago(-20))  # transplant booked for three weeks from now
    return _persistent(c, 160)


CHARTS: tuple[Callable[[], Chart], ...] = (
    induction_standard_risk,
    induction_mrd_overdue,
    induction_neutropenia,
    ph_status_unknown,
    post_induction_mrd_unknown,
    consolidation_mrd_negative,
    consolidation_standard_risk_blinatumomab,
    consolidation_mrd_positive,
    persistent_mrd,
    persistent_mrd_hct_planned,
)
