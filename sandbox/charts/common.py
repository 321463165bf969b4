"""What the sandbox patient builders share: the anchor-relative dates and the first-line chart.

Every chart is written as of ``ANCHOR`` and moved to the day of use by the loader. The dates are
chosen so no other gap window opens by accident (e.g. a normal ANC two days ago, a BCR::ABL1
result on file, diagnosis outside 29–90 days when MRD is not the point). All people are invented.
"""

from __future__ import annotations

from datetime import date, timedelta

from sandbox.charts.builders import (
    B_ALL,
    ICD10CM,
    INTRATHECAL_CHEMO,
    MARROW_ASPIRATE,
    Chart,
    Json,
    coding,
)
from sandbox.patients import ANCHOR

__all__ = ["ALL_ICD10", "ago", "born_at", "eoi", "first_line", "induction_meds"]

ALL_ICD10 = coding(ICD10CM, "C91.00", "Acute lymphoblastic leukemia not having achieved remission")


def ago(days: int) -> date:
    """Return the day ``days`` before the anchor."""
    return ANCHOR - timedelta(days=days)


def born_at(age_years: float, days_ago: int) -> date:
    """Return a birth date that makes the child ``age_years`` old ``days_ago`` days ago."""
    return ago(days_ago + round(age_years * 365.25))


def first_line(
    pid: str,
    name: tuple[str, str],
    *,
    sex: str,
    age: float,
    dx_ago: int,
    wbc: float,
    growth: tuple[float, float],
    ph: bool | None = False,
    cns: str | None = "CNS1",
    anc: float = 2.6,
    code: Json = B_ALL,
    clinical: str = "active",
    wbc_unit: str = "10*3/uL",
) -> Chart:
    """Start a B-ALL chart: diagnosis, diagnostic work-up, a recent blood count and growth."""
    chart = Chart(pid)
    dx = ago(dx_ago)
    chart.patient(born_at(age, dx_ago), sex, *name)
    chart.condition(code, dx, clinical=clinical)
    chart.wbc(dx, wbc, wbc_unit)
    chart.lab("718-7", "Hemoglobin [Mass/volume] in Blood", dx, 7.9, "g/dL")
    chart.lab("777-3", "Platelets [#/volume] in Blood by Automated count", dx, 41, "10*3/uL")
    chart.procedure(MARROW_ASPIRATE, dx + timedelta(days=1))
    if ph is not None:  # None: the result is not on file (ph-status-unknown)
        chart.bcr_abl1(dx + timedelta(days=3), ph)
    if cns:
        chart.procedure(INTRATHECAL_CHEMO, dx + timedelta(days=1))
        chart.cns_status(dx + timedelta(days=1), cns)
    # A recent normal-enough count keeps the neutropenia card quiet unless it is the point.
    chart.cbc(ago(2), wbc=4.1, anc=anc, hb=10.2, platelets=188)
    chart.growth(ago(5), *growth)
    return chart


def induction_meds(chart: Chart, dx: date, vcr_mg: float, dex_mg: float) -> None:
    """Add the induction backbone: weekly vincristine, dexamethasone, pegaspargase, IT MTX."""
    chart.medication("vincristine", dx, dose=(vcr_mg, "mg"), every="wk", route="iv")
    chart.medication("dexamethasone", dx, dose=(dex_mg, "mg"), frequency=2, route="oral")
    peg = dx + timedelta(days=3)
    chart.medication("pegaspargase", peg, status="completed", dose=(2500, "[iU]"), route="iv")
    chart.medication("methotrexate", dx, status="completed", dose=(12, "mg"), route="intrathecal")


def eoi(chart: Chart, dx_ago: int, percent: float | None, **kw: object) -> None:
    """Add the end-of-induction marrow MRD on day 29 (tagged ``eoi`` unless told otherwise)."""
    kw.setdefault("timepoint", "eoi")
    chart.mrd(ago(dx_ago - 29), percent, **kw)  # type: ignore[arg-type]
