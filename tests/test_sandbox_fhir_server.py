"""The local FHIR R4 + SMART endpoint of the sandbox, over two tiny synthetic patients."""

from __future__ import annotations

import base64
import hashlib
import itertools
from datetime import date
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from sandbox.fhir_server import create_fhir_app

TODAY = date(2026, 3, 2)
LOINC = "http://loinc.org"
OBS_CAT = "http://terminology.hl7.org/CodeSystem/observation-category"
VERIFIER = "v" * 50
CHALLENGE = (
    base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=").decode()
)
REDIRECT = "http://127.0.0.1:5000/smart/callback"


def _obs(oid: str, patient: str, code: str, day: str, *, category: str = "laboratory") -> dict:
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "category": [{"coding": [{"system": OBS_CAT, "code": category}]}],
        "code": {"coding": [{"system": LOINC, "code": code}]},
        "subject": {"reference": f"Patient/{patient}"},
        "effectiveDateTime": f"{day}T08:00:00Z",
    }


def _bundle(*resources: dict) -> dict:
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": r} for r in resources],
    }


PATIENT_A = [
    {"resourceType": "Patient", "id": "pt-a", "birthDate": "2019-05-14"},
    {
        "resourceType": "Condition",
        "id": "dx-a",
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "91857003"}]},
        "subject": {"reference": "Patient/pt-a"},
        "recordedDate": "2026-01-02",
    },
    _obs("wbc-1", "pt-a", "6690-2", "2026-01-02"),
    _obs("wbc-2", "pt-a", "6690-2", "2026-01-20"),
    _obs("anc-1", "pt-a", "751-8", "2026-02-25"),
    _obs("wt-1", "pt-a", "29463-7", "2026-02-01", category="vital-signs"),
    {**_obs("anc-0", "pt-a", "751-8", "2026-02-26"), "status": "entered-in-error"},
    {
        "resourceType": "MedicationRequest",
        "id": "med-a",
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": {
            "coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "282388"}]
        },
        "subject": {"reference": "Patient/pt-a"},
    },
    {
        "resourceType": "ResearchSubject",
        "id": "rs-a",
        "status": "on-study",
        "study": {"reference": "ResearchStudy/aall1731"},
        "individual": {"reference": "Patient/pt-a"},
    },
]
PATIENT_B = [
    {"resourceType": "Patient", "id": "pt-b", "birthDate": "2025-09-01"},
    _obs("wbc-b", "pt-b", "6690-2", "2026-02-10"),
]


@pytest.fixture
def clock() -> list[float]:
    return [1_000_000.0]


@pytest.fixture
def app(clock: list[float]) -> Flask:
    tokens = (f"tok-{n}" for n in itertools.count(1))
    return create_fhir_app(
        bundles=[_bundle(*PATIENT_A), _bundle(*PATIENT_B)],
        clients={"viewer": None, "vault": "s3cret"},
        clock=lambda: clock[0],
        new_token=lambda: next(tokens),
    )


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
    app = create_fhir_app(bundles=[_bundle(*PATIENT_B)], latency_ms=250, sleep=slept.append)
    app.test_client().get("/Patient/pt-b")
    assert slept == [0.25]


def test_unknown_bearer_token_is_refused(client: FlaskClient) -> None:
    response = client.get("/Patient/pt-a", headers={"Authorization": "Bearer made-up"})
    assert response.status_code == 401
    assert response.get_json(force=True)["resourceType"] == "OperationOutcome"


# --- SMART App Launch -------------------------------------------------------------------------


def test_smart_configuration_advertises_ehr_launch_and_pkce(client: FlaskClient) -> None:
    config = client.get("/.well-known/smart-configuration").get_json()
    assert config["authorization_endpoint"].endswith("/auth/authorize")
    assert config["token_endpoint"].endswith("/auth/token")
    assert {"launch-ehr", "client-public", "client-confidential-symmetric"} <= set(
        config["capabilities"]
    )
    assert config["code_challenge_methods_supported"] == ["S256"]


def _authorize(client: FlaskClient, **overrides: str) -> Any:
    launch = client.get("/launch?patient=pt-a&appContext=step%3Dinduction").get_json()["launch"]
    params = {
        "response_type": "code",
        "client_id": "viewer",
        "redirect_uri": REDIRECT,
        "state": "st-1",
        "scope": "launch openid fhirUser patient/*.rs",
        "launch": launch,
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
        "aud": "http://localhost",
        **overrides,
    }
    return client.get("/auth/authorize", query_string=params)


def _code(client: FlaskClient, **overrides: str) -> str:
    response = _authorize(client, **overrides)
    assert response.status_code == 302
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query["state"] == ["st-1"]
    return query["code"][0]


def _exchange(client: FlaskClient, code: str, **overrides: str) -> Any:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": VERIFIER,
        "client_id": "viewer",
        **overrides,
    }
    return client.post("/auth/token", data=form)


def test_authorize_then_token_gives_a_patient_bound_bearer_token(client: FlaskClient) -> None:
    body = _exchange(client, _code(client)).get_json()
    assert body["token_type"] == "Bearer"
    assert (body["patient"], body["appContext"]) == ("pt-a", "step=induction")
    assert body["scope"] == "launch patient/*.rs"  # no id_token here, so no openid/fhirUser
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    assert client.get("/Patient/pt-a", headers=headers).status_code == 200


@pytest.mark.parametrize(
    "overrides",
    [
        {"code_verifier": "w" * 50},
        {"redirect_uri": "http://127.0.0.1:5000/elsewhere"},
    ],
)
def test_token_with_wrong_verifier_or_redirect_is_invalid_grant(
    client: FlaskClient, overrides: dict[str, str]
) -> None:
    response = _exchange(client, _code(client), **overrides)
    assert response.status_code == 400
    assert response.get_json() == {"error": "invalid_grant"}


def test_code_is_refused_the_second_time(client: FlaskClient) -> None:
    code = _code(client)
    assert _exchange(client, code).status_code == 200
    assert _exchange(client, code).get_json() == {"error": "invalid_grant"}


@pytest.mark.parametrize(
    "overrides",
    [
        {"code_challenge_method": "plain"},
        {"code_challenge": ""},
        {"launch": "not-a-launch"},
        {"state": ""},
        {"response_type": "token"},
        {"aud": "http://other.example/fhir"},
    ],
)
def test_authorize_redirects_with_an_error_when_a_check_fails(
    client: FlaskClient, overrides: dict[str, str]
) -> None:
    response = _authorize(client, **overrides)
    assert response.status_code == 302
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert "code" not in query
    assert query["error"][0] in ("invalid_request", "unsupported_response_type")


@pytest.mark.parametrize(
    "overrides", [{"client_id": "stranger"}, {"redirect_uri": "javascript:alert(1)"}]
)
def test_authorize_never_redirects_for_unknown_client_or_bad_uri(
    client: FlaskClient, overrides: dict[str, str]
) -> None:
    assert _authorize(client, **overrides).status_code == 400


@pytest.mark.parametrize(("secret", "status"), [("s3cret", 200), ("wrong", 401)])
def test_confidential_client_authenticates_with_basic(
    client: FlaskClient, secret: str, status: int
) -> None:
    code = _code(client, client_id="vault")
    basic = base64.b64encode(f"vault:{secret}".encode()).decode()
    response = client.post(
        "/auth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": VERIFIER,
        },
        headers={"Authorization": f"Basic {basic}"},
    )
    assert response.status_code == status


def test_confidential_client_without_secret_is_refused(client: FlaskClient) -> None:
    response = _exchange(client, _code(client, client_id="vault"), client_id="vault")
    assert response.status_code == 401


def test_expired_token_is_refused(client: FlaskClient, clock: list[float]) -> None:
    token = _exchange(client, _code(client)).get_json()["access_token"]
    clock[0] += 3601
    response = client.get("/Patient/pt-a", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


def test_launch_for_an_unknown_patient_is_404(client: FlaskClient) -> None:
    assert client.get("/launch?patient=nobody").status_code == 404


def test_default_app_serves_every_sandbox_patient() -> None:
    from sandbox import patients

    client = create_fhir_app(today=TODAY).test_client()
    for name in patients.names():
        patient_id = patients.patient_id(patients.load_bundle(name, TODAY))
        assert client.get(f"/Patient/{patient_id}").status_code == 200, name
