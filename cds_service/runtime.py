"""The long-lived objects one app holds: built once at start-up, shared by every request."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from flask import current_app

from cds_service.auth import JwtVerifier, load_issuers, make_replay_cache
from cds_service.feedback import FeedbackStore
from cds_service.fhir.medications import MedicationTable, load_medication_table
from cds_service.fhir.prefetch import FhirFetcher
from cds_service.pathway.knowledge import Knowledge
from cds_service.pathway.loader import check_card_templates, load_knowledge
from cds_service.pathway.order_rules.config import order_config


@dataclass(frozen=True)
class Runtime:
    """Everything a request handler needs besides the request itself."""

    settings: Mapping[str, Any]
    knowledge: Knowledge
    medications: MedicationTable
    verifier: JwtVerifier
    fetcher: FhirFetcher
    store: FeedbackStore
    today: Callable[[], date]
    new_uuid: Callable[[], str]

    def now(self) -> datetime:
        """Return the current UTC time (ledger timestamps; not part of any response)."""
        return datetime.now(UTC)

    @property
    def public_base_url(self) -> str:
        return str(self.settings["PUBLIC_BASE_URL"])

    @property
    def smart_launch_url(self) -> str | None:
        """Where a card's ``smart`` link points; None until the SMART viewer is configured."""
        if not self.settings["SMART_CLIENT_ID"]:
            return None
        return f"{self.public_base_url}/smart/launch"


def build_runtime(
    settings: Mapping[str, Any], *, today: Callable[[], date], new_uuid: Callable[[], str]
) -> Runtime:
    """Load and validate everything a broken deployment should fail on before serving a request."""
    from cards import template_codes

    knowledge_dir = Path(settings["KNOWLEDGE_DIR"])
    knowledge = load_knowledge(knowledge_dir)
    check_card_templates(knowledge, template_codes())
    order_config(knowledge)  # the order checks' codes and limits must all be there
    medications = load_medication_table(knowledge_dir / "medications.toml")
    verifier = JwtVerifier(
        load_issuers(settings),
        replay=make_replay_cache(settings),
        leeway=int(settings["JWT_LEEWAY_SECONDS"]),
        jwks_ttl=float(settings["JWKS_CACHE_SECONDS"]),
    )
    return Runtime(
        settings=settings,
        knowledge=knowledge,
        medications=medications,
        verifier=verifier,
        fetcher=FhirFetcher.from_settings(settings),
        store=FeedbackStore(str(settings["DATABASE_URL"])),
        today=today,
        new_uuid=new_uuid,
    )


def runtime() -> Runtime:
    """Return the current app's runtime (inside a request or app context)."""
    value: Runtime = current_app.extensions["cds"]
    return value
