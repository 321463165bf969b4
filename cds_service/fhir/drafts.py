"""Read the ``draftOrders`` Bundle of order-select / order-sign into plain ``DraftOrder`` values.

order-select: the drafts named in ``selections`` are the triggers, the others are context
(CLINICAL.md §2: "a draft that is not in selections is context, not a trigger"); a selection that
names no draft is ignored. order-sign (no ``selections``): every draft is a trigger.

Doses are read only when unambiguous: exactly one dosage instruction with one dose or per-day rate,
a mass unit we know (mg, g, µg, per m² or not) and, for the daily amount, a readable timing.
Anything else leaves ``dose`` None (or its ``per_day`` None), so no dose card can be wrong.
DSTU2 ``MedicationOrder`` drafts (still sent by the public CDS Hooks Sandbox) are read too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cds_service.fhir.medications import MedicationTable, ingredients_of, load_medication_table
from cds_service.fhir.models import is_valid_resource
from cds_service.pathway.order_rules.model import DoseField, DoseReading, DraftOrder, DraftSet

__all__ = ["DoseReading", "DraftOrder", "DraftSet", "read_draft", "read_drafts"]

MEDICATION_TYPES = frozenset({"MedicationRequest", "MedicationOrder"})
SERVICE_TYPES = frozenset({"ServiceRequest", "ProcedureRequest", "DiagnosticOrder"})

# Unit spellings (UCUM code first) -> (mass unit, factor to it, per m²).
_UNITS: Mapping[str, tuple[str, float, bool]] = {
    "mg": ("mg", 1.0, False),
    "milligram": ("mg", 1.0, False),
    "g": ("mg", 1000.0, False),
    "gram": ("mg", 1000.0, False),
    "ug": ("ug", 1.0, False),
    "mcg": ("ug", 1.0, False),
    "µg": ("ug", 1.0, False),
    "μg": ("ug", 1.0, False),
    "microgram": ("ug", 1.0, False),
    "mg/m2": ("mg", 1.0, True),
    "mg/m^2": ("mg", 1.0, True),
    "mg/m²": ("mg", 1.0, True),
    "ug/m2": ("ug", 1.0, True),
    "mcg/m2": ("ug", 1.0, True),
    "µg/m2": ("ug", 1.0, True),
    "ug/m^2": ("ug", 1.0, True),
    "µg/m²": ("ug", 1.0, True),
    "mcg/m²": ("ug", 1.0, True),
}
# Rate units that already say "per day" (a continuous blinatumomab infusion).
_PER_DAY_RATES: Mapping[str, tuple[str, float, bool]] = {
    f"{mass}/{day}": unit
    for mass, unit in _UNITS.items()
    for day in ("d", "day", "24.h", "(24.h)", "24h")
    if not unit[2]
}
_PERIOD_PER_DAY = {"h": 24.0, "d": 1.0, "wk": 1.0 / 7.0}
GTS = "http://terminology.hl7.org/CodeSystem/v3-GTSAbbreviation"
_GTS_PER_DAY = {"QD": 1.0, "BID": 2.0, "TID": 3.0, "QID": 4.0}


def read_drafts(
    draft_orders: Mapping[str, Any] | None,
    selections: Sequence[str] | None,
    table: MedicationTable | None = None,
) -> DraftSet:
    """Split the Bundle's drafts into triggers and context for this hook call."""
    table = table or load_medication_table()
    drafts = [read_draft(res, table) for res in _bundle_resources(draft_orders)]
    if selections is None:
        return DraftSet(tuple(drafts), (), "order-sign", table.classes)
    chosen = {s for s in selections if isinstance(s, str)}
    triggers = [d for d in drafts if d.has_id and d.reference in chosen]
    context = [d for d in drafts if not (d.has_id and d.reference in chosen)]
    return DraftSet(tuple(triggers), tuple(context), "order-select", table.classes)


def read_draft(resource: Mapping[str, Any], table: MedicationTable | None = None) -> DraftOrder:
    """Read one draft order resource (unknown parts stay empty)."""
    resource_type = str(resource.get("resourceType", ""))
    rid = resource.get("id")
    has_id = isinstance(rid, str) and bool(rid)
    is_medication = resource_type in MEDICATION_TYPES
    routes, route_texts = _routes(resource)
    return DraftOrder(
        reference=f"{resource_type}/{rid}" if has_id else resource_type,
        resource_type=resource_type,
        resource=resource,
        ingredients=ingredients_of(resource, table) if is_medication else frozenset(),
        service_codes=_service_codes(resource) if resource_type in SERVICE_TYPES else frozenset(),
        dose=read_dose(resource) if is_medication else None,
        routes=routes,
        route_texts=route_texts,
        has_id=has_id,
        updatable=resource_type == "MedicationRequest" and is_valid_resource(dict(resource)),
    )


def read_dose(resource: Mapping[str, Any]) -> DoseReading | None:
    """Read the one dose of a medication draft, or None when absent or ambiguous."""
    dosages = _dicts(resource.get("dosageInstruction"))
    if len(dosages) != 1:
        return None  # none, or a multi-step schedule: not one comparable daily dose
    dosage = dosages[0]
    per_day = _per_day(dosage.get("timing"))
    if "doseAndRate" in dosage:
        rates = _dicts(dosage.get("doseAndRate"))
        if len(rates) != 1:
            return None
        return _reading(rates[0], per_day, 0)
    return _reading(dosage, per_day, None)  # DSTU2: dosageInstruction.doseQuantity / rate


def _reading(
    holder: Mapping[str, Any], per_day: float | None, index: int | None
) -> DoseReading | None:
    dose = holder.get("doseQuantity")
    if isinstance(dose, Mapping):
        return _quantity_reading(dose, _UNITS, per_day, index, "doseQuantity")
    rate = holder.get("rateQuantity")
    if isinstance(rate, Mapping):
        return _quantity_reading(rate, _PER_DAY_RATES, 1.0, index, "rateQuantity")
    return None


def _quantity_reading(
    quantity: Mapping[str, Any],
    units: Mapping[str, tuple[str, float, bool]],
    per_day: float | None,
    index: int | None,
    field: DoseField,
) -> DoseReading | None:
    value = quantity.get("value")
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        return None
    if "comparator" in quantity:
        return None  # "< 400 mg" is not a dose
    unit = _unit_of(quantity, units)
    if unit is None:
        return None
    mass, factor, per_m2 = unit
    return DoseReading(
        value=float(value) * factor,
        unit="mg" if mass == "mg" else "ug",
        per_m2=per_m2,
        per_day=per_day,
        dosage_index=0,
        rate_index=index,
        field=field,
    )


def _unit_of(
    quantity: Mapping[str, Any], units: Mapping[str, tuple[str, float, bool]]
) -> tuple[str, float, bool] | None:
    # The UCUM code is authoritative; the human `unit` is read only when no code is given.
    for key in ("code", "unit"):
        text = quantity.get(key)
        if isinstance(text, str) and text.strip():
            return units.get(text.strip().lower().replace(" ", ""))
    return None


def _per_day(timing: Any) -> float | None:
    if not isinstance(timing, Mapping):
        return None
    repeat = timing.get("repeat")
    if isinstance(repeat, Mapping) and "period" in repeat:
        if "frequencyMax" in repeat or "periodMax" in repeat:
            return None  # a range ("1-2 times a day") has no single daily dose
        frequency = _positive(repeat.get("frequency", 1))
        period = _positive(repeat.get("period"))
        # DSTU2 (the CDS Hooks Sandbox's MedicationOrder) spells it periodUnits.
        unit = _text(repeat.get("periodUnit") or repeat.get("periodUnits"))
        if frequency is None or period is None or unit is None or unit not in _PERIOD_PER_DAY:
            return None
        return frequency / period * _PERIOD_PER_DAY[unit]
    code = timing.get("code")
    for coding in _dicts(code.get("coding")) if isinstance(code, Mapping) else []:
        if coding.get("system") == GTS and _text(coding.get("code")) in _GTS_PER_DAY:
            return _GTS_PER_DAY[coding["code"]]
    return None


def _text(value: Any) -> str | None:
    """Return ``value`` if it is a string; draft JSON can carry lists or objects anywhere."""
    return value if isinstance(value, str) else None


def _positive(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        return None
    return float(value)


def _routes(resource: Mapping[str, Any]) -> tuple[frozenset[tuple[str, str]], tuple[str, ...]]:
    codes: set[tuple[str, str]] = set()
    texts: list[str] = []
    for dosage in _dicts(resource.get("dosageInstruction")):
        route = dosage.get("route")
        if not isinstance(route, Mapping):
            continue
        if isinstance(route.get("text"), str):
            texts.append(route["text"])
        for coding in _dicts(route.get("coding")):
            system, code = coding.get("system"), coding.get("code")
            if isinstance(system, str) and isinstance(code, str):
                codes.add((system, code))
            if isinstance(coding.get("display"), str):
                texts.append(coding["display"])
    return frozenset(codes), tuple(texts)


def _service_codes(resource: Mapping[str, Any]) -> frozenset[tuple[str, str]]:
    concepts = [resource.get("code")]
    concepts += [item.get("code") for item in _dicts(resource.get("item"))]  # DSTU2 DiagnosticOrder
    found: set[tuple[str, str]] = set()
    for concept in concepts:
        if not isinstance(concept, Mapping):
            continue
        for coding in _dicts(concept.get("coding")):
            system, code = coding.get("system"), coding.get("code")
            if isinstance(system, str) and isinstance(code, str):
                found.add((system, code))
    return frozenset(found)


def _bundle_resources(bundle: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    if not isinstance(bundle, Mapping):
        return []
    resources = [entry.get("resource") for entry in _dicts(bundle.get("entry"))]
    return [
        r for r in resources if isinstance(r, Mapping) and isinstance(r.get("resourceType"), str)
    ]


def _dicts(value: Any) -> list[Mapping[str, Any]]:
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, Mapping)]
