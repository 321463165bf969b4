"""Relapsed and refractory patients: the relapse branches (shared/CLINICAL.md §2)."""

from __future__ import annotations

from collections.abc import Callable

from sandbox.charts.builders import (
    B_ALL,
    CNS_SITE,
    HCT,
    ICD10CM,
    MARROW_ASPIRATE,
    RXNORM,
    TESTIS_SITE,
    Chart,
    coding,
    concept,
)
from sandbox.charts.common import ago, eoi, first_line


def relapsed(
    pid: str,
    name: tuple[str, str],
    sex: str,
    age_now: float,
    dx_ago: int,
    growth: tuple[float, float],
    clinical: str = "relapse",
) -> Chart:
    """Start a chart treated in first line years ago: CR1 with negative EOI MRD, maintenance."""
    c = first_line(
        pid,
        name,
        sex=sex,
        age=age_now - dx_ago / 365.25,
        dx_ago=dx_ago,
        wbc=9.0,
        growth=growth,
        clinical=clinical,
    )
    eoi(c, dx_ago, 0.01, comparator="<")
    start, end = ago(dx_ago - 250), ago(max(dx_ago - 250 - 540, 200))
    c.medication("mercaptopurine", start, status="completed", dose=(50, "mg"), end=end)
    return c


def relapse_cr2_mrd_negative() -> Chart:
    c = relapsed("relapse-cr2-mrd-negative", ("Dubois", "Hugo"), "male", 10.4, 1460, (33.0, 140.0))
    c.disease_status(ago(65), "relapse")
    c.procedure(MARROW_ASPIRATE, ago(65))
    c.mrd(ago(33), 0.01, comparator="<", timepoint="post-relapse-eoi")
    c.disease_status(ago(33), "remission")
    return c


def relapse_mrd_positive() -> Chart:
    c = relapsed("relapse-mrd-positive", ("Ferreira", "Ana"), "female", 9.8, 1100, (31.0, 136.0))
    c.disease_status(ago(70), "relapse")
    c.mrd(ago(37), 0.3, timepoint="post-relapse-eoi")
    c.disease_status(ago(37), "remission")
    return c


def relapse_after_hct() -> Chart:
    # Relapse recorded only as an mCODE CancerDiseaseStatus; the problem list still says active.
    c = relapsed(
        "relapse-after-hct",
        ("Nakamura", "Ren"),
        "male",
        11.9,
        1280,
        (37.0, 146.0),
        clinical="active",
    )
    c.procedure(HCT, ago(540))
    c.condition(concept(coding(ICD10CM, "Z94.84", "Stem cells transplant status")), ago(540))
    c.disease_status(ago(10), "relapse")
    return c


def relapse_on_blinatumomab() -> Chart:
    c = relapsed("relapse-on-blinatumomab", ("Weber", "Emma"), "female", 8.7, 900, (27.0, 130.0))
    c.disease_status(ago(80), "relapse")
    c.mrd(ago(50), 0.12, timepoint="post-relapse-eoi")
    product = concept(coding(RXNORM, "1597262", "blinatumomab 0.035 MG Injection"))
    c.medication(product, ago(20), dose=(14.8, "ug"), route="iv")  # 15 µg/m²/day, BSA 0.99
    return c


def relapse_assessment() -> Chart:
    # The relapse is a new problem-list entry coded ICD-10-CM C91.02 (onset = relapse day).
    c = relapsed(
        "relapse-assessment", ("Costa", "Leo"), "male", 7.9, 730, (25.0, 126.0), clinical="active"
    )
    relapse = coding(ICD10CM, "C91.02", "Acute lymphoblastic leukemia, in relapse")
    c.condition(concept(relapse), ago(12), clinical="relapse")
    c.procedure(MARROW_ASPIRATE, ago(12))
    c.medication("vincristine", ago(9), dose=(1.3, "mg"), every="wk", route="iv")
    return c


def multiple_relapse() -> Chart:
    c = relapsed("multiple-relapse", ("Olsen", "Sofie"), "female", 13.5, 1825, (45.0, 156.0))
    c.disease_status(ago(1100), "relapse")
    c.mrd(ago(1068), 0.01, comparator="<", timepoint="post-relapse-eoi")
    c.disease_status(ago(1068), "remission")  # CR2 reached: the next relapse is a new one
    c.procedure(HCT, ago(900))
    c.disease_status(ago(25), "relapse")
    return c


def refractory_disease() -> Chart:
    c = first_line(
        "refractory-disease",
        ("Ivanova", "Mila"),
        sex="female",
        age=12.3,
        dx_ago=80,
        wbc=140.0,
        growth=(40.0, 150.0),
    )
    eoi(c, 80, 12.0)
    c.disease_status(ago(45), "refractory")
    return c


def isolated_cns_relapse() -> Chart:
    # The relapse Condition carries the site (bodySite CNS); the marrow stays MRD negative.
    c = relapsed(
        "isolated-cns-relapse",
        ("Murphy", "Sean"),
        "male",
        9.1,
        1095,
        (29.0, 133.0),
        clinical="active",
    )
    c.condition(B_ALL, ago(18), clinical="relapse", body_site=[CNS_SITE])
    c.cns_status(ago(18), "CNS3")
    c.mrd(ago(17), 0.01, comparator="<")
    return c


def isolated_testicular_relapse() -> Chart:
    c = relapsed(
        "isolated-testicular-relapse", ("Becker", "Jonas"), "male", 8.3, 1020, (26.0, 129.0)
    )
    c.disease_status(ago(15), "relapse", body_site=TESTIS_SITE)
    c.mrd(ago(14), 0.01, comparator="<")
    return c


CHARTS: tuple[Callable[[], Chart], ...] = (
    relapse_cr2_mrd_negative,
    relapse_mrd_positive,
    relapse_after_hct,
    relapse_on_blinatumomab,
    relapse_assessment,
    multiple_relapse,
    refractory_disease,
    isolated_cns_relapse,
    isolated_testicular_relapse,
)
