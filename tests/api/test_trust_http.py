"""The JWT check as the HTTP layer applies it: exact aud per endpoint, 401 without detail."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from cds_service import create_app
from tests.api import requests as rq
from tests.conftest import BASE_URL, Ehr, app_settings

PV = "/cds-services/b-all-pathway"
FEEDBACK = PV + "/feedback"


def test_valid_token_for_the_service_url_is_accepted(client: FlaskClient, ehr: Ehr) -> None:
    response = client.post(PV, json=rq.patient_view(), headers=ehr.headers(PV))
    assert response.status_code == 200


@pytest.mark.parametrize(
    "aud",
    [BASE_URL + "/cds-services", BASE_URL + FEEDBACK, BASE_URL + "/cds-services/b-all-order-sign"],
)
def test_token_for_another_endpoint_is_refused(client: FlaskClient, ehr: Ehr, aud: str) -> None:
    response = client.post(PV, json=rq.patient_view(), headers=ehr.headers(PV, aud=aud))
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    body = response.get_json()
    assert body["resourceType"] == "OperationOutcome"
    assert "aud" not in body["issue"][0]["diagnostics"]


def test_feedback_token_has_the_feedback_url_as_audience(client: FlaskClient, ehr: Ehr) -> None:
    feedback = {
        "feedback": [
            {"card": "c-1", "outcome": "overridden", "outcomeTimestamp": "2026-03-02T10:00:00Z"}
        ]
    }
    assert client.post(FEEDBACK, json=feedback, headers=ehr.headers(FEEDBACK)).status_code == 200
    assert client.post(FEEDBACK, json=feedback, headers=ehr.headers(PV)).status_code == 401


def test_replayed_token_is_refused(client: FlaskClient, ehr: Ehr) -> None:
    headers = ehr.headers(PV)
    assert client.post(PV, json=rq.patient_view(), headers=headers).status_code == 200
    assert client.post(PV, json=rq.patient_view(), headers=headers).status_code == 401


def test_auth_is_checked_before_the_body_is_read(client: FlaskClient) -> None:
    response = client.post(PV, data=b"{broken", content_type="application/json")
    assert response.status_code == 401


def test_auth_off_must_be_explicit_and_is_logged(
    ehr: Ehr, tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(app_settings(ehr, tmp_path, AUTH="off"))
    assert app.test_client().get("/cds-services").status_code == 200
    assert any("auth_disabled" in r.getMessage() for r in caplog.records)
