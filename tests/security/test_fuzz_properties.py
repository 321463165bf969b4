"""Property tests: the request validator and fact extraction on arbitrary FHIR-shaped JSON.

Properties (issue 8): ``check_request`` returns the body or raises ``BadRequest`` with a short
message that never echoes a long value; ``normalize`` never raises; a service call carrying any
such prefetch answers 2xx or 4xx with an OperationOutcome, never a 500 or a stack trace.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from flask import Flask
from hypothesis import given
from hypothesis import strategies as st

from cds_service import create_app
from cds_service.errors import BadRequest
from cds_service.fhir.normalize import NormalizeResult, normalize
from cds_service.protocol import HOOKS, check_request
from tests.api import requests as rq
from tests.conftest import TODAY, Ehr, app_settings, counting_uuids
from tests.security import fhir_strategies as fs
from tests.security.conftest import FUZZ_SETTINGS, Tally, assert_outcome

pytestmark = pytest.mark.fuzz

TALLY = Tally("fuzz-properties")  # examples run per property (the long run's figures)


@pytest.fixture(scope="module", autouse=True)
def _write_tally() -> Iterator[None]:
    yield
    TALLY.write()


PV = "/cds-services/b-all-pathway"
# Longer than any message we write, shorter than any value worth refusing for its length.
MAX_MESSAGE = 400

contexts = st.fixed_dictionaries(
    {},
    optional={
        "patientId": fs.fuzzed(st.text(min_size=1, max_size=64)),
        "userId": fs.fuzzed(st.sampled_from(["Practitioner/1", "PractitionerRole/x", "Patient/p"])),
        "encounterId": fs.json_values,
        "selections": fs.fuzzed(st.lists(st.text(max_size=20), max_size=3)),
        "draftOrders": fs.fuzzed(st.builds(fs.searchset, st.lists(fs.json_values, max_size=3))),
    },
)
requests_shaped = st.fixed_dictionaries(
    {},
    optional={
        "hook": fs.fuzzed(st.sampled_from(HOOKS)),
        "hookInstance": fs.fuzzed(st.uuids().map(str)),
        "fhirServer": fs.fuzzed(st.sampled_from(["https://fhir.test.example/r4", "ftp://x"])),
        "fhirAuthorization": fs.json_values,
        "context": fs.fuzzed(contexts),
        "prefetch": fs.fuzzed(st.dictionaries(st.text(max_size=16), fs.json_values, max_size=3)),
        "extension": fs.json_values,
    },
)


@FUZZ_SETTINGS
@given(
    body=st.one_of(requests_shaped, requests_shaped, fs.json_values),
    hook=st.sampled_from(HOOKS),
)
def test_validator_accepts_or_refuses_with_a_short_message(body: Any, hook: str) -> None:
    TALLY.count("validator")
    refusal: BadRequest | None = None
    try:
        checked = check_request(body, hook)
    except BadRequest as exc:
        refusal = exc
    if refusal is not None:
        assert refusal.expression, "a refusal must name the failing field"
        assert len(refusal.message) < MAX_MESSAGE, refusal.message[:MAX_MESSAGE]
        return
    assert checked is body
    assert checked["hook"] == hook


@FUZZ_SETTINGS
@given(resources=fs.chart(), unavailable=st.frozensets(st.sampled_from(sorted(fs.TYPE_OF_KEY))))
def test_normalize_never_raises(
    resources: dict[str, list[Any]], unavailable: frozenset[str]
) -> None:
    TALLY.count("normalize")
    result = normalize(resources, fs.KNOWLEDGE, TODAY, unavailable)
    assert isinstance(result, NormalizeResult)
    assert result.facts.today == TODAY


@FUZZ_SETTINGS
@given(resources=fs.chart(), today=st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 1, 1)))
def test_normalize_never_raises_on_any_plausible_day(
    resources: dict[str, list[Any]], today: date
) -> None:
    TALLY.count("normalize-any-day")
    assert isinstance(normalize(resources, fs.KNOWLEDGE, today), NormalizeResult)


@pytest.fixture
def fuzz_app(ehr: Ehr, tmp_path: Any) -> Flask:
    settings = app_settings(ehr, tmp_path, FHIR_ALLOWED_HOSTS=[])
    return create_app(settings, today=lambda: TODAY, new_uuid=counting_uuids())


@FUZZ_SETTINGS
@given(resources=fs.chart())
def test_service_call_with_any_prefetch_answers_cards_or_an_outcome(
    fuzz_app: Flask, ehr: Ehr, resources: dict[str, list[Any]]
) -> None:
    TALLY.count("service-call")
    prefetch: dict[str, Any] = dict.fromkeys(fs.TYPE_OF_KEY)  # null: looked, found none
    for key, listed in resources.items():
        lone = key == "patient" and listed and isinstance(listed[0], dict)
        prefetch[key] = listed[0] if lone else fs.searchset(listed)
    body = json.dumps(rq.patient_view(prefetch=prefetch), allow_nan=True)
    response = fuzz_app.test_client().post(
        PV, data=body, content_type="application/json", headers=ehr.headers(PV)
    )
    assert_outcome(response.status_code, response.get_data(as_text=True), response.get_json())
