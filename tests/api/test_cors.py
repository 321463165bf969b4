"""CORS for browser clients: preflight without a JWT, headers on errors too."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from cds_service import create_app
from tests.conftest import Ehr, app_settings

SANDBOX = "https://sandbox.cds-hooks.org"
PATHS = [
    "/cds-services",
    "/cds-services/b-all-pathway",
    "/cds-services/b-all-order-sign/feedback",
]


def browser_client(ehr: Ehr, tmp_path: Any, origins: list[str]) -> FlaskClient:
    return create_app(app_settings(ehr, tmp_path, CORS_ORIGINS=origins)).test_client()


def preflight(client: FlaskClient, path: str, origin: str = SANDBOX) -> Any:
    return client.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )


@pytest.mark.parametrize("path", PATHS)
def test_preflight_is_answered_without_a_jwt(ehr: Ehr, tmp_path: Any, path: str) -> None:
    response = preflight(browser_client(ehr, tmp_path, ["*"]), path)
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Authorization" in response.headers["Access-Control-Allow-Headers"]
    assert "Content-Type" in response.headers["Access-Control-Allow-Headers"]
    assert set(response.headers["Access-Control-Allow-Methods"].split(", ")) == {
        "GET",
        "POST",
        "OPTIONS",
    }


def test_error_responses_carry_cors_headers(ehr: Ehr, tmp_path: Any) -> None:
    client = browser_client(ehr, tmp_path, ["*"])
    response = client.get("/cds-services", headers={"Origin": SANDBOX})
    assert response.status_code == 401
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_allowlist_echoes_only_listed_origins(ehr: Ehr, tmp_path: Any) -> None:
    client = browser_client(ehr, tmp_path, [SANDBOX])
    allowed = preflight(client, "/cds-services")
    assert allowed.headers["Access-Control-Allow-Origin"] == SANDBOX
    assert "Origin" in allowed.headers["Vary"]
    refused = preflight(client, "/cds-services", origin="https://evil.example")
    assert "Access-Control-Allow-Origin" not in refused.headers


def test_no_cors_headers_by_default(client: FlaskClient) -> None:
    assert "Access-Control-Allow-Origin" not in preflight(client, "/cds-services").headers
