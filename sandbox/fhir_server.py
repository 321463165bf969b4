"""A local FHIR R4 endpoint over the sandbox patients, with SMART App Launch: for demos and tests.

A development and test tool, not a FHIR server: read-only, in memory, the search subset of
``sandbox.fhir_search``. It holds every resource of every sandbox patient bundle (dates shifted to
``today``) so that a CDS call without prefetch, or the SMART pathway viewer, has somewhere to read.
It is open (no token needed) but refuses a Bearer token it did not issue, so a client that sends a
stale or made-up token finds out here rather than against a real EHR.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from typing import Any

from flask import Blueprint, Flask, Response, current_app, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from sandbox import fhir_search, smart_server

FHIR_JSON = "application/fhir+json"
FHIR_VERSION = "4.0.1"
log = logging.getLogger("sandbox.fhir")

# Types searchable even when no sandbox chart holds one (an empty searchset, not a 404).
SERVED_TYPES = frozenset(
    {
        "Patient",
        "Practitioner",
        "Condition",
        "Observation",
        "DiagnosticReport",
        "MedicationRequest",
        "MedicationStatement",
        "MedicationAdministration",
        "Procedure",
        "ServiceRequest",
        "ResearchSubject",
        "ResearchStudy",
        "Encounter",
    }
)

fhir_bp = Blueprint("fhir", __name__)
_TYPE = "<ResourceTypes:resource_type>"


class ResourceStore:
    """Every resource of the loaded bundles, by type and by ``Type/id``."""

    def __init__(self, bundles: Iterable[Mapping[str, Any]]) -> None:
        self.by_type: dict[str, list[dict[str, Any]]] = {}
        self.by_key: dict[str, dict[str, Any]] = {}
        for bundle in bundles:
            for entry in bundle.get("entry", []):
                resource = entry.get("resource") or {}
                key = f"{resource.get('resourceType')}/{resource.get('id')}"
                if key in self.by_key:
                    log.warning("duplicate_resource", extra={"key": key})
                    continue
                self.by_key[key] = resource
                self.by_type.setdefault(resource["resourceType"], []).append(resource)
        self.types = SERVED_TYPES | set(self.by_type)


def create_fhir_app(
    today: date | None = None,
    latency_ms: int = 0,
    *,
    bundles: Iterable[Mapping[str, Any]] | None = None,
    clients: Mapping[str, str | None] | None = None,
    clock: Callable[[], float] = time.time,
    new_token: Callable[[], str] = lambda: secrets.token_urlsafe(32),
    sleep: Callable[[float], None] = time.sleep,
) -> Flask:
    """Build the FHIR + SMART app over ``bundles`` (default: every sandbox patient).

    ``clients`` maps SMART client ids to secrets (None = public); None accepts any client id as a
    public client. ``latency_ms`` delays every request (benchmarking a slow EHR).
    """
    if bundles is None:
        bundles = _sandbox_bundles(today or date.today())
    store = ResourceStore(bundles)
    app = Flask(__name__)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["sandbox_fhir"] = store
    app.url_map.converters["ResourceTypes"] = _types_converter(store)
    state = smart_server.SmartState(
        clients=clients,
        clock=clock,
        new_token=new_token,
        patient_exists=lambda pid: f"Patient/{pid}" in store.by_key,
    )
    smart_server.init_app(app, state)
    app.register_blueprint(fhir_bp)
    _install_hooks(app, latency_ms, sleep)
    return app


def _sandbox_bundles(today: date) -> list[dict[str, Any]]:
    from sandbox import patients

    return [patients.load_bundle(name, today) for name in patients.names()]


def _types_converter(store: ResourceStore) -> Any:
    from werkzeug.routing import AnyConverter

    known = sorted(store.types)

    class ResourceTypes(AnyConverter):
        def __init__(self, url_map: Any) -> None:
            super().__init__(url_map, *known)

    return ResourceTypes


def _install_hooks(app: Flask, latency_ms: int, sleep: Callable[[float], None]) -> None:
    @app.before_request
    def _preflight_and_latency() -> ResponseReturnValue | None:
        if request.method == "OPTIONS":
            return Response(status=204)
        if latency_ms > 0:
            sleep(latency_ms / 1000)
        return None

    @app.after_request
    def _cors(response: Response) -> Response:
        # An open development endpoint: any origin, so a browser app on any port can read it.
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type"
        response.headers["Access-Control-Max-Age"] = "600"
        return response

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> ResponseReturnValue:
        code = {404: "not-found", 405: "not-supported"}.get(error.code or 500, "exception")
        return _outcome(error.description or "error", code, error.code or 500)


@fhir_bp.before_request
def _check_token() -> ResponseReturnValue | None:
    auth = request.headers.get("Authorization", "")
    if not auth:
        return None
    scheme, _, token = auth.partition(" ")
    state: smart_server.SmartState = current_app.extensions["sandbox_smart"]
    if scheme.lower() != "bearer" or not state.token_is_valid(token.strip()):
        response = _outcome("Unknown or expired access token.", "login", 401)
        response.headers["WWW-Authenticate"] = 'Bearer realm="sandbox"'
        return response
    return None


@fhir_bp.get("/metadata")
def metadata() -> ResponseReturnValue:
    """Return the CapabilityStatement: types, search parameters and the SMART endpoints."""
    base = request.url_root.rstrip("/")
    resources = [
        {
            "type": resource_type,
            "interaction": [{"code": "read"}, {"code": "search-type"}],
            "searchParam": [
                {"name": name, "type": _PARAM_TYPES[name]} for name in fhir_search.FILTER_PARAMS
            ],
        }
        for resource_type in sorted(_store().types)
    ]
    return _fhir(
        {
            "resourceType": "CapabilityStatement",
            "status": "active",
            "date": date.today().isoformat(),
            "kind": "instance",
            "software": {"name": "B-ALL sandbox FHIR endpoint (development and test tool)"},
            "implementation": {"description": "Sandbox patients, read-only", "url": base},
            "fhirVersion": FHIR_VERSION,
            "format": ["json"],
            "rest": [{"mode": "server", "security": _security(base), "resource": resources}],
        }
    )


_PARAM_TYPES = {
    "_id": "token",
    "patient": "reference",
    "subject": "reference",
    "code": "token",
    "category": "token",
    "status": "token",
    "clinical-status": "token",
    "date": "date",
}


def _security(base: str) -> dict[str, Any]:
    uris = [("authorize", f"{base}/auth/authorize"), ("token", f"{base}/auth/token")]
    return {
        "service": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                        "code": "SMART-on-FHIR",
                    }
                ]
            }
        ],
        "extension": [
            {
                "url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
                "extension": [{"url": name, "valueUri": uri} for name, uri in uris],
            }
        ],
    }


@fhir_bp.get(f"/{_TYPE}/<resource_id>")
def read(resource_type: str, resource_id: str) -> ResponseReturnValue:
    """Return one resource, or 404 with an OperationOutcome."""
    resource = _store().by_key.get(f"{resource_type}/{resource_id}")
    if resource is None:
        return _outcome(f"{resource_type}/{resource_id} is not known here.", "not-found", 404)
    return _fhir(resource)


@fhir_bp.get(f"/{_TYPE}")
def search_get(resource_type: str) -> ResponseReturnValue:
    """Search with query parameters."""
    return _search(resource_type, request.args.to_dict(flat=False))


@fhir_bp.post(f"/{_TYPE}/_search")
def search_post(resource_type: str) -> ResponseReturnValue:
    """Search with form-encoded parameters (and any in the query string)."""
    params = request.args.to_dict(flat=False)
    for name, values in request.form.to_dict(flat=False).items():
        params.setdefault(name, []).extend(values)
    return _search(resource_type, params)


def _search(resource_type: str, params: dict[str, list[str]]) -> ResponseReturnValue:
    try:
        found = fhir_search.search(_store().by_type.get(resource_type, []), resource_type, params)
    except fhir_search.SearchError as exc:
        return _outcome(str(exc), "not-supported", 400)
    bundle = fhir_search.searchset(
        found, base=request.url_root.rstrip("/"), resource_type=resource_type, params=params
    )
    return _fhir(bundle)


def _store() -> ResourceStore:
    store: ResourceStore = current_app.extensions["sandbox_fhir"]
    return store


def _fhir(body: Mapping[str, Any], status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type=FHIR_JSON)


def _outcome(message: str, code: str, status: int) -> Response:
    issue = {"severity": "error", "code": code, "diagnostics": message}
    return _fhir({"resourceType": "OperationOutcome", "issue": [issue]}, status)
