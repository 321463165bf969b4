"""order-sign: check the complete order set before it is signed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from hooks import HookService
from hooks.orders import handle_orders
from hooks.prefetch import PATHWAY_PREFETCH

if TYPE_CHECKING:
    from cds_service.runtime import Runtime

SERVICE_ID = "b-all-order-sign"


def handle(request: Mapping[str, Any], rt: Runtime) -> dict[str, Any]:
    """Answer with the order cards for this call's draft orders."""
    return handle_orders(request, rt, SERVICE_ID)


SERVICE = HookService(
    definition={
        "hook": "order-sign",
        "id": SERVICE_ID,
        "title": "Pediatric B-ALL order checks (signing)",
        "description": (
            "Re-checks the complete order set of a child with B-ALL against the pathway "
            "before signature, with one-click fixes for doses and missing orders."
        ),
        "prefetch": PATHWAY_PREFETCH,
    },
    handle=handle,
)
