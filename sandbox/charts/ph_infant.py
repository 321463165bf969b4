"""Ph-positive and infant (KMT2A) patients (shared/CLINICAL.md §2)."""

from __future__ import annotations

from collections.abc import Callable

from sandbox.charts.builders import MED_PRODUCT, Chart, coding, concept
from sandbox.charts.common import ago, eoi, first_line, induction_meds


def ph_positive() -> Chart:
    c = first_line(
        "ph-positive",
        ("Andersen", "Clara"),
        sex="female",
        age=9.2,
        dx_ago=60,
        wbc=48.0,
        ph=True,
        growth=(28.0, 132.0),
    )
    c.karyotype(ago(57), "46,XX,t(9;22)(q34.1;q11.2)[17]/46,XX[3]")
    eoi(c, 60, 0.01, comparator="<")
    # A product-level code (our placeholder system; no RxNorm SCD verified), as formularies send.
    tablet = concept(
        coding(MED_PRODUCT, "imatinib-100mg-oral-tablet", "imatinib 100 MG Oral Tablet")
    )
    c.medication(tablet, ago(40), dose=(350, "mg"), route="oral")
    return c


def ph_positive_no_tki() -> Chart:
    c = first_line(
        "ph-positive-no-tki",
        ("Petrov", "Ilya"),
        sex="male",
        age=6.5,
        dx_ago=10,
        wbc=105.0,
        ph=None,
        growth=(22.0, 118.0),
    )
    # BCR::ABL1 reported as a genomics Variant: gene studied BCR (HGNC:1014) and ABL1 (HGNC:76).
    c.variant(ago(7), [("HGNC:1014", "BCR"), ("HGNC:76", "ABL1")])
    induction_meds(c, ago(10), 1.3, 2.5)
    return c


def infant(
    pid: str,
    name: tuple[str, str],
    sex: str,
    age_days: int,
    dx_ago: int,
    wbc: float,
    growth: tuple[float, float],
) -> Chart:
    """Start an infant chart (age in days at diagnosis) with a BCR::ABL1-negative result."""
    return first_line(
        pid, name, sex=sex, age=age_days / 365.25, dx_ago=dx_ago, wbc=wbc, growth=growth
    )


def infant_kmt2a_unknown() -> Chart:
    return infant("infant-kmt2a-unknown", ("Laine", "Aino"), "female", 137, 15, 180.0, (6.8, 63.0))


def infant_kmt2a_high_risk() -> Chart:
    # 90 days old at diagnosis (< 6 months: high risk); 150 days old at the anchor.
    c = infant("infant-kmt2a-high-risk", ("Quinn", "Rory"), "male", 90, 60, 240.0, (6.4, 62.0))
    c.kmt2a(ago(57), True)
    c.karyotype(ago(57), "46,XY,t(4;11)(q21;q23)[20]")
    eoi(c, 60, 0.01, comparator="<")
    return c


def infant_kmt2a_intermediate_risk() -> Chart:
    c = infant(
        "infant-kmt2a-intermediate-risk", ("Sato", "Hana"), "female", 274, 50, 120.0, (9.0, 72.0)
    )
    c.variant(ago(46), [("HGNC:7132", "KMT2A")])  # rearranged, reported as a Variant
    eoi(c, 50, 0.01, comparator="<")
    return c


def infant_kmt2a_germline() -> Chart:
    c = infant("infant-kmt2a-germline", ("Mensah", "Kofi"), "male", 243, 40, 40.0, (8.6, 70.0))
    c.kmt2a(ago(37), False, loinc=False)  # FISH break-apart negative: germline
    eoi(c, 40, None, detected=False)
    return c


CHARTS: tuple[Callable[[], Chart], ...] = (
    ph_positive,
    ph_positive_no_tki,
    infant_kmt2a_unknown,
    infant_kmt2a_high_risk,
    infant_kmt2a_intermediate_risk,
    infant_kmt2a_germline,
)
