"""Fault injection for the FHIR fallback, through HTTP, against real loopback FHIR servers.

Every patient-view call below sends no prefetch, so the service must fetch from ``fhirServer``.
A fault on every query loses required data: 412 naming the keys. A fault on the one optional
query (Procedure) still gives cards from what could be read. Either way the answer comes within
the FHIR time budget + 1 s, and a redirect or ``next`` link to another host is never followed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask

from cds_service import create_app
from tests.api import requests as rq
from tests.conftest import TODAY, Ehr, app_settings, counting_uuids
from tests.security.conftest import assert_outcome
from tests.security.loopback import LoopbackServer, Reply, json_reply

PV = "/cds-services/b-all-pathway"
BUDGET = 1.0  # FHIR_TIMEOUT_SECONDS for these tests
FIFTY_MB = 50 * 1024 * 1024
OPTIONAL_TYPE = "Procedure"  # not in REQUIRED_KEYS: losing it must not cost the cards
REQUIRED = ["patient", "conditions", "observations", "medications"]

Fault = Callable[[str, LoopbackServer], Reply]


def good_data(path: str) -> Reply:
    """Answer as a healthy FHIR server holding the synthetic patient of tests/api/requests."""
    if path.startswith("/Patient/"):
        return json_reply(rq.PATIENT)
    if path.startswith("/Condition"):
        return json_reply(rq.searchset(rq.B_ALL))
    return json_reply(rq.searchset())


def _stream(total: int, chunk: int = 1024 * 1024) -> Iterator[bytes]:
    yield b'{"resourceType": "Bundle", "type": "searchset", "entry": [], "pad": "'
    for _ in range(total // chunk):
        yield b"x" * chunk
    yield b'"}'


def _trickle() -> Iterator[bytes]:
    for _ in range(30):  # bounded: 30 bytes over 3 s at most
        time.sleep(0.1)
        yield b" "


FAULTS: dict[str, Fault] = {
    "timeout": lambda path, other: Reply(sleep=BUDGET + 2),
    "connection-reset": lambda path, other: Reply(reset=True),
    "http-401": lambda path, other: json_reply({"resourceType": "OperationOutcome"}, 401),
    "http-403": lambda path, other: json_reply({"resourceType": "OperationOutcome"}, 403),
    "http-404": lambda path, other: json_reply({"resourceType": "OperationOutcome"}, 404),
    "http-500": lambda path, other: Reply(500, b"<html>boom</html>", {"Content-Type": "text/html"}),
    "invalid-json": lambda path, other: Reply(
        200, b'{"resourceType": "Bundle", "entry": [', {"Content-Type": "application/fhir+json"}
    ),
    "html-not-json": lambda path, other: Reply(200, b"<html/>", {"Content-Type": "text/html"}),
    "wrong-resource-type": lambda path, other: json_reply({"resourceType": "Basic", "id": "x"}),
    "bundle-50mb": lambda path, other: Reply(
        200, b"".join(_stream(FIFTY_MB)), {"Content-Type": "application/fhir+json"}
    ),
    "bundle-50mb-chunked": lambda path, other: Reply(
        200, _stream(FIFTY_MB), {"Content-Type": "application/fhir+json"}, chunked=True
    ),
    "slow-trickle": lambda path, other: Reply(
        200, _trickle(), {"Content-Type": "application/fhir+json"}, chunked=True
    ),
    "endless-next": lambda path, other: json_reply(
        {**rq.searchset(), "link": [{"relation": "next", "url": path + "&page=more"}]}
    ),
    "next-to-other-host": lambda path, other: json_reply(
        {**rq.searchset(), "link": [{"relation": "next", "url": other.base + path}]}
    ),
    "redirect-to-other-host": lambda path, other: Reply(
        302, headers={"Location": other.base + path}
    ),
}


@pytest.fixture
def fault_app(ehr: Ehr, tmp_path: Any) -> Flask:
    settings = app_settings(
        ehr, tmp_path, FHIR_ALLOWED_HOSTS=["127.0.0.1"], FHIR_TIMEOUT_SECONDS=BUDGET
    )
    return create_app(settings, today=lambda: TODAY, new_uuid=counting_uuids())


def _call(app: Flask, ehr: Ehr, server: LoopbackServer) -> tuple[Any, float]:
    body = rq.patient_view(fhirServer=server.base)
    del body["prefetch"]
    started = time.monotonic()
    response = app.test_client().post(PV, json=body, headers=ehr.headers(PV))
    elapsed = time.monotonic() - started
    assert_outcome(response.status_code, response.get_data(as_text=True), response.get_json())
    return response, elapsed


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_fault_on_every_query_gives_412_within_budget(
    fault_app: Flask, ehr: Ehr, loopback: LoopbackServer, attacker: LoopbackServer, fault: str
) -> None:
    loopback.route = lambda path: FAULTS[fault](path, attacker)
    response, elapsed = _call(fault_app, ehr, loopback)
    assert response.status_code == 412
    expression = response.get_json()["issue"][0]["expression"]
    assert [f"prefetch.{key}" for key in REQUIRED] == sorted(expression, key=_required_order)
    assert elapsed < BUDGET + 1
    assert loopback.hits, "the FHIR server was never asked"
    assert attacker.hits == []


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_fault_on_an_optional_query_still_gives_cards_within_budget(
    fault_app: Flask, ehr: Ehr, loopback: LoopbackServer, attacker: LoopbackServer, fault: str
) -> None:
    def route(path: str) -> Reply:
        if path.startswith(f"/{OPTIONAL_TYPE}"):
            return FAULTS[fault](path, attacker)
        return good_data(path)

    loopback.route = route
    response, elapsed = _call(fault_app, ehr, loopback)
    assert response.status_code == 200
    assert response.get_json()["cards"]
    assert elapsed < BUDGET + 1
    assert attacker.hits == []


def test_healthy_server_gives_cards_from_fetched_data(
    fault_app: Flask, ehr: Ehr, loopback: LoopbackServer
) -> None:
    loopback.route = good_data
    response, _ = _call(fault_app, ehr, loopback)
    assert response.status_code == 200
    assert response.get_json()["cards"]
    assert len(loopback.hits) == 7  # one query per prefetch key, none repeated


def _required_order(expression: str) -> int:
    return REQUIRED.index(expression.removeprefix("prefetch."))
