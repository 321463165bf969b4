"""The SMART pathway viewer: the whole EHR-launch OAuth dance against a mocked EHR."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from flask import Flask
from flask.testing import FlaskClient

from cds_service import create_app
from tests.api import requests as rq
from tests.conftest import TODAY, Ehr, app_settings

ISS = "https://ehr.test.example/fhir"
AUTHORIZE = "https://ehr.test.example/oauth/authorize"
TOKEN = "https://ehr.test.example/oauth/token"
V2_CONFIG = {
    "authorization_endpoint": AUTHORIZE,
    "token_endpoint": TOKEN,
    "capabilities": ["launch-ehr", "permission-v2", "client-public"],
    "code_challenge_methods_supported": ["S256"],
}


@pytest.fixture
def viewer_app(ehr: Ehr, tmp_path: Any) -> Flask:
    settings = app_settings(
        ehr,
        tmp_path,
        SMART_CLIENT_ID="b-all-viewer",
        SMART_ALLOWED_ISS_HOSTS=["ehr.test.example"],
        SECRET_KEY="test-secret",
    )
    return create_app(settings, today=lambda: TODAY)


def start(client: FlaskClient, config: dict[str, Any] = V2_CONFIG) -> dict[str, list[str]]:
    responses.get(f"{ISS}/.well-known/smart-configuration", json=config)
    response = client.get(f"/smart/launch?iss={ISS}&launch=launch-123")
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith(AUTHORIZE + "?")
    return parse_qs(urlsplit(location).query)


def serve_patient_data() -> None:
    bundle = rq.prefetch()
    responses.get(f"{ISS}/Patient/{rq.PATIENT_ID}", json=bundle["patient"])
    for key, resource_type in [
        ("conditions", "Condition"),
        ("observations", "Observation"),
        ("medications", "MedicationRequest"),
        ("procedures", "Procedure"),
        ("serviceRequests", "ServiceRequest"),
        ("researchSubjects", "ResearchSubject"),
    ]:
        responses.get(f"{ISS}/{resource_type}", json=bundle[key])


def grant(**extra: Any) -> dict[str, Any]:
    return {
        "access_token": "ehr-access-token",
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": "launch patient/*.rs",
        "patient": rq.PATIENT_ID,
        **extra,
    }


@responses.activate
def test_launch_redirects_to_authorize_with_pkce_state_launch_and_aud(viewer_app: Flask) -> None:
    query = start(viewer_app.test_client())
    assert query["response_type"] == ["code"]
    assert query["client_id"] == ["b-all-viewer"]
    assert query["launch"] == ["launch-123"]
    assert query["aud"] == [ISS]
    assert query["code_challenge_method"] == ["S256"]
    assert query["scope"] == ["launch openid fhirUser patient/*.rs"]
    assert len(query["state"][0]) >= 32


@responses.activate
def test_v1_only_server_gets_v1_scopes(viewer_app: Flask) -> None:
    config = {**V2_CONFIG, "capabilities": ["launch-ehr"], "scopes_supported": ["patient/*.read"]}
    query = start(viewer_app.test_client(), config)
    assert query["scope"] == ["launch openid fhirUser patient/*.read"]


@responses.activate
def test_whole_dance_renders_the_page_with_the_highlighted_step(viewer_app: Flask) -> None:
    client = viewer_app.test_client()
    query = start(client)
    responses.post(TOKEN, json=grant(appContext=json.dumps({"step": "induction"})))
    serve_patient_data()
    callback = client.get(f"/smart/callback?code=abc&state={query['state'][0]}")
    assert callback.status_code == 302
    assert "ehr-access-token" not in callback.headers.get("Set-Cookie", "")
    assert "HttpOnly" in callback.headers["Set-Cookie"]
    page = client.get("/smart/app")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'class="step current' in html
    assert "<svg" in html
    token_call = next(c for c in responses.calls if c.request.url == TOKEN)
    form = parse_qs(str(token_call.request.body))
    verifier = form["code_verifier"][0]
    digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    assert digest.decode() == query["code_challenge"][0]
    fhir_calls = [c for c in responses.calls if c.request.url.startswith(ISS + "/Condition")]
    assert fhir_calls[0].request.headers["Authorization"] == "Bearer ehr-access-token"


@responses.activate
def test_state_mismatch_is_refused_without_calling_the_token_endpoint(viewer_app: Flask) -> None:
    client = viewer_app.test_client()
    start(client)
    response = client.get("/smart/callback?code=abc&state=forged")
    assert response.status_code == 400
    assert not any(c.request.url == TOKEN for c in responses.calls)


@responses.activate
def test_a_state_cannot_be_used_twice(viewer_app: Flask) -> None:
    client = viewer_app.test_client()
    state = start(client)["state"][0]
    responses.post(TOKEN, json=grant())
    serve_patient_data()
    assert client.get(f"/smart/callback?code=abc&state={state}").status_code == 302
    assert client.get(f"/smart/callback?code=abc&state={state}").status_code == 400


@responses.activate
@pytest.mark.parametrize(
    ("token_reply", "status"),
    [
        ({"status": 400, "json": {"error": "invalid_grant"}}, 401),
        ({"json": {"token_type": "Bearer"}}, 401),
        ({"json": {"access_token": "t", "token_type": "Bearer"}}, 400),
        ({"body": "<html>oops</html>"}, 502),
    ],
)
def test_token_errors_give_a_clear_page(
    viewer_app: Flask, token_reply: dict[str, Any], status: int
) -> None:
    client = viewer_app.test_client()
    state = start(client)["state"][0]
    responses.post(TOKEN, **token_reply)
    response = client.get(f"/smart/callback?code=abc&state={state}")
    assert response.status_code == status
    assert "Traceback" not in response.get_data(as_text=True)


@responses.activate
def test_denied_authorization_shows_a_page(viewer_app: Flask) -> None:
    response = viewer_app.test_client().get("/smart/callback?error=access_denied&state=x")
    assert response.status_code == 403
    assert "not granted" in response.get_data(as_text=True)


def test_viewer_without_a_session_says_it_expired(viewer_app: Flask) -> None:
    response = viewer_app.test_client().get("/smart/app")
    assert response.status_code == 401
    assert "expired" in response.get_data(as_text=True)


@responses.activate
def test_launch_from_an_unlisted_fhir_host_is_refused_without_contacting_it(
    viewer_app: Flask,
) -> None:
    response = viewer_app.test_client().get(
        "/smart/launch?iss=https://attacker.example/fhir&launch=x"
    )
    assert response.status_code == 403
    assert len(responses.calls) == 0


@responses.activate
def test_unreachable_fhir_server_shows_a_page(viewer_app: Flask) -> None:
    client = viewer_app.test_client()
    state = start(client)["state"][0]
    responses.post(TOKEN, json=grant())
    assert client.get(f"/smart/callback?code=abc&state={state}").status_code == 302
    responses.get(f"{ISS}/Patient/{rq.PATIENT_ID}", status=503)
    page = client.get("/smart/app")
    assert page.status_code == 502
    assert "could not be read" in page.get_data(as_text=True)


@responses.activate
def test_confidential_client_authenticates_with_basic(ehr: Ehr, tmp_path: Any) -> None:
    app = create_app(
        app_settings(
            ehr,
            tmp_path,
            SMART_CLIENT_ID="b-all-viewer",
            SMART_CLIENT_SECRET="s3cret",
            SMART_ALLOWED_ISS_HOSTS=["ehr.test.example"],
        )
    )
    client = app.test_client()
    state = start(client)["state"][0]
    responses.post(TOKEN, json=grant())
    client.get(f"/smart/callback?code=abc&state={state}")
    token_call = next(c for c in responses.calls if c.request.url == TOKEN)
    expected = base64.b64encode(b"b-all-viewer:s3cret").decode()
    assert token_call.request.headers["Authorization"] == f"Basic {expected}"
    assert "client_id" not in parse_qs(str(token_call.request.body))
