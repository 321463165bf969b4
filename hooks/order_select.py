"""order-select: check the orders the clinician just selected; other drafts are context."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from hooks import HookService
from hooks.orders import handle_orders
from hooks.prefetch import PATHWAY_PREFETCH

if TYPE_CHECKING:
    from cds_service.runtime import Runtime

SERVICE_ID = "b-all-order-select"


def handle(request: Mapping[str, Any], rt: Runtime) -> dict[str, Any]:
    """Answer with the order cards for this call's draft orders."""
    return handle_orders(request, rt, SERVICE_ID)


SERVICE = HookService(
    definition={
        "hook": "order-select",
        "id": SERVICE_ID,
        "title": "Pediatric B-ALL order checks (selection)",
        "description": (
            "Checks the medication and procedure orders a clinician selects for a child with "
            "B-ALL against the pathway: doses computed from body surface area, a TKI for Ph+ "
            "disease, HCT timing and MRD, and the intrathecal vincristine safety rule."
        ),
        "prefetch": PATHWAY_PREFETCH,
    },
    handle=handle,
)
