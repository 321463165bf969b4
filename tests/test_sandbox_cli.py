"""The EHR simulator: prefetch, JWT signing, request building, card printing, ``call``."""

from __future__ import annotations

import io
import json
from datetime import date
from types import SimpleNamespace
from typing import Any

import jwt
import pytest
import requests
import responses

from cds_service.config import DEV_ISSUER, SANDBOX_KEYS
from sandbox import cli, ehr

TODAY = date(2026, 3, 2)
SERVICE = "http://cds.test"
FHIR = "http://fhir.test"
TEMPLATES = {
    "patient": "Patient/{{context.patientId}}",
    "conditions": "Condition?patient={{context.patientId}}",
    "observations": "Observation?patient={{context.patientId}}&code=http://loinc.org|751-8",
    "medications": "MedicationRequest?patient={{context.patientId}}&status=active",
}
PATIENT = {"resourceType": "Patient", "id": "pt-1", "birthDate": "2018-01-01"}
CONDITION = {
    "resourceType": "Condition",
    "id": "dx-1",
    "code": {"coding": [{"system": "http://snomed.info/sct", "code": "91857003"}]},
    "subject": {"reference": "Patient/pt-1"},
}
ANC = {
    "resourceType": "Observation",
    "id": "anc-1",
    "status": "final",
    "code": {"coding": [{"system": "http://loinc.org", "code": "751-8"}]},
    "subject": {"reference": "Patient/pt-1"},
}
WBC = {**ANC, "id": "wbc-1", "code": {"coding": [{"system": "http://loinc.org", "code": "6690-2"}]}}
DRAFT_MED = {
    "resourceType": "MedicationRequest",
    "id": "draft-1",
    "status": "draft",
    "intent": "order",
    "subject": {"reference": "Patient/pt-1"},
}
DRAFT_SR = {**DRAFT_MED, "resourceType": "ServiceRequest", "id": "draft-2"}
BUNDLE = {
    "resourceType": "Bundle",
    "type": "collection",
    "entry": [{"resource": r} for r in (PATIENT, CONDITION, ANC, WBC)],
}
PATIENTS = SimpleNamespace(
    load_bundle=lambda name, today: BUNDLE,
    load_draft=lambda name, today: {
        "resourceType": "Bundle",
        "entry": [{"resource": DRAFT_MED}, {"resource": DRAFT_SR}],
    },
    patient_id=lambda bundle: "pt-1",
)
CONTEXT = {"userId": ehr.USER_ID, "patientId": "pt-1"}
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


def _public_key() -> Any:
    jwks = json.loads((SANDBOX_KEYS / "dev-jwks.json").read_text())
    return jwt.PyJWK(jwks["keys"][0]).key


def _claims(token: str, audience: str) -> dict[str, Any]:
    return jwt.decode(token, _public_key(), algorithms=["ES384"], audience=audience)


# --- prefetch -----------------------------------------------------------------------------------


def test_prefetch_read_gives_the_resource() -> None:
    prefetch = ehr.fulfil_prefetch(TEMPLATES, BUNDLE, CONTEXT)
    assert prefetch["patient"] == PATIENT


@pytest.mark.parametrize(
    ("key", "ids"),
    [("conditions", ["dx-1"]), ("observations", ["anc-1"]), ("medications", [])],
)
def test_prefetch_search_gives_a_searchset_of_the_matches(key: str, ids: list[str]) -> None:
    bundle = ehr.fulfil_prefetch(TEMPLATES, BUNDLE, CONTEXT)[key]
    assert (bundle["resourceType"], bundle["type"], bundle["total"]) == (
        "Bundle",
        "searchset",
        len(ids),
    )
    assert [e["resource"]["id"] for e in bundle.get("entry", [])] == ids


def test_prefetch_read_of_a_missing_resource_is_null() -> None:
    prefetch = ehr.fulfil_prefetch(
        {"p": "Patient/{{context.patientId}}"}, BUNDLE, {"patientId": "x"}
    )
    assert prefetch == {"p": None}


@pytest.mark.parametrize(
    "template",
    ["Encounter/{{context.encounterId}}", "Observation?patient={{context.patientId}}&value=3"],
)
def test_prefetch_the_ehr_cannot_answer_is_left_absent(template: str) -> None:
    assert ehr.fulfil_prefetch({"k": template}, BUNDLE, CONTEXT) == {}


def test_prefetch_user_token_is_the_practitioner_id() -> None:
    prefetch = ehr.fulfil_prefetch({"me": "Practitioner/{{userPractitionerId}}"}, BUNDLE, CONTEXT)
    assert prefetch == {"me": None}  # rendered and looked up; this bundle has no practitioner
    assert ehr.render_template("Practitioner/{{userPractitionerId}}", CONTEXT) == (
        "Practitioner/sandbox-clinician"
    )


def test_prefetch_with_count_pages_against_the_fhir_server() -> None:
    templates = {"obs": "Observation?patient={{context.patientId}}&_count=1"}
    bundle = ehr.fulfil_prefetch(templates, BUNDLE, CONTEXT, base_url=FHIR)["obs"]
    assert bundle["total"] == 2
    next_url = next(link["url"] for link in bundle["link"] if link["relation"] == "next")
    assert next_url.startswith(f"{FHIR}/Observation?")
    assert "_getpagesoffset=1" in next_url


# --- JWT ----------------------------------------------------------------------------------------


def test_signed_jwt_verifies_with_the_public_dev_key() -> None:
    url = f"{SERVICE}/cds-services/b-all-pathway"
    token = ehr.sign_jwt(url, now=1_700_000_000)
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(
        token, _public_key(), algorithms=["ES384"], audience=url, options={"verify_exp": False}
    )
    assert (header["alg"], header["kid"], header["typ"]) == ("ES384", "b-all-sandbox-dev-1", "JWT")
    assert claims["iss"] == DEV_ISSUER
    assert claims["exp"] - claims["iat"] == 300


def test_each_jwt_has_a_fresh_jti() -> None:
    first, second = (_claims(ehr.sign_jwt("http://a"), "http://a") for _ in range(2))
    assert first["jti"] != second["jti"]


def test_jwt_for_another_url_is_rejected_by_audience() -> None:
    with pytest.raises(jwt.InvalidAudienceError):
        _claims(ehr.sign_jwt(f"{SERVICE}/cds-services"), f"{SERVICE}/cds-services/b-all-pathway")


# --- request building ---------------------------------------------------------------------------


def _request(hook: str, **kwargs: Any) -> dict[str, Any]:
    return ehr.build_request(
        "pt", hook, TODAY, fhir_url=FHIR, templates=TEMPLATES, patients=PATIENTS,
        new_uuid=lambda: "hi-1", **kwargs,
    )  # fmt: skip


def test_patient_view_request_carries_context_and_prefetch() -> None:
    body = _request("patient-view")
    assert body["hook"] == "patient-view"
    assert (body["hookInstance"], body["fhirServer"]) == ("hi-1", FHIR)
    assert body["context"] == CONTEXT
    assert set(body["prefetch"]) == set(TEMPLATES)


def test_order_select_selects_every_draft_by_default() -> None:
    context = _request("order-select", draft="drafts")["context"]
    assert context["selections"] == ["MedicationRequest/draft-1", "ServiceRequest/draft-2"]
    assert context["draftOrders"]["type"] == "collection"


def test_order_select_keeps_explicit_selections() -> None:
    context = _request("order-select", draft="d", selections=["ServiceRequest/draft-2"])["context"]
    assert context["selections"] == ["ServiceRequest/draft-2"]


@pytest.mark.parametrize(
    ("draft", "selections"),
    [
        (None, ["ServiceRequest/draft-2"]),
        ("other-drafts", ["MedicationRequest/draft-1", "ServiceRequest/draft-2"]),
    ],
)
def test_scenario_selections_apply_only_to_its_own_drafts(
    draft: str | None, selections: list[str]
) -> None:
    scenario = SimpleNamespace(
        patient="pt", hook="order-select", drafts="d", selections=("ServiceRequest/draft-2",)
    )
    body = ehr.build_request(
        scenario, None, TODAY, draft=draft, templates=TEMPLATES, patients=PATIENTS
    )
    assert body["context"]["selections"] == selections


def test_order_sign_sends_drafts_without_selections() -> None:
    context = _request("order-sign", draft="drafts")["context"]
    assert "selections" not in context
    assert len(context["draftOrders"]["entry"]) == 2


def test_order_hook_without_a_draft_is_refused() -> None:
    with pytest.raises(ehr.SandboxError, match="--draft"):
        _request("order-sign")


def test_no_prefetch_sends_no_prefetch_member() -> None:
    assert "prefetch" not in _request("patient-view", prefetch=False)


def test_service_without_prefetch_templates_gets_no_empty_prefetch() -> None:
    body = ehr.build_request("pt", "patient-view", TODAY, templates={}, patients=PATIENTS)
    assert "prefetch" not in body


def test_unknown_patient_is_a_user_error() -> None:
    def missing(name: str, today: date) -> dict[str, Any]:
        raise FileNotFoundError(name)

    patients = SimpleNamespace(load_bundle=missing, load_draft=missing, patient_id=lambda b: "")
    with pytest.raises(ehr.SandboxError, match="no sandbox patient named 'ghost'"):
        ehr.build_request("ghost", "patient-view", TODAY, patients=patients)


def test_scenario_prefetch_error_becomes_an_operation_outcome() -> None:
    scenario = SimpleNamespace(
        patient="pt", hook="patient-view", drafts=None, selections=(), prefetch_error="conditions"
    )
    body = ehr.build_request(scenario, None, TODAY, templates=TEMPLATES, patients=PATIENTS)
    assert body["prefetch"]["conditions"]["resourceType"] == "OperationOutcome"


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
        assert _claims(token, call.request.url)["aud"] == call.request.url


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
