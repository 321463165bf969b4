"""The steps every hook shares: prefetch -> facts, and findings -> cards (DESIGN.md data flow)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from flask import g

from cards import CardContext, build_cards
from cds_service.fhir.medications import ingredients_of
from cds_service.fhir.normalize import normalize
from cds_service.fhir.prefetch import FhirFetcher, resolve_prefetch
from cds_service.fhir.same_patient import only_this_patient
from cds_service.pathway.facts import PatientFacts
from cds_service.pathway.findings import Finding
from hooks.prefetch import PATHWAY_PREFETCH, REQUIRED_KEYS

if TYPE_CHECKING:
    from cds_service.runtime import Runtime


def patient_facts(
    request: Mapping[str, Any], rt: Runtime, fetcher: FhirFetcher | None = None
) -> PatientFacts:
    """Resolve the prefetch (fetching what is missing) and read the child's facts from it."""
    prefetched = resolve_prefetch(
        PATHWAY_PREFETCH, request, required=REQUIRED_KEYS, fetcher=fetcher or rt.fetcher
    )
    result = normalize(
        only_this_patient(prefetched.resources, request["context"]["patientId"]),
        rt.knowledge,
        rt.today(),
        unavailable=prefetched.unavailable,
        ingredients_of=lambda resource: ingredients_of(resource, rt.medications),
    )
    return result.facts


def respond(
    findings: Sequence[Finding], request: Mapping[str, Any], rt: Runtime, service_id: str
) -> dict[str, Any]:
    """Render findings as cards, record them in the card ledger and build the response body."""
    context = request["context"]
    card_context = CardContext(
        hook=request["hook"],
        patient_id=context["patientId"],
        user_id=context.get("userId"),
        encounter_id=context.get("encounterId"),
        canonical_base=rt.settings["CANONICAL_BASE"],
        smart_launch_url=rt.smart_launch_url,
    )
    cards = build_cards(
        findings, rt.knowledge, card_context, new_uuid=rt.new_uuid, today=rt.today()
    )
    steps = [card["source"]["topic"]["code"] for card in cards]
    if cards:
        rt.store.record_cards(
            service_id=service_id,
            hook_instance=request["hookInstance"],
            cards=[(card["uuid"], step) for card, step in zip(cards, steps, strict=True)],
            issued_at=rt.now(),
        )
    g.step_codes = steps
    return {"cards": cards}
