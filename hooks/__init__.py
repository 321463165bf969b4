"""One module per hook; this registry is the whole list of services we offer (discovery order)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cds_service.runtime import Runtime


@dataclass(frozen=True)
class HookService:
    """A CDS service: its discovery entry and the function that answers its calls."""

    definition: Mapping[str, Any]
    handle: Callable[[Mapping[str, Any], Runtime], dict[str, Any]]

    @property
    def id(self) -> str:
        return str(self.definition["id"])

    @property
    def hook(self) -> str:
        return str(self.definition["hook"])


def _registry() -> dict[str, HookService]:
    from hooks import order_select, order_sign, patient_view

    services = (patient_view.SERVICE, order_select.SERVICE, order_sign.SERVICE)
    return {service.id: service for service in services}


SERVICES: Mapping[str, HookService] = _registry()
