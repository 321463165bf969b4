"""The SMART App Launch side of the sandbox FHIR server: EHR launch, authorize, token, bearer."""

from __future__ import annotations

import base64
import hashlib
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.sandbox_fhir_support import fhir_app

VERIFIER = "v" * 50
CHALLENGE = (
    base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=").decode()
)
REDIRECT = "http://127.0.0.1:5000/smart/callback"


@pytest.fixture
def clock() -> list[float]:
    return [1_000_000.0]


@pytest.fixture
def app(clock: list[float]) -> Flask:
    return fhir_app(clock)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


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
