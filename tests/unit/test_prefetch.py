"""Prefetch resolution: every state of a key in CONFORMANCE.md "Prefetch", and the 412 rule."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import responses

from cds_service.errors import PreconditionFailed
from cds_service.fhir.client import FhirFetcher
from cds_service.fhir.prefetch import render_template, resolve_prefetch

FHIR = "https://fhir.test.example/r4"
TOKEN = "secret-access-token-456"
FHIR_JSON = {"Content-Type": "application/fhir+json"}

TEMPLATES = {
    "patient": "Patient/{{context.patientId}}",
    "conditions": "Condition?patient={{context.patientId}}",
    "procedures": "Procedure?patient={{context.patientId}}",
}
REQUIRED = frozenset({"patient", "conditions"})

PATIENT = {"resourceType": "Patient", "id": "p1"}
CONDITION = {"resourceType": "Condition", "id": "c1"}
PROCEDURE = {"resourceType": "Procedure", "id": "pr1"}
OUTCOME = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "timeout"}]}


def bundle(*resources: dict[str, Any], next_url: str | None = None) -> dict[str, Any]:
    """Return a searchset Bundle of ``resources``, with a ``next`` link when given."""
    body: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": r} for r in resources],
    }
    if next_url:
        body["link"] = [{"relation": "next", "url": next_url}]
    return body


FULL_PREFETCH = {"patient": PATIENT, "conditions": bundle(CONDITION), "procedures": None}


def hook_request(prefetch: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    """Return a patient-view request for p1 with our FHIR server and token, plus ``extra``."""
    request: dict[str, Any] = {
        "hook": "patient-view",
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "fhirServer": FHIR,
        "fhirAuthorization": {
            "access_token": TOKEN,
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "user/*.read",
            "subject": "b-all-cds",
        },
        "context": {"userId": "Practitioner/dr1", "patientId": "p1"},
        **extra,
    }
    if prefetch is not None:
        request["prefetch"] = prefetch
    return request


@pytest.fixture
def fetcher() -> Iterator[FhirFetcher]:
    made = FhirFetcher(allowed_hosts=["fhir.test.example"], timeout=2.0)
    yield made
    made.close()


@pytest.fixture
def fhir() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def serve(fhir: responses.RequestsMock, path: str, body: Any, status: int = 200) -> None:
    fhir.get(f"{FHIR}/{path}", json=body, status=status, headers=FHIR_JSON)


def serve_all(fhir: responses.RequestsMock) -> None:
    serve(fhir, "Patient/p1", PATIENT)
    serve(fhir, "Condition?patient=p1&_count=1000", bundle(CONDITION))
    serve(fhir, "Procedure?patient=p1&_count=1000", bundle(PROCEDURE))


def resolve(request: dict[str, Any], fetcher: FhirFetcher) -> Any:
    return resolve_prefetch(TEMPLATES, request, required=REQUIRED, fetcher=fetcher)


# --- render_template ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "context", "user_id", "expected"),
    [
        ("Patient/{{context.patientId}}", {"patientId": "p1"}, None, "Patient/p1"),
        (
            "Condition?patient={{ context.patientId }}",
            {"patientId": "p1"},
            None,
            "Condition?patient=p1",
        ),
        (
            "Condition?patient={{context.patientId}}",
            {"patientId": "a b/c&d=1"},
            None,
            "Condition?patient=a%20b%2Fc%26d%3D1",
        ),
        ("Encounter/{{context.encounterId}}", {"patientId": "p1"}, None, None),
        ("Encounter/{{context.encounterId}}", {"encounterId": ""}, None, None),
        ("{{context.userId}}", {"userId": "Practitioner/dr 1"}, None, "Practitioner/dr%201"),
        ("Practitioner/{{userPractitionerId}}", {}, "Practitioner/dr1", "Practitioner/dr1"),
        ("PractitionerRole/{{userPractitionerRoleId}}", {}, "Practitioner/dr1", None),
        ("Patient/{{userPatientId}}", {}, "Patient/p9", "Patient/p9"),
        ("RelatedPerson/{{userRelatedPersonId}}", {}, None, None),
        (
            "MedicationRequest/{{context.draftOrders.MedicationRequest.id}}",
            {"draftOrders": {"resourceType": "Bundle"}},
            None,
            None,
        ),
        ("Observation?date=gt{{today() - 90 days}}", {}, None, None),
        ("Observation?patient={{context.patientId", {"patientId": "p1"}, None, None),
        ("Observation?flag={{context.flag}}", {"flag": True}, None, "Observation?flag=true"),
    ],
)
def test_render_template_fills_only_spec_tokens(
    template: str, context: dict[str, Any], user_id: str | None, expected: str | None
) -> None:
    assert render_template(template, context, user_id) == expected


# --- each state of a prefetch key ----------------------------------------------------------------


def test_present_resource_and_bundle_are_used_without_fetching(
    fetcher: FhirFetcher, fhir: responses.RequestsMock
) -> None:
    result = resolve(hook_request(FULL_PREFETCH), fetcher)

    assert result.resources == {"patient": [PATIENT], "conditions": [CONDITION], "procedures": []}
    assert result.fetched == frozenset()
    assert len(fhir.calls) == 0


def test_null_means_no_data_and_is_not_fetched(
    fetcher: FhirFetcher, fhir: responses.RequestsMock
) -> None:
    result = resolve(hook_request({**FULL_PREFETCH, "procedures": None}), fetcher)

    assert result.resources["procedures"] == []
    assert result.unavailable == frozenset()
    assert len(fhir.calls) == 0


@pytest.mark.parametrize(
    "empty", [bundle(), {"resourceType": "Bundle", "type": "searchset", "total": 0}]
)
def test_bundle_without_entries_is_empty(
    fetcher: FhirFetcher, fhir: responses.RequestsMock, empty: dict[str, Any]
) -> None:
    result = resolve(hook_request({**FULL_PREFETCH, "conditions": empty}), fetcher)

    assert result.resources["conditions"] == []
    assert len(fhir.calls) == 0


def test_paginated_prefetch_follows_next_with_the_token(
    fetcher: FhirFetcher, fhir: responses.RequestsMock
) -> None:
    second = {"resourceType": "Condition", "id": "c2"}
    first_page = bundle(CONDITION, next_url=f"{FHIR}/Condition?patient=p1&page=2")
    serve(fhir, "Condition?patient=p1&page=2", bundle(second))

    result = resolve(hook_request({**FULL_PREFETCH, "conditions": first_page}), fetcher)

    assert result.resources["conditions"] == [CONDITION, second]
    assert fhir.calls[0].request.headers["Authorization"] == f"Bearer {TOKEN}"


def test_paginated_prefetch_with_next_on_another_host_is_unobtainable(
    fetcher: FhirFetcher, fhir: responses.RequestsMock
) -> None:
    first_page = bundle(PROCEDURE, next_url="https://collector.example/page2")

    result = resolve(hook_request({**FULL_PREFETCH, "procedures": first_page}), fetcher)

    assert result.unavailable == frozenset({"procedures"})
    assert result.resources["procedures"] == []
    assert len(fhir.calls) == 0


@pytest.mark.parametrize(
    "errored",
    [OUTCOME, bundle(OUTCOME), bundle(CONDITION, OUTCOME)],
    ids=["alone", "in-bundle", "mixed"],
)
def test_operation_outcome_is_treated_as_absent_and_fetched(
    fetcher: FhirFetcher, fhir: responses.RequestsMock, errored: dict[str, Any]
) -> None:
    serve(
        fhir,
        "Condition?patient=p1&_count=1000",
        bundle(CONDITION, {"resourceType": "Condition", "id": "c9"}),
    )

    result = resolve(hook_request({**FULL_PREFETCH, "conditions": errored}), fetcher)

    assert len(result.resources["conditions"]) == 2
    assert result.fetched == frozenset({"conditions"})


def test_absent_key_is_fetched_with_the_bearer_token(
    fetcher: FhirFetcher, fhir: responses.RequestsMock
) -> None:
    serve(fhir, "Procedure?patient=p1&_count=1000", bundle(PROCEDURE))
    prefetch = {"patient": PATIENT, "conditions": bundle(CONDITION)}

    result = resolve(hook_request(prefetch), fetcher)

    assert result.resources["procedures"] == [PROCEDURE]
    assert result.fetched == frozenset({"procedures"})
    assert fhir.calls[0].request.headers["Authorization"] == f"Bearer {TOKEN}"


def test_without_prefetch_member_every_key_is_fetched(
    fetcher: FhirFetcher, fhir: responses.RequestsMock
) -> None:
    serve_all(fhir)

    result = resolve(hook_request(), fetcher)

    assert result.resources == {
        "patient": [PATIENT],
        "conditions": [CONDITION],
        "procedures": [PROCEDURE],
    }
    assert result.fetched == frozenset(TEMPLATES)


def test_open_server_is_fetched_without_authorization(
    fetcher: FhirFetcher, fhir: responses.RequestsMock
) -> None:
    serve_all(fhir)
    request = hook_request()
    del request["fhirAuthorization"]

    resolve(request, fetcher)

    assert all("Authorization" not in call.request.headers for call in fhir.calls)


def test_prefetched_resource_of_the_wrong_type_is_dropped_and_fetched(
    fetcher: FhirFetcher, fhir: responses.RequestsMock
) -> None:
    serve(fhir, "Patient/p1", PATIENT)

    result = resolve(hook_request({**FULL_PREFETCH, "patient": CONDITION}), fetcher)

    assert result.resources["patient"] == [PATIENT]
    assert result.skipped == 1


def test_fetched_bundle_drops_included_and_outcome_entries(
    fetcher: FhirFetcher, fhir: responses.RequestsMock
) -> None:
    serve(fhir, "Procedure?patient=p1&_count=1000", bundle(PROCEDURE, PATIENT, OUTCOME))

    result = resolve(hook_request({"patient": PATIENT, "conditions": bundle(CONDITION)}), fetcher)

    assert result.resources["procedures"] == [PROCEDURE]
    assert result.skipped == 2


def test_patient_id_is_url_encoded_in_the_query(
    fetcher: FhirFetcher, fhir: responses.RequestsMock
) -> None:
    serve(fhir, "Procedure?patient=a%2Fb%20c&_count=1000", bundle())
    request = hook_request({"patient": PATIENT, "conditions": bundle(CONDITION)})
    request["context"]["patientId"] = "a/b c"

    resolve(request, fetcher)

    assert fhir.calls[0].request.url == f"{FHIR}/Procedure?patient=a%2Fb%20c&_count=1000"


def test_search_templates_ask_for_large_pages(
    fetcher: FhirFetcher, fhir: responses.RequestsMock
) -> None:
    serve_all(fhir)

    resolve(hook_request(), fetcher)

    sent = sorted(call.request.url for call in fhir.calls)
    assert sent == [
        f"{FHIR}/Condition?patient=p1&_count=1000",
        f"{FHIR}/Patient/p1",
        f"{FHIR}/Procedure?patient=p1&_count=1000",
    ]


def test_template_naming_its_own_count_is_sent_as_written(
    fetcher: FhirFetcher, fhir: responses.RequestsMock
) -> None:
    serve(fhir, "Procedure?patient=p1&_count=20", bundle(PROCEDURE))
    templates = {**TEMPLATES, "procedures": "Procedure?patient={{context.patientId}}&_count=20"}
    prefetch = {"patient": PATIENT, "conditions": bundle(CONDITION)}

    result = resolve_prefetch(templates, hook_request(prefetch), required=REQUIRED, fetcher=fetcher)

    assert result.resources["procedures"] == [PROCEDURE]
    assert [call.request.url for call in fhir.calls] == [f"{FHIR}/Procedure?patient=p1&_count=20"]


# --- what cannot be had --------------------------------------------------------------------------


def test_unobtainable_required_keys_fail_with_412_naming_them(
    fetcher: FhirFetcher, fhir: responses.RequestsMock
) -> None:
    serve(fhir, "Patient/p1", {}, status=500)
    serve(fhir, "Condition?patient=p1&_count=1000", {}, status=403)
    serve(fhir, "Procedure?patient=p1&_count=1000", bundle(PROCEDURE))

    with pytest.raises(PreconditionFailed) as failure:
        resolve(hook_request(), fetcher)

    assert failure.value.status == 412
    assert failure.value.expression == ["prefetch.conditions", "prefetch.patient"]
    assert "conditions, patient" in failure.value.message


def test_unobtainable_optional_key_is_reported_unavailable(
    fetcher: FhirFetcher, fhir: responses.RequestsMock
) -> None:
    serve(fhir, "Procedure?patient=p1&_count=1000", {}, status=500)

    result = resolve(hook_request({"patient": PATIENT, "conditions": bundle(CONDITION)}), fetcher)

    assert result.unavailable == frozenset({"procedures"})
    assert result.resources["procedures"] == []
    assert result.fetched == frozenset()


def test_missing_required_key_without_fhir_server_fails_with_412(
    fetcher: FhirFetcher, fhir: responses.RequestsMock
) -> None:
    request = hook_request({"patient": PATIENT, "procedures": None})
    del request["fhirServer"], request["fhirAuthorization"]

    with pytest.raises(PreconditionFailed) as failure:
        resolve(request, fetcher)

    assert failure.value.expression == ["prefetch.conditions"]


def test_complete_prefetch_needs_no_fhir_server(fetcher: FhirFetcher) -> None:
    request = hook_request(FULL_PREFETCH)
    del request["fhirServer"], request["fhirAuthorization"]

    result = resolve(request, fetcher)

    assert result.unavailable == frozenset()


def test_disallowed_fhir_server_is_never_contacted(
    fetcher: FhirFetcher, fhir: responses.RequestsMock
) -> None:
    request = hook_request({"patient": PATIENT, "conditions": bundle(CONDITION)})
    request["fhirServer"] = "https://attacker.example/fhir"

    result = resolve(request, fetcher)

    assert result.unavailable == frozenset({"procedures"})
    assert len(fhir.calls) == 0
