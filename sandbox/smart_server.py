"""SMART App Launch 2.0 for the local FHIR endpoint: EHR launch, authorization code + PKCE.

Small but real, so the pathway viewer can be launched and tested the way an EHR launches it:
``/launch`` (a test helper standing in for the EHR's launch button) mints a ``launch`` value bound
to a patient; ``/auth/authorize`` auto-approves (no login screen: a development tool) and returns a
one-time code bound to launch, client, redirect URI and PKCE challenge; ``/auth/token`` checks them
all and issues an opaque Bearer token the FHIR endpoints then accept.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from flask import Blueprint, Response, current_app, jsonify, redirect, request
from flask.typing import ResponseReturnValue

bp = Blueprint("smart", __name__)

LAUNCH_TTL_SECONDS = 600
CODE_TTL_SECONDS = 120
TOKEN_TTL_SECONDS = 3600
DEFAULT_SCOPE = "launch patient/*.rs"
CAPABILITIES = [
    "launch-ehr",
    "client-public",
    "client-confidential-symmetric",
    "context-ehr-patient",
    "permission-v2",
    "permission-v1",
]
SCOPES_SUPPORTED = [
    "launch",
    "launch/patient",
    "patient/*.rs",
    "patient/*.read",
    "user/*.rs",
    "user/*.read",
]


@dataclass(frozen=True)
class Launch:
    patient: str
    app_context: str | None
    expires: float


@dataclass(frozen=True)
class Grant:
    client_id: str
    redirect_uri: str
    challenge: str
    launch: Launch
    scope: str
    expires: float


@dataclass
class SmartState:
    """Launches, codes and tokens of one FHIR app; ``clients`` None = any client id, public."""

    clients: Mapping[str, str | None] | None
    clock: Callable[[], float]
    new_token: Callable[[], str]
    patient_exists: Callable[[str], bool]
    launches: dict[str, Launch] = field(default_factory=dict)
    codes: dict[str, Grant] = field(default_factory=dict)
    tokens: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def token_is_valid(self, token: str) -> bool:
        """Tell whether ``token`` was issued here and has not expired."""
        with self.lock:
            expires = self.tokens.get(token)
        return expires is not None and expires > self.clock()

    def knows_client(self, client_id: str) -> bool:
        """Tell whether ``client_id`` may ask for codes."""
        return bool(client_id) and (self.clients is None or client_id in self.clients)

    def secret_of(self, client_id: str) -> str | None:
        """Return the client's secret (None for a public client)."""
        return None if self.clients is None else self.clients.get(client_id)


def init_app(app: Any, state: SmartState) -> None:
    """Attach the SMART state and endpoints to the FHIR app."""
    app.extensions["sandbox_smart"] = state
    app.register_blueprint(bp)


def _state() -> SmartState:
    state: SmartState = current_app.extensions["sandbox_smart"]
    return state


def _base() -> str:
    return request.url_root.rstrip("/")


@bp.get("/.well-known/smart-configuration")
def smart_configuration() -> Response:
    """Describe the endpoints and capabilities (SMART App Launch 2.0 discovery)."""
    base = _base()
    return jsonify(
        {
            "issuer": base,
            "authorization_endpoint": f"{base}/auth/authorize",
            "token_endpoint": f"{base}/auth/token",
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
            "grant_types_supported": ["authorization_code"],
            "response_types_supported": ["code"],
            "scopes_supported": SCOPES_SUPPORTED,
            "capabilities": CAPABILITIES,
            "code_challenge_methods_supported": ["S256"],
        }
    )


@bp.get("/launch")
def launch() -> ResponseReturnValue:
    """Mint a launch value for a patient (the EHR's launch button); redirect to ``app`` if given."""
    state = _state()
    patient = request.args.get("patient", "")
    if not state.patient_exists(patient):
        return jsonify({"error": "unknown patient"}), 404
    value = state.new_token()
    with state.lock:
        state.launches[value] = Launch(
            patient, request.args.get("appContext") or None, state.clock() + LAUNCH_TTL_SECONDS
        )
    app_url = request.args.get("app")
    if app_url and _is_http_url(app_url):
        return redirect(_with_query(app_url, {"iss": _base(), "launch": value}))
    return jsonify({"launch": value, "iss": _base(), "patient": patient})


@bp.get("/auth/authorize")
def authorize() -> ResponseReturnValue:
    """Check the request, auto-approve it and redirect with a one-time code."""
    state, args = _state(), request.args
    client_id, redirect_uri = args.get("client_id", ""), args.get("redirect_uri", "")
    # Never redirect to an unchecked URI or for an unknown client (RFC 6749 §4.1.2.1).
    if not state.knows_client(client_id):
        return jsonify({"error": "invalid_client"}), 400
    if not _is_http_url(redirect_uri):
        return jsonify({"error": "invalid_request", "error_description": "bad redirect_uri"}), 400
    error = _authorize_error(state, args)
    if error:
        return redirect(_with_query(redirect_uri, _drop_empty(error, args.get("state"))))
    code = state.new_token()
    with state.lock:
        state.codes[code] = Grant(
            client_id=client_id,
            redirect_uri=redirect_uri,
            challenge=args["code_challenge"],
            launch=state.launches[args["launch"]],
            scope=_granted_scope(args.get("scope", "")),
            expires=state.clock() + CODE_TTL_SECONDS,
        )
    return redirect(_with_query(redirect_uri, {"code": code, "state": args["state"]}))


def _granted_scope(requested: str) -> str:
    # Grant only what this server can honour (no id_token, so no openid/fhirUser), as an EHR would.
    granted = [scope for scope in requested.split() if scope in SCOPES_SUPPORTED]
    return " ".join(granted) or DEFAULT_SCOPE


def _authorize_error(state: SmartState, args: Mapping[str, str]) -> dict[str, str] | None:
    if args.get("response_type") != "code":
        return {"error": "unsupported_response_type"}
    if not args.get("state"):
        return {"error": "invalid_request", "error_description": "state is required"}
    if not args.get("code_challenge") or args.get("code_challenge_method") != "S256":
        return {"error": "invalid_request", "error_description": "PKCE S256 is required"}
    aud = args.get("aud")
    if aud and aud.rstrip("/") != _base():
        return {"error": "invalid_request", "error_description": "aud is not this FHIR server"}
    with state.lock:
        known = state.launches.get(args.get("launch", ""))
    if known is None or known.expires <= state.clock():
        return {"error": "invalid_request", "error_description": "unknown or expired launch"}
    return None


@bp.post("/auth/token")
def token() -> ResponseReturnValue:
    """Exchange a code for an access token after checking client, redirect URI and verifier."""
    state, form = _state(), request.form
    if form.get("grant_type") != "authorization_code":
        return _token_error("unsupported_grant_type", 400)
    client_id = _authenticated_client(state)
    if client_id is None:
        return _token_error("invalid_client", 401)
    with state.lock:
        # One-time: the code is spent on the first attempt, right or wrong (RFC 6749 §4.1.2).
        grant = state.codes.pop(form.get("code", ""), None)
    if (
        grant is None
        or grant.expires <= state.clock()
        or grant.client_id != client_id
        or grant.redirect_uri != form.get("redirect_uri")
        or not _verifier_matches(form.get("code_verifier", ""), grant.challenge)
    ):
        return _token_error("invalid_grant", 400)
    access_token = state.new_token()
    with state.lock:
        state.tokens[access_token] = state.clock() + TOKEN_TTL_SECONDS
    body: dict[str, Any] = {
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": TOKEN_TTL_SECONDS,
        "scope": grant.scope,
        "patient": grant.launch.patient,
    }
    if grant.launch.app_context:
        body["appContext"] = grant.launch.app_context
    return _no_store(jsonify(body))


def _authenticated_client(state: SmartState) -> str | None:
    auth = request.authorization
    if auth is not None and auth.type == "basic":
        client_id, secret = auth.username or "", auth.password or ""
        expected = state.secret_of(client_id)
        if not state.knows_client(client_id) or expected is None:
            return None
        return client_id if hmac.compare_digest(secret, expected) else None
    client_id = request.form.get("client_id", "")
    # A confidential client must authenticate; a public one only names itself.
    if not state.knows_client(client_id) or state.secret_of(client_id) is not None:
        return None
    return client_id


def _verifier_matches(verifier: str, challenge: str) -> bool:
    if not 43 <= len(verifier) <= 128:
        return False
    digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
    computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    return hmac.compare_digest(computed, challenge)


def _token_error(error: str, status: int) -> tuple[Response, int]:
    response = _no_store(jsonify({"error": error}))
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Basic realm="sandbox"'
    return response, status


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


def _is_http_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _with_query(url: str, params: Mapping[str, str]) -> str:
    return url + ("&" if "?" in url else "?") + urlencode(params)


def _drop_empty(error: dict[str, str], client_state: str | None) -> dict[str, str]:
    return {**error, "state": client_state} if client_state else error
