"""The shortcut shared by the FHIR -> facts result tests (tests/unit/test_normalize_*.py)."""

from __future__ import annotations

from typing import Any

from cds_service.pathway.facts import PatientFacts
from cds_service.pathway.knowledge import Knowledge
from tests.unit.test_normalize import facts_of


def only(knowledge: Knowledge, *observations: dict[str, Any], **parts: Any) -> PatientFacts:
    return facts_of(knowledge, observations=list(observations), **parts)
