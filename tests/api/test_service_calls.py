"""POST /cds-services/{id}: request validation, status codes and response hygiene."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask.testing import FlaskClient

from cds_service.protocol import response_errors
from tests.api import requests as rq
from tests.conftest import Ehr

PV = "/cds-services/b-all-pathway"


def post(client: FlaskClient, ehr: Ehr, path: str, body: Any) -> Any:
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return client.post(path, data=data, content_type="application/json", headers=ehr.headers(path))


def drop(body: dict[str, Any], dotted: str) -> dict[str, Any]:
    *parents, last = dotted.split(".")
    node = body
    for part in parents:
        node = node[part]
    del node[last]
    return body


def assert_outcome(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["severity"] == "error"
    assert "Traceback" not in response.get_data(as_text=True)
    return body


@pytest.mark.parametrize(
    ("field", "expression"),
    [
        ("hook", "hook"),
        ("hookInstance", "hookInstance"),
        ("context", "context"),
        ("context.patientId", "context.patientId"),
        ("context.userId", "context.userId"),
    ],
)
def test_missing_required_member_is_400_naming_it(
    client: FlaskClient, ehr: Ehr, field: str, expression: str
) -> None:
    body = assert_outcome(post(client, ehr, PV, drop(rq.patient_view(), field)), 400)
    assert body["issue"][0]["expression"] == [expression]
    assert expression in body["issue"][0]["diagnostics"]


@pytest.mark.parametrize(
    ("changes", "expression"),
    [
        ({"hookInstance": 42}, "hookInstance"),
        ({"hook": ["patient-view"]}, "hook"),
        ({"context": "Patient/1"}, "context"),
        ({"fhirServer": "ftp://fhir.test.example"}, "fhirServer"),
        ({"prefetch": {"patient": "Patient/1"}}, "prefetch.patient"),
        ({"prefetch": []}, "prefetch"),
        ({"context": {"userId": "dr-one", "patientId": rq.PATIENT_ID}}, "context.userId"),
        ({"context": {"userId": rq.USER_ID, "patientId": "a/b"}}, "context.patientId"),
        ({"context": {"userId": rq.USER_ID, "patientId": 7}}, "context.patientId"),
    ],
)
def test_wrongly_typed_member_is_400_naming_it(
    client: FlaskClient, ehr: Ehr, changes: dict[str, Any], expression: str
) -> None:
    body = assert_outcome(post(client, ehr, PV, rq.patient_view(**changes)), 400)
    assert body["issue"][0]["expression"] == [expression]


def test_fhir_authorization_without_fhir_server_is_400(client: FlaskClient, ehr: Ehr) -> None:
    request = rq.patient_view(
        fhirAuthorization={
            "access_token": "opaque",
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "patient/*.read",
            "subject": "cds-service",
        }
    )
    del request["fhirServer"]
    body = assert_outcome(post(client, ehr, PV, request), 400)
    assert body["issue"][0]["expression"] == ["fhirServer"]


def test_fhir_authorization_token_type_must_be_bearer(client: FlaskClient, ehr: Ehr) -> None:
    auth = {"access_token": "x", "token_type": "MAC", "expires_in": 1, "scope": "s", "subject": "s"}
    body = assert_outcome(post(client, ehr, PV, rq.patient_view(fhirAuthorization=auth)), 400)
    assert body["issue"][0]["expression"] == ["fhirAuthorization.token_type"]


def test_hook_that_does_not_match_the_service_is_400(client: FlaskClient, ehr: Ehr) -> None:
    body = assert_outcome(post(client, ehr, PV, rq.patient_view(hook="order-sign")), 400)
    assert body["issue"][0]["expression"] == ["hook"]


@pytest.mark.parametrize(
    "raw", [b"{not json", b"", b"\xff\xfe", b"[1, 2]", b"null", b"[" * 100_000 + b"]" * 100_000]
)
def test_body_that_is_not_a_json_object_is_400(client: FlaskClient, ehr: Ehr, raw: bytes) -> None:
    assert_outcome(post(client, ehr, PV, raw), 400)


def test_order_select_needs_selections_and_draft_orders(client: FlaskClient, ehr: Ehr) -> None:
    path = "/cds-services/b-all-order-select"
    body = assert_outcome(
        post(client, ehr, path, drop(rq.order_select(), "context.selections")), 400
    )
    assert body["issue"][0]["expression"] == ["context.selections"]
    request = rq.order_select()
    request["context"]["draftOrders"] = {"resourceType": "MedicationRequest"}
    body = assert_outcome(post(client, ehr, path, request), 400)
    assert body["issue"][0]["expression"] == ["context.draftOrders.resourceType"]


def test_order_sign_needs_draft_orders(client: FlaskClient, ehr: Ehr) -> None:
    path = "/cds-services/b-all-order-sign"
    body = assert_outcome(
        post(client, ehr, path, drop(rq.order_sign(), "context.draftOrders")), 400
    )
    assert body["issue"][0]["expression"] == ["context.draftOrders"]


def test_unknown_service_is_404(client: FlaskClient, ehr: Ehr) -> None:
    assert_outcome(post(client, ehr, "/cds-services/no-such-service", rq.patient_view()), 404)


def test_unknown_path_is_404_operation_outcome(client: FlaskClient) -> None:
    assert_outcome(client.get("/nothing-here"), 404)


@pytest.mark.parametrize("method", ["get", "put", "delete", "patch"])
def test_wrong_method_is_405(client: FlaskClient, ehr: Ehr, method: str) -> None:
    response = getattr(client, method)(PV, headers=ehr.headers(PV))
    assert_outcome(response, 405)
    assert "POST" in response.headers["Allow"]


def test_unknown_members_and_extensions_are_ignored(client: FlaskClient, ehr: Ehr) -> None:
    request = rq.patient_view(extension={"com.example.flag": True}, somethingNew={"a": 1})
    request["context"]["futureContextField"] = "x"
    response = post(client, ehr, PV, request)
    assert response.status_code == 200
    assert response_errors(response.get_json()) == []


def test_bundle_without_type_and_dstu2_medication_order_are_accepted(
    client: FlaskClient, ehr: Ehr
) -> None:
    for path, request in [
        ("/cds-services/b-all-order-select", rq.order_select()),
        ("/cds-services/b-all-order-sign", rq.order_sign()),
    ]:
        response = post(client, ehr, path, request)
        assert response.status_code == 200, response.get_json()
        assert response_errors(response.get_json()) == []


def test_body_over_the_size_limit_is_413(ehr: Ehr, tmp_path: Any) -> None:
    from cds_service import create_app
    from tests.conftest import app_settings

    app = create_app(app_settings(ehr, tmp_path, MAX_REQUEST_BYTES=2_000))
    request = rq.patient_view(padding="x" * 5_000)
    assert_outcome(post(app.test_client(), ehr, PV, request), 413)


def test_response_is_json_with_only_spec_members(client: FlaskClient, ehr: Ehr) -> None:
    response = post(client, ehr, PV, rq.patient_view())
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response_errors(response.get_json()) == []
