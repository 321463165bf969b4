"""Prefetch through the HTTP interface: fetch what is absent, trust null, 412 when impossible."""

from __future__ import annotations

import responses
from flask.testing import FlaskClient

from tests.api import requests as rq
from tests.conftest import FHIR_BASE, Ehr

PV = "/cds-services/b-all-pathway"


def call(client: FlaskClient, ehr: Ehr, body: dict) -> object:
    return client.post(PV, json=body, headers=ehr.headers(PV))


@responses.activate
def test_absent_keys_are_fetched_from_the_fhir_server_with_the_token(
    client: FlaskClient, ehr: Ehr
) -> None:
    request = rq.patient_view(
        fhirAuthorization={
            "access_token": "secret-token-value",
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "patient/*.read",
            "subject": "cds-service",
        }
    )
    del request["prefetch"]["conditions"]
    responses.get(f"{FHIR_BASE}/Condition", json=rq.searchset(rq.B_ALL))
    response = call(client, ehr, request)
    assert response.status_code == 200
    assert len(responses.calls) == 1
    sent = responses.calls[0].request
    assert sent.headers["Authorization"] == "Bearer secret-token-value"
    assert f"patient={rq.PATIENT_ID}" in sent.url
    assert response.get_json()["cards"], "the fetched B-ALL condition places the child"


@responses.activate
def test_null_prefetch_means_no_data_and_is_not_refetched(client: FlaskClient, ehr: Ehr) -> None:
    request = rq.patient_view()
    request["prefetch"]["procedures"] = None
    assert call(client, ehr, request).status_code == 200
    assert len(responses.calls) == 0


def test_required_data_that_cannot_be_had_is_412_naming_the_keys(
    client: FlaskClient, ehr: Ehr
) -> None:
    request = rq.patient_view()
    del request["fhirServer"]
    del request["prefetch"]["conditions"]
    del request["prefetch"]["observations"]
    response = call(client, ehr, request)
    assert response.status_code == 412
    outcome = response.get_json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert "conditions" in outcome["issue"][0]["diagnostics"]
    assert "observations" in outcome["issue"][0]["diagnostics"]


@responses.activate
def test_fhir_server_outside_the_allowed_hosts_is_never_contacted(
    client: FlaskClient, ehr: Ehr
) -> None:
    request = rq.patient_view(fhirServer="https://attacker.example/fhir")
    del request["prefetch"]["conditions"]
    response = call(client, ehr, request)
    assert response.status_code == 412
    assert len(responses.calls) == 0


@responses.activate
def test_operation_outcome_in_prefetch_is_treated_as_absent(client: FlaskClient, ehr: Ehr) -> None:
    request = rq.patient_view()
    request["prefetch"]["conditions"] = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "timeout"}],
    }
    responses.get(f"{FHIR_BASE}/Condition", json=rq.searchset(rq.B_ALL))
    assert call(client, ehr, request).status_code == 200
    assert len(responses.calls) == 1


def test_prefetched_patient_that_is_not_the_context_patient_is_400(
    client: FlaskClient, ehr: Ehr
) -> None:
    request = rq.patient_view()
    request["prefetch"]["patient"] = {**rq.PATIENT, "id": "someone-else"}
    response = call(client, ehr, request)
    assert response.status_code == 400
    assert response.get_json()["issue"][0]["expression"] == ["prefetch.patient"]


def test_a_diagnosis_of_another_patient_does_not_place_this_child(
    client: FlaskClient, ehr: Ehr
) -> None:
    request = rq.patient_view()
    foreign = {**rq.B_ALL, "subject": {"reference": "Patient/someone-else"}}
    request["prefetch"]["conditions"] = rq.searchset(foreign)
    response = call(client, ehr, request)
    assert response.status_code == 200
    assert response.get_json() == {"cards": []}
