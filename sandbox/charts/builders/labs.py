"""Chart builders for Observations: the generic one, numeric labs, vital signs and blood counts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sandbox.charts.builders.base import ChartBase
from sandbox.charts.builders.codes import (
    INTERPRETATION,
    LOINC,
    OBS_CATEGORY,
    Json,
    coding,
    concept,
    instant,
    quantity,
)


class LabRecords(ChartBase):
    """Observations, from the generic builder to the blood count and growth."""

    def observation(
        self,
        code: Json,
        day: date,
        *,
        category: str = "laboratory",
        clock: str = "07:45",
        components: Sequence[Json] = (),
        body_site: Json | None = None,
        interpretation: str | None = None,
        **value: Any,
    ) -> Json:
        """Add a final Observation; ``value`` is one ``valueQuantity=...``-style keyword."""
        resource: Json = {
            "resourceType": "Observation",
            "status": "final",
            "category": [concept(coding(OBS_CATEGORY, category))],
            "code": code,
            "subject": self.subject,
            "effectiveDateTime": instant(day, clock),
            **value,
        }
        if category == "laboratory":
            resource["issued"] = instant(day, "14:10")
        if interpretation:
            resource["interpretation"] = [concept(coding(INTERPRETATION, interpretation))]
        if body_site:
            resource["bodySite"] = body_site
        if components:
            resource["component"] = list(components)
        return self.add("obs", resource)

    def lab(self, loinc: str, display: str, day: date, value: float, unit: str, **kw: Any) -> Json:
        """Add a numeric LOINC laboratory result."""
        code = concept(coding(LOINC, loinc, display), text=display)
        return self.observation(code, day, valueQuantity=quantity(value, unit), **kw)

    def vital(self, loinc: str, display: str, day: date, value: float, unit: str) -> Json:
        """Add a numeric LOINC vital sign (weight, height, BSA)."""
        code = concept(coding(LOINC, loinc, display), text=display)
        return self.observation(
            code, day, category="vital-signs", clock="10:05", valueQuantity=quantity(value, unit)
        )

    def coded_result(
        self, code: Json, day: date, value: Json, *, interpretation: str | None = None, **kw: Any
    ) -> Json:
        """Add a laboratory result whose value is a CodeableConcept."""
        return self.observation(
            code, day, valueCodeableConcept=value, interpretation=interpretation, **kw
        )

    def wbc(self, day: date, value: float, unit: str = "10*3/uL") -> Json:
        """Add a white-cell count (``/uL`` for the labs that still report cells per microlitre)."""
        display = "Leukocytes [#/volume] in Blood by Automated count"
        return self.lab("6690-2", display, day, value, unit)

    def anc(self, day: date, value: float) -> Json:
        """Add an absolute neutrophil count in 10*3/uL."""
        display = "Neutrophils [#/volume] in Blood by Automated count"
        interpretation = "L" if value < 1.5 else None
        return self.lab("751-8", display, day, value, "10*3/uL", interpretation=interpretation)

    def cbc(self, day: date, wbc: float, anc: float, hb: float, platelets: float) -> None:
        """Add the four counts of a blood count drawn together."""
        self.wbc(day, wbc)
        self.anc(day, anc)
        self.lab("718-7", "Hemoglobin [Mass/volume] in Blood", day, hb, "g/dL")
        self.lab(
            "777-3", "Platelets [#/volume] in Blood by Automated count", day, platelets, "10*3/uL"
        )

    def growth(self, day: date, weight_kg: float, height_cm: float) -> None:
        """Add a weight and a height measured the same day (BSA for dosing)."""
        self.vital("29463-7", "Body weight", day, weight_kg, "kg")
        self.vital("8302-2", "Body height", day, height_cm, "cm")
