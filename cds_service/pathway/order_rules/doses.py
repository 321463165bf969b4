"""Dose checks with a one-click fix: imatinib and blinatumomab against the BSA-based dose.

A dose card needs every input known: the draft's daily amount (dose, unit, timing), the BSA and,
for blinatumomab, the weight. Anything unknown means no card (CLINICAL.md: unknown is not wrong).
The fix is an ``update`` action carrying a deep copy of the whole draft with only the dose
quantity replaced, offered for R4 MedicationRequest drafts (DSTU2 drafts get the card only).
"""

from __future__ import annotations

import copy
from typing import Any

from cds_service.pathway.dosing import (
    DoseCalc,
    blinatumomab_daily_ug,
    imatinib_daily_mg,
    relative_difference,
    within_tolerance,
)
from cds_service.pathway.findings import Action, Finding, Reason, Suggestion
from cds_service.pathway.order_rules.common import OrderContext, draft_reason, finding
from cds_service.pathway.order_rules.model import DraftOrder, MassUnit

UCUM = "http://unitsofmeasure.org"
_UNIT_TEXT = {"mg": "mg", "ug": "µg"}


def imatinib_dose(ctx: OrderContext) -> list[Finding]:
    """Warn when a draft imatinib daily dose is > 10 % off 340 mg/m²/day × BSA."""
    bsa = ctx.facts.bsa_m2.value
    findings = []
    for draft in ctx.triggers:
        if "imatinib" not in draft.ingredients or draft.dose is None or bsa is None:
            continue
        daily = draft.dose.daily_in("mg", bsa)
        try:
            calc = imatinib_daily_mg(bsa)
        except ValueError:
            continue  # implausible BSA: no dose advice
        if daily is None or within_tolerance(daily, calc.target, ctx.config.dose_tolerance):
            continue
        findings.append(_dose_finding(ctx, "order-imatinib-dose", draft, daily, calc))
    return findings


def blinatumomab_dose(ctx: OrderContext) -> list[Finding]:
    """Warn when a draft blinatumomab daily dose is > 10 % off both the full and the step dose."""
    bsa, weight = ctx.facts.bsa_m2.value, ctx.facts.weight_kg.value
    findings = []
    for draft in ctx.triggers:
        if "blinatumomab" not in draft.ingredients or draft.dose is None or weight is None:
            continue
        daily = draft.dose.daily_in("ug", bsa)
        try:
            full = blinatumomab_daily_ug(bsa, weight, step_dose=False)
            step = blinatumomab_daily_ug(bsa, weight, step_dose=True)
        except ValueError:
            continue  # under 45 kg with no usable BSA
        if daily is None:
            continue
        tolerance = ctx.config.dose_tolerance
        if any(within_tolerance(daily, c.target, tolerance) for c in (full, step)):
            continue
        # Suggest whichever regimen the draft was evidently aiming at (the nearer one).
        calc = min((full, step), key=lambda c: abs(relative_difference(daily, c.target)))
        findings.append(_dose_finding(ctx, "order-blinatumomab-dose", draft, daily, calc))
    return findings


def _dose_finding(
    ctx: OrderContext, step: str, draft: DraftOrder, daily: float, calc: DoseCalc
) -> Finding:
    unit = _UNIT_TEXT[calc.unit]
    draft_dose = f"{daily:g} {unit}/day"
    target = f"{calc.target:.1f} {unit}/day (practical {calc.practical:g} {unit}/day)"
    values: dict[str, Any] = {
        "drafts": (draft.reference,),
        "draft_dose": draft_dose,
        "target_dose": target,
        "dose_formula": calc.formula,
        "draft_daily": daily,
        "target_daily": calc.target,
        "practical_daily": calc.practical,
        "dose_unit": calc.unit,
        "difference_percent": round(relative_difference(daily, calc.target) * 100, 1),
    }
    if ctx.facts.bsa_m2.value is not None:
        values["bsa_m2"] = ctx.facts.bsa_m2.value
    why = (
        draft_reason("Draft dose", draft, draft_dose),
        Reason("Computed dose", f"{calc.formula}", ctx.facts.bsa_m2.sources),
    )
    suggestion = _update_suggestion(draft, calc)
    return finding(ctx, step, why, values, (suggestion,) if suggestion else ())


def _update_suggestion(draft: DraftOrder, calc: DoseCalc) -> Suggestion | None:
    resource = corrected_resource(draft, calc.practical, calc.unit)
    if resource is None:
        return None
    unit = _UNIT_TEXT[calc.unit]
    label = f"Change to {calc.practical:g} {unit}/day"
    action = Action("update", f"Set the dose to {calc.practical:g} {unit} per day", resource)
    return Suggestion(label, (action,), recommended=True)


def corrected_resource(draft: DraftOrder, daily: float, unit: MassUnit) -> dict[str, Any] | None:
    """Copy the whole draft with its dose quantity set to ``daily`` per day (R4 drafts only)."""
    dose = draft.dose
    if not (draft.updatable and draft.has_id) or dose is None or dose.rate_index is None:
        return None
    resource: dict[str, Any] = copy.deepcopy(dict(draft.resource))
    try:
        holder = resource["dosageInstruction"][dose.dosage_index]["doseAndRate"][dose.rate_index]
    except (KeyError, IndexError, TypeError):
        return None
    if dose.field == "rateQuantity":
        holder["rateQuantity"] = _quantity(daily, f"{unit}/d", f"{_UNIT_TEXT[unit]}/day")
    elif dose.per_day:
        holder["doseQuantity"] = _quantity(daily / dose.per_day, unit, _UNIT_TEXT[unit])
    else:
        return None
    return resource


def _quantity(value: float, code: str, text: str) -> dict[str, Any]:
    number: float | int = round(value, 2)
    if float(number).is_integer():
        number = int(number)
    return {"value": number, "unit": text, "system": UCUM, "code": code}
