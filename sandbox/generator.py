"""Large synthetic charts for benchmarks: one B-ALL child with years of therapy behind them.

``large_chart(n)`` builds about ``n`` resources from the same builders as the sandbox patients: a
diagnosis and its work-up, MRD time points, genomics, then visit after visit of blood counts,
chemistry, growth, medication orders (most completed, a few active) and procedures. The chart
reads like a real one (a standard-risk child past consolidation, in maintenance) and is the same
for the same seed and day.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, timedelta

from sandbox.charts.builders import (
    B_ALL,
    INTRATHECAL_CHEMO,
    MARROW_ASPIRATE,
    Chart,
    Json,
)

# Visits are spread over at most this many days before today (therapy lasts two to three years).
MAX_SPAN_DAYS = 1000
# Roughly how many resources one visit adds (CBC 4 + chemistry, growth, orders, procedures).
_PER_VISIT = 5.4
_CHEMISTRY = (
    ("2160-0", "Creatinine [Mass/volume] in Serum or Plasma", "mg/dL", 0.25, 0.6),
    (
        "1742-6",
        "Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma",
        "U/L",
        12.0,
        140.0,
    ),
    ("1975-2", "Bilirubin.total [Mass/volume] in Serum or Plasma", "mg/dL", 0.2, 1.4),
)
# Completed courses drawn at random visits: (ingredient, dose, unit, route).
_COURSES = (
    ("vincristine", 1.5, "mg", "iv"),
    ("dexamethasone", 3.0, "mg", "oral"),
    ("methotrexate", 12.0, "mg", "intrathecal"),
    ("methotrexate", 20.0, "mg", "oral"),
    ("mercaptopurine", 50.0, "mg", "oral"),
    ("cytarabine", 75.0, "mg", "iv"),
    ("cyclophosphamide", 1000.0, "mg", "iv"),
    ("doxorubicin", 25.0, "mg", "iv"),
    ("pegaspargase", 2500.0, "[iU]", "iv"),
)


def large_chart(n_resources: int, *, seed: int = 0, today: date) -> Json:
    """Return a collection Bundle of about ``n_resources`` resources for one child on therapy."""
    rng = random.Random(seed)
    visits = max(1, round(max(n_resources - 20, 1) / _PER_VISIT))
    span = min(MAX_SPAN_DAYS, max(60, visits * 4))
    dx = today - timedelta(days=span + 7)
    chart = Chart(f"large-chart-{seed}")
    _diagnosis(chart, rng, dx)
    for i, day in enumerate(_visit_days(rng, today, span, visits)):
        if len(chart.resources) >= n_resources:
            break
        _visit(chart, rng, day, dx, limit=n_resources, first=i == 0)
    _active_orders(chart, today)
    return chart.bundle()


def _diagnosis(chart: Chart, rng: random.Random, dx: date) -> None:
    age_days = rng.randint(2 * 365, 8 * 365)
    sex = rng.choice(("female", "male"))
    chart.patient(dx - timedelta(days=age_days), sex, "Benchmark", f"Child{rng.randint(1, 999)}")
    chart.condition(B_ALL, dx, clinical="remission")
    chart.cbc(dx, wbc=round(rng.uniform(3, 45), 1), anc=0.6, hb=7.4, platelets=38)
    chart.procedure(MARROW_ASPIRATE, dx + timedelta(days=1))
    chart.procedure(INTRATHECAL_CHEMO, dx + timedelta(days=1))
    chart.cns_status(dx + timedelta(days=1), "CNS1")
    chart.bcr_abl1(dx + timedelta(days=3), False)
    chart.kmt2a(dx + timedelta(days=3), False, loinc=False)
    chart.karyotype(dx + timedelta(days=4), "55,XX,+4,+6,+10,+14,+17,+18,+21,+21[15]/46,XX[5]")
    chart.mrd(dx + timedelta(days=8), 0.6, timepoint="day8", method="mrd-pb-flow")
    chart.mrd(dx + timedelta(days=29), 0.01, timepoint="eoi", comparator="<")
    chart.mrd(dx + timedelta(days=92), 0.01, timepoint="eoc", comparator="<", method="mrd-bm-ngs")


def _visit_days(rng: random.Random, today: date, span: int, visits: int) -> list[date]:
    # Newest first, so a chart cut at n resources keeps the recent data the pathway reads.
    days = [today - timedelta(days=rng.randint(1, span)) for _ in range(visits - 1)]
    return [today - timedelta(days=1), *sorted(days, reverse=True)]


def _visit(
    chart: Chart, rng: random.Random, day: date, dx: date, *, limit: int, first: bool
) -> None:
    # Intensive phases (the first months) bring deep neutropenia; maintenance keeps ANC near 1-3.
    maintenance = day > dx + timedelta(days=200)
    anc = round(rng.uniform(1.1, 3.5) if maintenance else rng.uniform(0.2, 4.0), 2)
    chart.cbc(
        day,
        wbc=round(rng.uniform(2.0, 9.0), 1),
        anc=anc,
        hb=round(rng.uniform(8.5, 13.0), 1),
        platelets=rng.randint(60, 420),
    )
    extras: list[tuple[float, Callable[[], object]]] = [
        (0.35, lambda: _chemistry(chart, rng, day)),
        (0.3, lambda: _growth(chart, rng, day, dx)),
        (0.2, lambda: _course(chart, rng, day)),
        (0.06, lambda: chart.procedure(INTRATHECAL_CHEMO, day)),
    ]
    for chance, add in extras:
        # The latest visit has everything, so dosing always finds a recent weight and height.
        if len(chart.resources) < limit and (first or rng.random() < chance):
            add()


def _chemistry(chart: Chart, rng: random.Random, day: date) -> None:
    for loinc, display, unit, low, high in _CHEMISTRY:
        chart.lab(loinc, display, day, round(rng.uniform(low, high), 2), unit)


def _growth(chart: Chart, rng: random.Random, day: date, dx: date) -> None:
    # Children grow: height follows the day, weight wobbles around a rising line.
    years = (day - dx).days / 365.25
    height = round(110 + 6 * years + rng.uniform(-0.5, 0.5), 1)
    weight = round(18 + 2.5 * years + rng.uniform(-0.8, 0.8), 1)
    chart.growth(day, weight, height)


def _course(chart: Chart, rng: random.Random, day: date) -> None:
    drug, dose, unit, route = rng.choice(_COURSES)
    chart.medication(
        drug,
        day,
        status="completed",
        dose=(dose, unit),
        route=route,
        end=day + timedelta(days=rng.randint(1, 28)),
    )


def _active_orders(chart: Chart, today: date) -> None:
    # Maintenance: daily mercaptopurine, weekly oral methotrexate, monthly vincristine pulses.
    start = today - timedelta(days=40)
    chart.medication("mercaptopurine", start, dose=(50, "mg"), route="oral")
    chart.medication("methotrexate", start, dose=(20, "mg"), every="wk", route="oral")
    chart.medication("vincristine", start, dose=(1.5, "mg"), every="mo", route="iv")
