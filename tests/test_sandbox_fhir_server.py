"""The local FHIR R4 endpoint of the sandbox, over two tiny synthetic patients.

Its SMART App Launch side (authorize, token, bearer tokens) is in test_sandbox_smart_server.py.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from sandbox.fhir_server import create_fhir_app
from tests.sandbox_fhir_support import PATIENT_A, PATIENT_B, TODAY, collection_bundle, fhir_app


@pytest.fixture
def clock() -> list[float]:
    return [1_000_000.0]


@pytest.fixture
def app(clock: list[float]) -> Flask:
    return fhir_app(clock)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def _ids(bundle: dict) -> list[str]:
    return [e["resource"]["id"] for e in bundle.get("entry", [])]


def test_metadata_is_an_r4_capability_statement(client: FlaskClient) -> None:
    response = client.get("/metadata")
    body = response.get_json(force=True)
    assert response.content_type == "application/fhir+json"
    assert (body["resourceType"], body["fhirVersion"]) == ("CapabilityStatement", "4.0.1")
    types = {r["type"] for r in body["rest"][0]["resource"]}
    assert {"Patient", "Observation", "ResearchSubject"} <= types


def test_read_returns_the_resource(client: FlaskClient) -> None:
    response = client.get("/Patient/pt-a")
    assert response.status_code == 200
    assert response.get_json(force=True)["birthDate"] == "2019-05-14"


@pytest.mark.parametrize("path", ["/Patient/nobody", "/Basic/x", "/Unknown?patient=pt-a"])
def test_unknown_id_or_type_is_404_operation_outcome(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.get_json(force=True)["resourceType"] == "OperationOutcome"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Observation?patient=pt-a&status=final", ["wbc-1", "wbc-2", "anc-1", "wt-1"]),
        ("Observation?patient=Patient/pt-b", ["wbc-b"]),
        ("Observation?subject=Patient/pt-a&code=http://loinc.org|6690-2", ["wbc-1", "wbc-2"]),
        ("Observation?patient=pt-a&code=751-8,29463-7&status=final", ["anc-1", "wt-1"]),
        ("Observation?patient=pt-a&category=vital-signs", ["wt-1"]),
        ("Observation?patient=pt-a&code=http://other|6690-2", []),
        ("Observation?patient=pt-a&code=6690-2&date=ge2026-01-10", ["wbc-2"]),
        ("Observation?patient=pt-a&date=lt2026-01-20&date=gt2026-01-01", ["wbc-1"]),
        ("Observation?patient=pt-a&date=2026-02", ["anc-1", "wt-1", "anc-0"]),
        ("Observation?patient=pt-a&status=final&_sort=-date", ["anc-1", "wt-1", "wbc-2", "wbc-1"]),
        ("MedicationRequest?patient=pt-a&code=282388&status=active", ["med-a"]),
        ("ResearchSubject?patient=pt-a", ["rs-a"]),
        ("Condition?patient=pt-b", []),
    ],
)
def test_search_filters_by_the_supported_parameters(
    client: FlaskClient, query: str, expected: list[str]
) -> None:
    bundle = client.get(f"/{query}").get_json(force=True)
    assert bundle["type"] == "searchset"
    assert _ids(bundle) == expected
    assert bundle["total"] == len(expected)


def test_search_without_matches_has_no_entry_array(client: FlaskClient) -> None:
    bundle = client.get("/Condition?patient=pt-b").get_json(force=True)
    assert "entry" not in bundle
    assert bundle["link"][0]["relation"] == "self"


def test_paging_follows_next_links_to_the_end(client: FlaskClient) -> None:
    url, pages, seen = "/Observation?patient=pt-a&_count=2&_sort=date", 0, []
    while url:
        bundle = client.get(url).get_json(force=True)
        assert bundle["total"] == 5
        seen += _ids(bundle)
        pages += 1
        nexts = [link["url"] for link in bundle["link"] if link["relation"] == "next"]
        url = urlsplit(nexts[0])._replace(scheme="", netloc="").geturl() if nexts else ""
    assert pages == 3
    assert seen == ["wbc-1", "wbc-2", "wt-1", "anc-1", "anc-0"]


def test_post_search_matches_get_search(client: FlaskClient) -> None:
    posted = client.post(
        "/Observation/_search", data={"patient": "pt-a", "code": "6690-2"}
    ).get_json(force=True)
    fetched = client.get("/Observation?patient=pt-a&code=6690-2").get_json(force=True)
    assert _ids(posted) == _ids(fetched) == ["wbc-1", "wbc-2"]


@pytest.mark.parametrize(
    "query",
    [
        "Observation?value-quantity=5",
        "Observation?code:in=http://vs",
        "Observation?_count=x",
        "Observation?date=yesterday",
        "Observation?date=sa2026-01-01",
    ],
)
def test_unsupported_search_is_400_operation_outcome(client: FlaskClient, query: str) -> None:
    response = client.get(f"/{query}")
    assert response.status_code == 400
    assert response.get_json(force=True)["resourceType"] == "OperationOutcome"


@pytest.mark.parametrize("path", ["/Patient/pt-a", "/Patient/nobody", "/metadata"])
def test_every_response_allows_any_origin(client: FlaskClient, path: str) -> None:
    response = client.get(path, headers={"Origin": "http://localhost:3000"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_preflight_is_answered_without_a_token(client: FlaskClient) -> None:
    response = client.options(
        "/Observation", headers={"Origin": "http://x", "Access-Control-Request-Method": "GET"}
    )
    assert response.status_code == 204
    assert "Authorization" in response.headers["Access-Control-Allow-Headers"]


def test_pathway_prefetch_queries_return_their_resource_types(client: FlaskClient) -> None:
    from hooks.prefetch import PATHWAY_PREFETCH

    for key, template in PATHWAY_PREFETCH.items():
        path = "/" + template.replace("{{context.patientId}}", "pt-a")
        body = client.get(path).get_json(force=True)
        expected_type = template.split("/")[0].split("?")[0]
        if "?" not in template:
            assert body["resourceType"] == expected_type, key
            continue
        assert body["resourceType"] == "Bundle", key
        found = {e["resource"]["resourceType"] for e in body.get("entry", [])}
        assert found == ({expected_type} & {r["resourceType"] for r in PATIENT_A}), key


def test_latency_is_injected_per_request() -> None:
    slept: list[float] = []
    app = create_fhir_app(
        bundles=[collection_bundle(*PATIENT_B)], latency_ms=250, sleep=slept.append
    )
    app.test_client().get("/Patient/pt-b")
    assert slept == [0.25]


def test_default_app_serves_every_sandbox_patient() -> None:
    from sandbox import patients

    client = create_fhir_app(today=TODAY).test_client()
    for name in patients.names():
        patient_id = patients.patient_id(patients.load_bundle(name, TODAY))
        assert client.get(f"/Patient/{patient_id}").status_code == 200, name


def test_answers_what_the_cds_hooks_sandbox_asks_at_start_up(client: FlaskClient) -> None:
    # The CDS Hooks Sandbox reads /metadata, then lists /Patient (Accept: application/json+fhir),
    # then reads the chosen patient; an open server must answer all three without a token.
    legacy_accept = {"Accept": "application/json+fhir"}
    assert client.get("/metadata", headers=legacy_accept).get_json()["fhirVersion"] == "4.0.1"
    listing = client.get("/Patient", headers=legacy_accept).get_json()
    assert listing["resourceType"] == "Bundle"
    assert listing["total"] >= 1
    first = listing["entry"][0]["resource"]["id"]
    assert client.get(f"/Patient/{first}", headers=legacy_accept).get_json()["id"] == first
