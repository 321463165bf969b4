"""Schema fuzzing of every endpoint in /openapi.json, each call carrying a fresh valid JWT.

Property (issue 8): every answer is 2xx or a 4xx with an OperationOutcome; never a 500, never a
stack trace. ``CDS_FUZZ_EXAMPLES`` sets the examples per operation (``make fuzz``: 10,000).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import strategies as st

from cds_service import create_app
from cds_service.openapi import document
from hooks import SERVICES
from hooks.prefetch import PATHWAY_PREFETCH
from tests.conftest import TODAY, Ehr, app_settings, counting_uuids
from tests.security.conftest import FUZZ_EXAMPLES, FUZZ_SETTINGS, Tally, assert_outcome

# Built from the document the app serves (not fetched): loading it needs no app at import time.
schema = schemathesis.openapi.from_dict(document())
schema.config.generation.update(max_examples=FUZZ_EXAMPLES, database="none")

pytestmark = pytest.mark.fuzz

_HOOK_OF = {service_id: service.hook for service_id, service in SERVICES.items()}
_INSTANTS = st.datetimes(
    min_value=datetime(1900, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)


@schema.hook
def flatmap_case(context: Any, case: schemathesis.Case) -> st.SearchStrategy[schemathesis.Case]:
    """Repair half the cases past the cross-field checks, so the fuzz reaches the hook code."""
    return st.tuples(st.booleans(), _INSTANTS).map(lambda drawn: _repair(case, *drawn))


def _repair(case: schemathesis.Case, repair: bool, instant: datetime) -> schemathesis.Case:
    body = case.body
    if not repair or not isinstance(body, dict):
        return case
    hook = _HOOK_OF.get(str((case.path_parameters or {}).get("service_id")))
    if hook and "hook" in body:
        body["hook"] = hook  # the schema cannot tie the hook name to the URL's service id
        prefetch = body.get("prefetch")
        if isinstance(prefetch, dict):
            # null = "looked, found nothing": required keys resolve without a FHIR server.
            for key in PATHWAY_PREFETCH:
                prefetch.setdefault(key, None)
    items = body.get("feedback")
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and "outcomeTimestamp" in item:
            item["outcomeTimestamp"] = instant.isoformat()  # the pattern admits month 13
    return case


# Cases sent per operation, generation mode and status: the long run's figures.
TALLY = Tally("fuzz-http")


@pytest.fixture(scope="module", autouse=True)
def _write_tally() -> Iterator[None]:
    yield
    TALLY.write()


@pytest.fixture
def fuzz_app(ehr: Ehr, tmp_path: Any) -> Flask:
    # No FHIR host is allowed: a generated fhirServer must never send us onto the network.
    settings = app_settings(ehr, tmp_path, FHIR_ALLOWED_HOSTS=[])
    return create_app(settings, today=lambda: TODAY, new_uuid=counting_uuids())


@schema.parametrize()
@FUZZ_SETTINGS
def test_every_answer_is_success_or_an_outcome(
    case: schemathesis.Case, fuzz_app: Flask, ehr: Ehr
) -> None:
    # A fresh token per call: a reused jti would be refused as a replay.
    headers = ehr.headers(case.formatted_path)
    response = case.call(app=fuzz_app, headers=headers)
    mode = case.meta.generation.mode.value if case.meta else "?"
    TALLY.count(f"{case.method} {case.path} {mode} {response.status_code}")
    assert_outcome(response.status_code, response.text, _json_or_none(response.text))


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None
