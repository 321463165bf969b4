"""GET /cds-services: the three services, with prefetch templates a conformant EHR can fulfil."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl

import jsonschema
from flask.testing import FlaskClient

from cds_service.protocol import schema
from tests.conftest import Ehr

ALLOWED_TOKENS = {
    "{{context.patientId}}",
    "{{context.userId}}",
    "{{context.encounterId}}",
    "{{userPractitionerId}}",
    "{{userPractitionerRoleId}}",
    "{{userPatientId}}",
    "{{userRelatedPersonId}}",
}
# Search parameters the spec lets a prefetch template use (reference, token, date, _count, _sort).
ALLOWED_PARAMS = {"patient", "subject", "code", "category", "status", "date", "_count", "_sort"}


def discover(client: FlaskClient, ehr: Ehr) -> dict:
    response = client.get("/cds-services", headers=ehr.headers("/cds-services"))
    assert response.status_code == 200
    return response.get_json()


def test_discovery_lists_the_three_b_all_services(client: FlaskClient, ehr: Ehr) -> None:
    services = {s["id"]: s for s in discover(client, ehr)["services"]}
    assert {sid: s["hook"] for sid, s in services.items()} == {
        "b-all-pathway": "patient-view",
        "b-all-order-select": "order-select",
        "b-all-order-sign": "order-sign",
    }
    for service in services.values():
        assert service["title"]
        assert service["description"]


def test_discovery_document_matches_the_schema(client: FlaskClient, ehr: Ehr) -> None:
    jsonschema.validate(discover(client, ehr), schema("discovery"))


def test_prefetch_reads_everything_the_pathway_needs(client: FlaskClient, ehr: Ehr) -> None:
    for service in discover(client, ehr)["services"]:
        types = {template.split("?")[0].split("/")[0] for template in service["prefetch"].values()}
        assert types == {
            "Patient",
            "Condition",
            "Observation",
            "MedicationRequest",
            "Procedure",
            "ServiceRequest",
            "ResearchSubject",
        }


def test_prefetch_uses_only_spec_tokens_and_search_parameters(
    client: FlaskClient, ehr: Ehr
) -> None:
    for service in discover(client, ehr)["services"]:
        for template in service["prefetch"].values():
            assert set(re.findall(r"\{\{[^}]*\}\}", template)) <= ALLOWED_TOKENS
            _, _, query = template.partition("?")
            params = {name.split(":")[0] for name, _ in parse_qsl(query)}
            assert params <= ALLOWED_PARAMS, template


def test_discovery_without_a_jwt_is_401(client: FlaskClient) -> None:
    response = client.get("/cds-services")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_health_reports_knowledge_version_without_auth(client: FlaskClient) -> None:
    body = client.get("/healthz").get_json()
    assert body["status"] == "ok"
    assert re.match(r"^\d{4}\.\d+\.\d+$", body["knowledgeVersion"])
