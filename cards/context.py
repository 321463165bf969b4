"""What the builder needs to know about the hook call (no Flask request, no FHIR objects)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CardContext:
    """The call a card answers: hook, patient, user and where our links point."""

    hook: str  # "patient-view" | "order-select" | "order-sign"
    patient_id: str
    user_id: str | None  # "Practitioner/123": the requester of suggested orders
    encounter_id: str | None
    canonical_base: str  # e.g. https://b-all-pathway.example/fhir
    smart_launch_url: str | None  # None when the SMART viewer is not configured
    service_label: str = "B-ALL Pathway (pediatric)"
