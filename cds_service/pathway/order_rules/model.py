"""The draft orders of one order-select / order-sign call, as plain frozen values.

``cds_service.fhir.drafts`` reads the wire ``draftOrders`` Bundle into these; the checks in this
package read only these (no FHIR parsing in the pure core).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

MassUnit = Literal["mg", "ug"]
DoseField = Literal["doseQuantity", "rateQuantity"]
OrderHook = Literal["order-select", "order-sign"]

_PER_UNIT = {"mg": 1.0, "ug": 0.001}  # amount of the unit expressed in mg


@dataclass(frozen=True)
class DoseReading:
    """One readable dose of a draft: per administration, per day, and where it sits in the JSON."""

    value: float  # per administration (or per day for a per-day rate)
    unit: MassUnit
    per_m2: bool  # ordered as mg/m² or µg/m²
    per_day: float | None  # administrations per day; None when the timing is unreadable
    dosage_index: int  # dosageInstruction[i]
    rate_index: int | None  # doseAndRate[j] (R4); None for DSTU2 dosageInstruction.doseQuantity
    field: DoseField

    @property
    def daily(self) -> float | None:
        """Amount per day in ``unit`` (per m² when ``per_m2``), or None when unreadable."""
        return None if self.per_day is None else self.value * self.per_day

    def daily_in(self, unit: MassUnit, bsa_m2: float | None) -> float | None:
        """Absolute daily amount in ``unit``; None when it needs an unknown BSA or timing."""
        daily = self.daily
        if daily is None or (self.per_m2 and bsa_m2 is None):
            return None
        amount = daily * (bsa_m2 if self.per_m2 and bsa_m2 is not None else 1.0)
        return amount * _PER_UNIT[self.unit] / _PER_UNIT[unit]


@dataclass(frozen=True)
class DraftOrder:
    """One draft order of the call: what it orders and how, read defensively."""

    reference: str  # "MedicationRequest/abc" ("MedicationOrder/abc" for DSTU2); "Type" when no id
    resource_type: str
    resource: Mapping[str, Any]  # the raw dict, for update/delete suggestions
    ingredients: frozenset[str] = frozenset()
    service_codes: frozenset[tuple[str, str]] = frozenset()  # (system, code)
    dose: DoseReading | None = None
    routes: frozenset[tuple[str, str]] = frozenset()  # (system, code)
    route_texts: tuple[str, ...] = ()  # route text and codings' display, for text-only routes
    has_id: bool = False
    # True only for an R4 MedicationRequest that validates as R4: only these get `update` actions.
    updatable: bool = False


@dataclass(frozen=True)
class DraftSet:
    """The drafts of one call: the triggers (checked) and the others (context only)."""

    triggers: tuple[DraftOrder, ...] = ()
    context: tuple[DraftOrder, ...] = ()
    hook: OrderHook = "order-sign"
    # ingredient name -> classes ("tki", "chemotherapy", "corticosteroid", "biologic-restricted")
    drug_classes: Mapping[str, frozenset[str]] = field(default_factory=dict)

    @property
    def all(self) -> tuple[DraftOrder, ...]:
        """Every draft, triggers first."""
        return self.triggers + self.context

    def in_class(self, ingredient: str, drug_class: str) -> bool:
        """Say whether an ingredient belongs to a drug class."""
        return drug_class in self.drug_classes.get(ingredient, frozenset())
