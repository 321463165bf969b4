"""patient-view: where the child is on the B-ALL pathway, what comes next, what data is missing."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from cds_service.pathway.engine import evaluate
from hooks import HookService
from hooks.pipeline import patient_facts, respond
from hooks.prefetch import PATHWAY_PREFETCH

if TYPE_CHECKING:
    from cds_service.runtime import Runtime

SERVICE_ID = "b-all-pathway"


def handle(request: Mapping[str, Any], rt: Runtime) -> dict[str, Any]:
    """Place the child on the pathway and answer with the position and gap cards."""
    facts = patient_facts(request, rt)
    return respond(evaluate(facts, rt.knowledge), request, rt, SERVICE_ID)


SERVICE = HookService(
    definition={
        "hook": "patient-view",
        "id": SERVICE_ID,
        "title": "Pediatric B-ALL pathway",
        "description": (
            "Places a child with B-cell acute lymphoblastic leukemia on the treatment pathway "
            "(risk group, Ph and KMT2A status, MRD, relapse), shows the next step and the data "
            "that is missing, with evidence links."
        ),
        "prefetch": PATHWAY_PREFETCH,
    },
    handle=handle,
)
