"""What order-select and order-sign share: the child's facts and position, then the order checks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from cds_service.fhir.drafts import read_drafts
from cds_service.pathway.engine import evaluate, in_scope
from cds_service.pathway.orders import check_orders
from hooks.pipeline import patient_facts, respond

if TYPE_CHECKING:
    from cds_service.runtime import Runtime


def handle_orders(request: Mapping[str, Any], rt: Runtime, service_id: str) -> dict[str, Any]:
    """Check the triggering draft orders against the child's pathway position."""
    facts = patient_facts(request, rt)
    if not in_scope(facts):
        return respond([], request, rt, service_id)
    pathway = evaluate(facts, rt.knowledge)
    position = next((f.step for f in pathway if f.kind == "position"), None)
    context = request["context"]
    drafts = read_drafts(context.get("draftOrders"), context.get("selections"), rt.medications)
    # The gap steps count too: the standard-risk blinatumomab gap makes blinatumomab on-pathway.
    findings = check_orders(
        facts, drafts, rt.knowledge, position, active_steps={f.step for f in pathway}
    )
    return respond(findings, request, rt, service_id)
