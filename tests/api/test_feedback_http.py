"""POST /cds-services/{id}/feedback: validated, stored once, joined to the card ledger."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.api import requests as rq
from tests.conftest import Ehr

PV = "/cds-services/b-all-pathway"
FEEDBACK = PV + "/feedback"


def send(client: FlaskClient, ehr: Ehr, body: Any, path: str = FEEDBACK) -> Any:
    return client.post(path, json=body, headers=ehr.headers(path))


def item(card: str, **extra: Any) -> dict[str, Any]:
    return {
        "card": card,
        "outcome": "overridden",
        "outcomeTimestamp": "2026-03-02T10:00:00.123Z",
        **extra,
    }


def test_the_same_feedback_twice_is_stored_once(app: Flask, client: FlaskClient, ehr: Ehr) -> None:
    body = {"feedback": [item("card-1", overrideReason={"reason": {"code": "not-applicable"}})]}
    assert send(client, ehr, body).status_code == 200
    assert send(client, ehr, body).status_code == 200
    assert app.extensions["cds"].store.count_feedback() == 1


def test_accepted_suggestion_feedback_is_stored(app: Flask, client: FlaskClient, ehr: Ehr) -> None:
    body = {
        "feedback": [
            {
                "card": "card-2",
                "outcome": "accepted",
                "acceptedSuggestions": [{"id": "sugg-1"}],
                "outcomeTimestamp": "2026-03-02T10:00:00Z",
            }
        ]
    }
    assert send(client, ehr, body).status_code == 200
    assert app.extensions["cds"].store.count_feedback() == 1


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"feedback": []},
        {
            "feedback": [
                {"card": "c", "outcome": "ignored", "outcomeTimestamp": "2026-03-02T10:00:00Z"}
            ]
        },
        {"feedback": [{"card": "c", "outcome": "accepted"}]},
        {"feedback": [{"card": "c", "outcome": "accepted", "outcomeTimestamp": "yesterday"}]},
        {"feedback": [item("c", acceptedSuggestions=[{"label": "no id"}])]},
    ],
)
def test_malformed_feedback_is_400(client: FlaskClient, ehr: Ehr, body: Any) -> None:
    response = send(client, ehr, body)
    assert response.status_code == 400
    assert response.get_json()["resourceType"] == "OperationOutcome"


def test_feedback_for_an_unknown_service_is_404(client: FlaskClient, ehr: Ehr) -> None:
    path = "/cds-services/nope/feedback"
    assert send(client, ehr, {"feedback": [item("c")]}, path=path).status_code == 404


def test_feedback_report_joins_feedback_to_issued_cards(
    app: Flask, client: FlaskClient, ehr: Ehr, tmp_path: Any
) -> None:
    cards = client.post(PV, json=rq.patient_view(), headers=ehr.headers(PV)).get_json()["cards"]
    assert cards, "the test patient should get at least a position card"
    send(client, ehr, {"feedback": [item(cards[0]["uuid"])]})
    step = cards[0]["source"]["topic"]["code"]
    report = subprocess.run(
        [sys.executable, "-m", "cds_service", "feedback-report"],
        env={"CDS_DATABASE_URL": app.config["DATABASE_URL"], "PATH": ""},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert step in report
    assert "100" in report  # one card, overridden: a 100 % override rate
