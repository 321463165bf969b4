"""Body-surface-area dosing for the pathway's dose checks (pure arithmetic, no I/O).

Doses follow shared/CLINICAL.md: imatinib 340 mg/m²/day (``ph-positive``, AALL0031), blinatumomab
15 µg/m²/day capped at 28 µg/day with a 5 µg/m²/day (cap 9) step dose and fixed 9→28 µg/day from
45 kg (``order-blinatumomab-dose``). Every result carries the arithmetic as text so the card can
show the clinician how the number was reached.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

IMATINIB_MG_PER_M2_DAY = 340.0
# Pediatric Ph+ ALL dosing as labelled for dasatinib (60 mg/m² once daily); the CLINICAL.md
# `ph-positive` step names dasatinib without a dose, so this is the label, not the summary.
DASATINIB_MG_PER_M2_DAY = 60.0
BLINATUMOMAB_UG_PER_M2_DAY = 15.0
BLINATUMOMAB_STEP_UG_PER_M2_DAY = 5.0
BLINATUMOMAB_MAX_UG_DAY = 28.0
BLINATUMOMAB_STEP_MAX_UG_DAY = 9.0
BLINATUMOMAB_FIXED_DOSE_WEIGHT_KG = 45.0
DEFAULT_TOLERANCE = 0.10


@dataclass(frozen=True)
class DoseCalc:
    """A computed daily dose: the exact target, a practical (rounded) dose, and the arithmetic."""

    target: float
    practical: float
    unit: Literal["mg", "ug"]  # per day
    formula: str


def bsa_mosteller(height_cm: float, weight_kg: float) -> float:
    """Compute body surface area (m²) by Mosteller: √(height cm × weight kg / 3600)."""
    if height_cm <= 0 or weight_kg <= 0:
        raise ValueError("height and weight must be positive")
    return math.sqrt(height_cm * weight_kg / 3600.0)


def imatinib_daily_mg(bsa_m2: float) -> DoseCalc:
    """Compute the imatinib daily dose, 340 mg/m²/day × BSA (Ph+ ALL, AALL0031)."""
    _require_bsa(bsa_m2)
    target = IMATINIB_MG_PER_M2_DAY * bsa_m2
    # 100 mg tablets are scored (50 mg steps); when 50 mg steps miss the target by > 5 %, smaller
    # children take the dose dispersed in water, so 10 mg steps are practical.
    practical = _round_step(target, 50.0)
    if not within_tolerance(practical, target, 0.05):
        practical = _round_step(target, 10.0)
    formula = f"340 mg/m²/day × {bsa_m2:.2f} m² = {target:.1f} mg/day"
    return DoseCalc(target=target, practical=practical, unit="mg", formula=formula)


def dasatinib_daily_mg(bsa_m2: float) -> DoseCalc:
    """Compute the dasatinib daily dose, 60 mg/m²/day × BSA (labelled pediatric Ph+ ALL dose)."""
    _require_bsa(bsa_m2)
    target = DASATINIB_MG_PER_M2_DAY * bsa_m2
    practical = _round_step(target, 10.0)
    formula = f"60 mg/m²/day × {bsa_m2:.2f} m² = {target:.1f} mg/day"
    return DoseCalc(target=target, practical=practical, unit="mg", formula=formula)


def blinatumomab_daily_ug(bsa_m2: float | None, weight_kg: float, *, step_dose: bool) -> DoseCalc:
    """Compute the blinatumomab daily dose (µg/day): BSA-based under 45 kg, fixed from 45 kg."""
    cap = BLINATUMOMAB_STEP_MAX_UG_DAY if step_dose else BLINATUMOMAB_MAX_UG_DAY
    if weight_kg <= 0:
        raise ValueError("weight must be positive")
    if weight_kg >= BLINATUMOMAB_FIXED_DOSE_WEIGHT_KG:
        formula = f"fixed dose at ≥ 45 kg ({weight_kg:g} kg) = {cap:g} µg/day"
        return DoseCalc(target=cap, practical=cap, unit="ug", formula=formula)
    if bsa_m2 is None:
        raise ValueError("BSA is needed below 45 kg")
    _require_bsa(bsa_m2)
    per_m2 = BLINATUMOMAB_STEP_UG_PER_M2_DAY if step_dose else BLINATUMOMAB_UG_PER_M2_DAY
    exact = per_m2 * bsa_m2
    target = min(exact, cap)
    formula = f"{per_m2:g} µg/m²/day × {bsa_m2:.2f} m² = {exact:.1f} µg/day"
    if exact > cap:
        formula += f", capped at {cap:g} µg/day"
    practical = round(target, 1)
    return DoseCalc(target=target, practical=practical, unit="ug", formula=formula)


def within_tolerance(actual: float, target: float, tolerance: float = DEFAULT_TOLERANCE) -> bool:
    """Say whether ``actual`` is within ``tolerance`` (a fraction) of ``target``."""
    if target == 0:
        return actual == 0
    # The small epsilon keeps a dose exactly 10 % off on the "within" side despite float error.
    return abs(actual - target) <= tolerance * abs(target) + 1e-9


def relative_difference(actual: float, target: float) -> float:
    """Return (actual − target) / target, e.g. 0.12 for 12 % above the target."""
    if target == 0:
        raise ValueError("target must not be zero")
    return (actual - target) / target


def _round_step(value: float, step: float) -> float:
    rounded = math.floor(value / step + 0.5) * step
    return max(rounded, step)


def _require_bsa(bsa_m2: float) -> None:
    if not 0 < bsa_m2 < 5:
        raise ValueError(f"implausible BSA {bsa_m2!r} m²")
