"""The EHR side of a CDS Hooks call: fulfil prefetch, build the request, sign the client JWT.

Plain functions with injected clock, uuids and HTTP session, so the CLI, the tests and the
benchmark build byte-for-byte the same requests an EHR would send (CONFORMANCE.md "Wire",
"Prefetch", "Trusting the client").
"""

from __future__ import annotations

import functools
import json
import re
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any, Protocol, cast

import jwt
import requests

from cds_service.config import DEV_ISSUER, SANDBOX_KEYS
from sandbox import fhir_search

DEV_KID = "b-all-sandbox-dev-1"
PRIVATE_JWKS = SANDBOX_KEYS / "dev-private-jwks.json"
JWT_LIFETIME_SECONDS = 300
USER_ID = "Practitioner/sandbox-clinician"
DEFAULT_SERVICE_URL = "http://127.0.0.1:8080"
DEFAULT_FHIR_URL = "http://127.0.0.1:8081"
HOOKS = ("patient-view", "order-select", "order-sign")
ORDER_HOOKS = ("order-select", "order-sign")
TIMEOUT_SECONDS = 10.0

_TOKEN = re.compile(r"\{\{\s*([A-Za-z.]+)\s*\}\}")
# Spec "Prefetch tokens": the user-id tokens name the id part of context.userId by its type.
_USER_TOKENS = {
    "userPractitionerId": "Practitioner",
    "userPractitionerRoleId": "PractitionerRole",
    "userPatientId": "Patient",
    "userRelatedPersonId": "RelatedPerson",
}


class PatientSource(Protocol):
    """Where patients and drafts come from (``sandbox.patients`` in real use)."""

    def load_bundle(self, name: str, today: date) -> dict[str, Any]: ...
    def load_draft(self, name: str, today: date) -> dict[str, Any]: ...
    def patient_id(self, bundle: dict[str, Any]) -> str: ...


class SandboxError(Exception):
    """A call the simulator cannot make (bad hook, missing draft): a message for the user."""


def sign_jwt(audience: str, *, now: float | None = None, jti: str | None = None) -> str:
    """Sign an ES384 client JWT with the development key for the exact URL ``audience``."""
    key = _private_key()
    issued = int(time.time() if now is None else now)
    claims = {
        "iss": DEV_ISSUER,
        "aud": audience,
        "iat": issued,
        "exp": issued + JWT_LIFETIME_SECONDS,
        "jti": jti or str(uuid.uuid4()),
    }
    return jwt.encode(claims, key.key, algorithm="ES384", headers={"kid": DEV_KID, "typ": "JWT"})


@functools.cache
def _private_key() -> jwt.PyJWK:
    keys = json.loads(PRIVATE_JWKS.read_text(encoding="utf-8"))["keys"]
    return jwt.PyJWK(next(k for k in keys if k["kid"] == DEV_KID))


def render_template(template: str, context: Mapping[str, Any]) -> str | None:
    """Replace the prefetch tokens; None when one cannot be filled (the key is then not sent)."""
    missing = False

    def fill(match: re.Match[str]) -> str:
        nonlocal missing
        value = _token_value(match.group(1), context)
        missing = missing or value is None
        return value or ""

    rendered = _TOKEN.sub(fill, template)
    return None if missing else rendered


def _token_value(token: str, context: Mapping[str, Any]) -> str | None:
    if token.startswith("context."):
        value = context.get(token.removeprefix("context."))
        return value if isinstance(value, str) and value else None
    user_type, _, user_id = str(context.get("userId", "")).partition("/")
    return user_id or None if _USER_TOKENS.get(token) == user_type else None


def fulfil_prefetch(
    templates: Mapping[str, str],
    bundle: Mapping[str, Any],
    context: Mapping[str, Any],
    *,
    base_url: str = DEFAULT_FHIR_URL,
) -> dict[str, Any]:
    """Answer each prefetch template from the patient's bundle as a FHIR server would.

    A read gives the resource (or null: looked, not there); a search gives a searchset Bundle
    (first page, with a ``next`` link to ``base_url`` when it has more). A template with a token
    or a search the sandbox cannot answer is left out, so the service fetches it itself.
    """
    resources = [e["resource"] for e in bundle.get("entry", []) if "resource" in e]
    prefetch: dict[str, Any] = {}
    for key, template in templates.items():
        query = render_template(template, context)
        if query is None:
            continue
        try:
            prefetch[key] = _answer(query, resources, base_url)
        except fhir_search.SearchError:
            continue
    return prefetch


def _answer(query: str, resources: Sequence[dict[str, Any]], base_url: str) -> Any:
    if "?" not in query:
        resource_type, _, resource_id = query.partition("/")
        return next(
            (
                r
                for r in resources
                if r.get("resourceType") == resource_type and r.get("id") == resource_id
            ),
            None,
        )
    resource_type, params = fhir_search.parse_query(query)
    found = fhir_search.search(resources, resource_type, params)
    return fhir_search.searchset(found, base=base_url, resource_type=resource_type, params=params)


def build_request(
    scenario_or_patient: Any,
    hook: str | None,
    today: date,
    *,
    fhir_url: str = DEFAULT_FHIR_URL,
    prefetch: bool = True,
    draft: str | None = None,
    selections: Sequence[str] | None = None,
    templates: Mapping[str, str] | None = None,
    patients: PatientSource | None = None,
    new_uuid: Callable[[], str] = lambda: str(uuid.uuid4()),
) -> dict[str, Any]:
    """Build the CDS Hooks request body the EHR sends for a sandbox patient or scenario.

    ``scenario_or_patient`` is a patient name or a ``Scenario``; the scenario supplies the hook,
    draft and selections unless they are given. ``templates`` defaults to the pathway prefetch.
    """
    source = patients or _sandbox_patients()
    scenario = None if isinstance(scenario_or_patient, str) else scenario_or_patient
    name = scenario_or_patient if scenario is None else scenario.patient
    hook = hook or (scenario.hook if scenario else "patient-view")
    if hook not in HOOKS:
        raise SandboxError(f"unknown hook {hook!r}; use one of {', '.join(HOOKS)}")
    bundle = _load(source.load_bundle, name, today, "patient")
    context: dict[str, Any] = {"userId": USER_ID, "patientId": source.patient_id(bundle)}
    if hook in ORDER_HOOKS:
        context.update(_order_context(hook, scenario, source, today, draft, selections))
    body: dict[str, Any] = {
        "hook": hook,
        "hookInstance": new_uuid(),
        "fhirServer": fhir_url,
        "context": context,
    }
    if prefetch:
        answers = fulfil_prefetch(
            _default_templates() if templates is None else templates,
            bundle,
            context,
            base_url=fhir_url,
        )
        answers = _with_scenario_error(answers, scenario)
        if answers:  # never an empty object for an optional member (CONFORMANCE.md "Wire")
            body["prefetch"] = answers
    return body


def _load(
    loader: Callable[[str, date], dict[str, Any]], name: str, today: date, what: str
) -> dict[str, Any]:
    try:
        return loader(name, today)
    except FileNotFoundError:
        raise SandboxError(
            f"no sandbox {what} named {name!r} (see `python -m sandbox list`)"
        ) from None


def _order_context(
    hook: str,
    scenario: Any,
    source: PatientSource,
    today: date,
    draft: str | None,
    selections: Sequence[str] | None,
) -> dict[str, Any]:
    if scenario is not None and draft not in (None, scenario.drafts):
        scenario = None  # other drafts than the scenario's: its selections do not apply
    draft = draft or (scenario.drafts if scenario else None)
    if not draft:
        raise SandboxError(f"{hook} needs draft orders: pass --draft NAME")
    drafts = _as_bundle(_load(source.load_draft, draft, today, "draft"))
    if hook != "order-select":
        return {"draftOrders": drafts}
    # Spec order-select: `selections` names the drafts just chosen; the rest are context.
    chosen = selections or (scenario.selections if scenario else ()) or _ids(drafts)
    return {"selections": list(chosen), "draftOrders": drafts}


def _default_templates() -> Mapping[str, str]:
    # Imported late: `hooks` loads the whole service registry, which the CLI does not need.
    from hooks.prefetch import PATHWAY_PREFETCH

    return PATHWAY_PREFETCH


def _sandbox_patients() -> PatientSource:
    from sandbox import patients

    return cast(PatientSource, patients)


def _as_bundle(drafts: dict[str, Any]) -> dict[str, Any]:
    if drafts.get("resourceType") == "Bundle":
        return {"type": "collection", **drafts}
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": drafts}]}


def _ids(bundle: Mapping[str, Any]) -> list[str]:
    resources = (e.get("resource", {}) for e in bundle.get("entry", []))
    return [f"{r['resourceType']}/{r['id']}" for r in resources if "id" in r]


def _with_scenario_error(prefetch: dict[str, Any], scenario: Any) -> dict[str, Any]:
    # A scenario may name a prefetch key the EHR failed to fetch: it sends an OperationOutcome
    # there, which the service must treat as absent (CONFORMANCE.md "Prefetch").
    key = getattr(scenario, "prefetch_error", None)
    if key:
        issue = {"severity": "error", "code": "timeout", "diagnostics": "EHR fetch failed"}
        prefetch[key] = {"resourceType": "OperationOutcome", "issue": [issue]}
    return prefetch


def discover(
    session: requests.Session, base_url: str, *, now: float | None = None
) -> list[dict[str, Any]]:
    """GET the discovery document with a JWT for its URL; raise on an HTTP error."""
    url = f"{base_url.rstrip('/')}/cds-services"
    response = session.get(url, headers=_auth(url, now), timeout=TIMEOUT_SECONDS)
    response.raise_for_status()
    services: list[dict[str, Any]] = response.json().get("services", [])
    return services


def service_for_hook(services: Sequence[Mapping[str, Any]], hook: str) -> Mapping[str, Any]:
    """Pick the discovered service for ``hook``."""
    for service in services:
        if service.get("hook") == hook:
            return service
    raise SandboxError(f"the CDS service offers no service for {hook}")


def call_service(
    session: requests.Session,
    base_url: str,
    service_id: str,
    body: Mapping[str, Any],
    *,
    now: float | None = None,
) -> requests.Response:
    """POST the request to the service with a JWT whose ``aud`` is exactly that URL."""
    url = f"{base_url.rstrip('/')}/cds-services/{service_id}"
    return session.post(url, json=body, headers=_auth(url, now), timeout=TIMEOUT_SECONDS)


def _auth(url: str, now: float | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {sign_jwt(url, now=now)}", "Accept": "application/json"}
