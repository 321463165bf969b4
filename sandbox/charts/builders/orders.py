"""Chart builders for medication orders, procedures and service requests (signed or draft)."""

from __future__ import annotations

from datetime import date, timedelta

from sandbox.charts.builders.base import ChartBase
from sandbox.charts.builders.codes import (
    ROUTES,
    SNOMED,
    Json,
    coding,
    concept,
    ingredient,
    instant,
    quantity,
)


class OrderRecords(ChartBase):
    """MedicationRequests, Procedures, ServiceRequests and the DSTU2 MedicationOrder draft."""

    def medication(
        self,
        drug: str | Json,
        start: date,
        *,
        status: str = "active",
        dose: tuple[float, str] | None = None,
        frequency: int = 1,
        every: str = "d",
        route: str | None = None,
        end: date | None = None,
    ) -> Json:
        """Add a MedicationRequest (``drug`` = an ingredient name or a ready concept)."""
        medication = ingredient(drug) if isinstance(drug, str) else drug
        repeat: Json = {"frequency": frequency, "period": 1, "periodUnit": every}
        if end:
            repeat["boundsPeriod"] = {"start": start.isoformat(), "end": end.isoformat()}
        dosage: Json = {"timing": {"repeat": repeat}}
        if route:
            dosage["route"] = concept(coding(SNOMED, *ROUTES[route]))
        if dose:
            dosage["doseAndRate"] = [{"doseQuantity": quantity(*dose)}]
        resource: Json = {
            "resourceType": "MedicationRequest",
            "status": status,
            "intent": "order",
            "medicationCodeableConcept": medication,
            "subject": self.subject,
            "authoredOn": instant(start, "13:00"),
            "dosageInstruction": [dosage],
        }
        return self.add("med", resource)

    def procedure(self, code: Json, day: date) -> Json:
        """Add a completed Procedure."""
        resource: Json = {
            "resourceType": "Procedure",
            "status": "completed",
            "code": code,
            "subject": self.subject,
            "performedDateTime": instant(day, "10:40"),
        }
        return self.add("proc", resource)

    def service_request(
        self, code: Json, day: date, *, status: str = "active", body_site: Json | None = None
    ) -> Json:
        """Add a ServiceRequest (``status="draft"`` for an unsigned order)."""
        resource: Json = {
            "resourceType": "ServiceRequest",
            "status": status,
            "intent": "order",
            "code": code,
            "subject": self.subject,
            "occurrenceDateTime": instant(day, "08:00"),
            "authoredOn": instant(day - timedelta(days=1), "17:30"),
        }
        if body_site:
            resource["bodySite"] = [body_site]
        return self.add("sr", resource)

    def medication_order_dstu2(self, drug: str, start: date, dose: tuple[float, str]) -> Json:
        """Add a DSTU2 MedicationOrder draft, as the public CDS Hooks Sandbox sends it."""
        resource: Json = {
            "resourceType": "MedicationOrder",
            "status": "draft",
            "patient": self.subject,
            "dateWritten": start.isoformat(),
            "medicationCodeableConcept": ingredient(drug),
            "dosageInstruction": [
                {
                    "doseQuantity": quantity(*dose),
                    "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnits": "d"}},
                }
            ],
        }
        return self.add("order", resource)
