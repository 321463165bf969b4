"""The EHR simulator's command line: card printing, list, call, fhir-server and token."""

from __future__ import annotations

import io
import json
from types import SimpleNamespace
from typing import Any

import pytest
import requests
import responses

from sandbox import cli
from tests.sandbox_ehr_support import FHIR, PATIENTS, SERVICE, TEMPLATES, TODAY, claims_of

CARDS = {
    "cards": [
        {
            "uuid": "c-1",
            "summary": "Ph+ B-ALL without a TKI order",
            "indicator": "warning",
            "detail": "Add a **TKI** to chemotherapy.\nSee NCCN.",
            "source": {"label": "B-ALL pathway", "topic": {"code": "ph-positive-no-tki"}},
            "selectionBehavior": "at-most-one",
            "suggestions": [
                {
                    "label": "Order imatinib 340 mg/m²/day",
                    "uuid": "s-1",
                    "isRecommended": True,
                    "actions": [
                        {
                            "type": "create",
                            "description": "imatinib",
                            "resource": {"resourceType": "MedicationRequest"},
                        }
                    ],
                },
                {
                    "label": "Remove the draft",
                    "uuid": "s-2",
                    "actions": [
                        {"type": "delete", "description": "x", "resourceId": "MedicationRequest/d"}
                    ],
                },
            ],
            "links": [
                {"label": "NCCN guideline", "url": "https://jnccn.example/", "type": "absolute"}
            ],
        }
    ]
}

# --- printing -----------------------------------------------------------------------------------


def test_cards_render_tag_summary_detail_suggestions_and_links() -> None:
    text = cli.format_cards(CARDS, color=False)
    assert text.startswith("[WARNING] Ph+ B-ALL without a TKI order")
    assert "    Add a **TKI** to chemotherapy." in text
    assert "Order imatinib 340 mg/m²/day (recommended): create MedicationRequest" in text
    assert "Remove the draft: delete MedicationRequest/d" in text
    assert "NCCN guideline <https://jnccn.example/> (absolute)" in text
    assert "step ph-positive-no-tki" in text
    assert "\033[" not in text


def test_cards_are_coloured_only_when_asked() -> None:
    assert cli.format_cards(CARDS, color=True).startswith("\033[1;33m[WARNING]\033[0m")


def test_empty_response_says_no_cards() -> None:
    assert cli.format_cards({"cards": []}) == "No cards."


# --- call ---------------------------------------------------------------------------------------


def _stub_service(rsps: responses.RequestsMock, status: int = 200, body: Any = CARDS) -> None:
    services = [
        {"hook": "patient-view", "id": "b-all-pathway", "prefetch": TEMPLATES},
        {"hook": "order-sign", "id": "b-all-order-sign", "prefetch": TEMPLATES},
    ]
    rsps.get(f"{SERVICE}/cds-services", json={"services": services})
    rsps.post(f"{SERVICE}/cds-services/b-all-pathway", json=body, status=status)


SCENARIOS = [
    SimpleNamespace(
        patient="pt",
        hook="order-sign",
        drafts="tki-missing",
        selections=(),
        expect=("order-ph-positive-no-tki",),
        note="Ph+ child, chemotherapy drafted without a TKI",
    ),
    SimpleNamespace(
        patient="pt-2", hook="patient-view", drafts=None, selections=(), expect=(), note=""
    ),
]


def _run(*argv: str, scenarios: list[Any] | None = None) -> tuple[int, str]:
    out = io.StringIO()
    code = cli.main(
        ["call", "pt", "--url", SERVICE, "--fhir-url", FHIR, *argv],
        out=out,
        session=requests.Session(),
        today=TODAY,
        patients=PATIENTS,
        scenarios=lambda: scenarios or [],
    )
    return code, out.getvalue()


def test_list_shows_each_scenario_with_its_expected_steps() -> None:
    out = io.StringIO()
    assert cli.main(["list"], out=out, scenarios=lambda: SCENARIOS) == 0
    lines = out.getvalue().splitlines()
    assert lines[0].split() == ["pt", "order-sign", "drafts=tki-missing"]
    assert lines[1].strip() == "expect: order-ph-positive-no-tki"
    assert "(no cards)" in out.getvalue()


@responses.activate
def test_call_takes_hook_and_drafts_from_the_patient_scenario() -> None:
    _stub_service(responses.mock)
    responses.post(f"{SERVICE}/cds-services/b-all-order-sign", json=CARDS)
    assert _run(scenarios=SCENARIOS)[0] == 0
    body = json.loads(responses.calls[-1].request.body)
    assert responses.calls[-1].request.url == f"{SERVICE}/cds-services/b-all-order-sign"
    assert (body["hook"], len(body["context"]["draftOrders"]["entry"])) == ("order-sign", 2)


@responses.activate
def test_call_signs_each_request_for_the_url_it_calls() -> None:
    _stub_service(responses.mock)
    code, _ = _run()
    assert code == 0
    for call in responses.calls:
        token = call.request.headers["Authorization"].removeprefix("Bearer ")
        assert claims_of(token, call.request.url)["aud"] == call.request.url


@responses.activate
def test_call_posts_the_discovered_prefetch_keys() -> None:
    _stub_service(responses.mock)
    _run()
    body = json.loads(responses.calls[1].request.body)
    assert set(body["prefetch"]) == set(TEMPLATES)
    assert body["context"]["patientId"] == "pt-1"


@responses.activate
def test_call_prints_the_cards() -> None:
    _stub_service(responses.mock)
    _, out = _run()
    assert "[WARNING] Ph+ B-ALL without a TKI order" in out


@responses.activate
def test_call_json_prints_the_raw_response() -> None:
    _stub_service(responses.mock)
    _, out = _run("--json")
    assert json.loads(out) == CARDS


@responses.activate
def test_call_http_error_exits_non_zero_with_the_operation_outcome() -> None:
    outcome = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "x"}]}
    _stub_service(responses.mock, status=412, body=outcome)
    code, out = _run()
    assert code == 1
    assert "HTTP 412" in out
    assert '"OperationOutcome"' in out


@responses.activate
def test_call_reports_an_unreachable_service() -> None:
    code, out = _run()
    assert code == 2
    assert "not reachable at http://cds.test" in out


@responses.activate
def test_call_without_prefetch_needs_the_local_fhir_server() -> None:
    _stub_service(responses.mock)
    code, out = _run("--no-prefetch")
    assert code == 2
    assert "python -m sandbox fhir-server" in out
    assert len(responses.calls) == 2  # discovery, then the failed FHIR check; no service call


@responses.activate
def test_call_without_prefetch_sends_no_prefetch() -> None:
    _stub_service(responses.mock)
    responses.get(f"{FHIR}/metadata", json={"resourceType": "CapabilityStatement"})
    assert _run("--no-prefetch")[0] == 0
    assert "prefetch" not in json.loads(responses.calls[-1].request.body)


def test_fhir_server_command_registers_the_named_clients(monkeypatch: pytest.MonkeyPatch) -> None:
    served: dict[str, Any] = {}
    monkeypatch.setattr(
        "werkzeug.serving.run_simple",
        lambda host, port, app, **kw: served.update(host=host, port=port, app=app, **kw),
    )
    argv = ["fhir-server", "--port", "9999", "--client", "viewer", "--client", "vault:s3cret"]
    assert cli.main(argv, out=io.StringIO()) == 0
    state = served["app"].extensions["sandbox_smart"]
    assert (served["port"], served["threaded"]) == (9999, True)
    assert state.clients == {"viewer": None, "vault": "s3cret"}


def test_token_command_prints_a_dev_jwt_for_the_url() -> None:
    import io

    import jwt as pyjwt

    from cds_service.config import DEV_ISSUER
    from sandbox import cli

    out = io.StringIO()
    assert cli.main(["token", "http://127.0.0.1:8080/cds-services"], out=out) == 0
    claims = pyjwt.decode(out.getvalue().strip(), options={"verify_signature": False})
    assert claims["aud"] == "http://127.0.0.1:8080/cds-services"
    assert claims["iss"] == DEV_ISSUER
