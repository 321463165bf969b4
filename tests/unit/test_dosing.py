"""BSA dosing arithmetic (shared/CLINICAL.md: ph-positive, order-imatinib-dose, blinatumomab)."""

from __future__ import annotations

import math

import pytest

from cds_service.pathway.dosing import (
    blinatumomab_daily_ug,
    bsa_mosteller,
    dasatinib_daily_mg,
    imatinib_daily_mg,
    within_tolerance,
)


def test_mosteller_bsa_is_root_of_height_times_weight_over_3600() -> None:
    assert bsa_mosteller(120, 24) == pytest.approx(math.sqrt(120 * 24 / 3600))


@pytest.mark.parametrize(("height", "weight"), [(0, 20), (120, 0), (-1, 20)])
def test_mosteller_refuses_non_positive_measurements(height: float, weight: float) -> None:
    with pytest.raises(ValueError, match="positive"):
        bsa_mosteller(height, weight)


def test_imatinib_target_is_340_mg_per_m2() -> None:
    calc = imatinib_daily_mg(1.12)
    assert calc.target == pytest.approx(380.8)
    assert calc.unit == "mg"


def test_imatinib_formula_shows_the_arithmetic() -> None:
    assert imatinib_daily_mg(1.12).formula == "340 mg/m²/day × 1.12 m² = 380.8 mg/day"


@pytest.mark.parametrize(
    ("bsa", "practical"),
    [(1.12, 380.0), (1.18, 400.0), (1.0, 350.0), (0.5, 170.0), (0.3, 100.0)],
)
def test_imatinib_practical_dose_stays_within_5_percent(bsa: float, practical: float) -> None:
    calc = imatinib_daily_mg(bsa)
    assert calc.practical == practical
    assert within_tolerance(calc.practical, calc.target, 0.05)


@pytest.mark.parametrize("bsa", [0, -0.5, 7.0])
def test_implausible_bsa_is_refused(bsa: float) -> None:
    with pytest.raises(ValueError, match="BSA"):
        imatinib_daily_mg(bsa)


def test_dasatinib_target_is_60_mg_per_m2() -> None:
    calc = dasatinib_daily_mg(1.0)
    assert (calc.target, calc.practical) == (pytest.approx(60.0), 60.0)


@pytest.mark.parametrize(
    ("bsa", "weight", "step", "target"),
    [
        (1.0, 30.0, False, 15.0),
        (1.0, 30.0, True, 5.0),
        (1.9, 44.9, False, 28.0),  # 28.5 capped at 28
        (1.9, 44.9, True, 9.0),  # 9.5 capped at 9
        (1.5, 45.0, False, 28.0),  # fixed dose from 45 kg
        (1.5, 45.0, True, 9.0),
    ],
)
def test_blinatumomab_daily_dose(bsa: float, weight: float, step: bool, target: float) -> None:
    assert blinatumomab_daily_ug(bsa, weight, step_dose=step).target == pytest.approx(target)


def test_blinatumomab_fixed_dose_needs_no_bsa() -> None:
    assert blinatumomab_daily_ug(None, 50.0, step_dose=False).target == 28.0


def test_blinatumomab_below_45_kg_without_bsa_is_refused() -> None:
    with pytest.raises(ValueError, match="BSA"):
        blinatumomab_daily_ug(None, 30.0, step_dose=False)


def test_blinatumomab_cap_is_stated_in_the_formula() -> None:
    assert "capped at 28" in blinatumomab_daily_ug(1.9, 40.0, step_dose=False).formula


@pytest.mark.parametrize(
    ("actual", "target", "expected"),
    [(100, 100, True), (109, 100, True), (110, 100, True), (111, 100, False), (89, 100, False)],
)
def test_within_tolerance_is_ten_percent_inclusive(
    actual: float, target: float, expected: bool
) -> None:
    assert within_tolerance(actual, target) is expected


def test_within_tolerance_of_zero_target_needs_zero() -> None:
    assert within_tolerance(0, 0)
    assert not within_tolerance(1, 0)
