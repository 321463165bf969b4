"""The EHR simulator's building blocks: prefetch, JWT signing and request building."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace
from typing import Any

import jwt
import pytest

from cds_service.config import DEV_ISSUER
from sandbox import ehr
from tests.sandbox_ehr_support import (
    BUNDLE,
    CONTEXT,
    FHIR,
    PATIENT,
    PATIENTS,
    SERVICE,
    TEMPLATES,
    TODAY,
    claims_of,
    public_key,
)

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
        token, public_key(), algorithms=["ES384"], audience=url, options={"verify_exp": False}
    )
    assert (header["alg"], header["kid"], header["typ"]) == ("ES384", "b-all-sandbox-dev-1", "JWT")
    assert claims["iss"] == DEV_ISSUER
    assert claims["exp"] - claims["iat"] == 300


def test_each_jwt_has_a_fresh_jti() -> None:
    first, second = (claims_of(ehr.sign_jwt("http://a"), "http://a") for _ in range(2))
    assert first["jti"] != second["jti"]


def test_jwt_for_another_url_is_rejected_by_audience() -> None:
    with pytest.raises(jwt.InvalidAudienceError):
        claims_of(ehr.sign_jwt(f"{SERVICE}/cds-services"), f"{SERVICE}/cds-services/b-all-pathway")


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
