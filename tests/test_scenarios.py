"""Every scenario of sandbox/scenarios.toml, through HTTP, as an EHR drives the service.

One source of truth: the manifest says which step codes each patient and hook must produce. Each
scenario runs twice: with the prefetch an EHR would send, and with no prefetch at all so the service
fetches everything from the sandbox's local FHIR endpoint over real loopback HTTP.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from cds_service import create_app
from cds_service.fhir.models import resource_errors
from cds_service.protocol import response_errors
from sandbox.ehr import build_request
from sandbox.fhir_server import create_fhir_app
from sandbox.scenarios import Scenario, load_scenarios
from tests.conftest import TODAY, Ehr, app_settings, counting_uuids

SCENARIOS = load_scenarios()
SERVICE_BY_HOOK = {
    "patient-view": "b-all-pathway",
    "order-select": "b-all-order-select",
    "order-sign": "b-all-order-sign",
}


@pytest.fixture(scope="module")
def fhir_url() -> Iterator[str]:
    server = make_server("127.0.0.1", 0, create_fhir_app(today=TODAY), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="module")
def service(ehr: Ehr, tmp_path_factory: pytest.TempPathFactory) -> Flask:
    settings = app_settings(
        ehr, tmp_path_factory.mktemp("scenarios"), FHIR_ALLOWED_HOSTS=["127.0.0.1"]
    )
    return create_app(settings, today=lambda: TODAY, new_uuid=counting_uuids())


def run(service: Flask, ehr: Ehr, scenario: Scenario, fhir_url: str, prefetch: bool) -> Any:
    body = build_request(scenario, None, TODAY, fhir_url=fhir_url, prefetch=prefetch)
    path = f"/cds-services/{SERVICE_BY_HOOK[scenario.hook]}"
    response = service.test_client().post(path, json=body, headers=ehr.headers(path))
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


@pytest.mark.parametrize("prefetch", [True, False], ids=["prefetch", "no-prefetch"])
@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_scenario_produces_exactly_the_expected_steps(
    service: Flask, ehr: Ehr, fhir_url: str, scenario: Scenario, prefetch: bool
) -> None:
    cards = run(service, ehr, scenario, fhir_url, prefetch)["cards"]
    assert sorted(card["source"]["topic"]["code"] for card in cards) == sorted(scenario.expect)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_scenario_cards_are_spec_valid_with_valid_r4_suggestions(
    service: Flask, ehr: Ehr, fhir_url: str, scenario: Scenario
) -> None:
    response = run(service, ehr, scenario, fhir_url, prefetch=True)
    assert response_errors(response) == []
    for card in response["cards"]:
        for suggestion in card.get("suggestions", []):
            for action in suggestion["actions"]:
                if "resource" in action:
                    assert resource_errors(action["resource"]) == [], card["summary"]


def test_every_pathway_step_is_reachable_through_http(
    service: Flask, ehr: Ehr, fhir_url: str
) -> None:
    produced = {
        card["source"]["topic"]["code"]
        for scenario in SCENARIOS
        for card in run(service, ehr, scenario, fhir_url, prefetch=True)["cards"]
    }
    catalogue = service.extensions["cds"].knowledge.step_codes
    assert catalogue - produced == set(), "steps no test patient ever produces"
