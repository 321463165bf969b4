"""SMART App Launch 2.0 EHR launch, client side: discovery, authorize redirect, code exchange.

Everything that talks to the EHR's authorization server is here, behind a ``requests.Session`` the
caller injects, so the whole dance is testable with ``responses``.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import requests

SCOPES_V2 = "launch openid fhirUser patient/*.rs"
SCOPES_V1 = "launch openid fhirUser patient/*.read"
_TIMEOUT = 5.0
_MAX_BYTES = 1_000_000


class SmartError(Exception):
    """The launch cannot go on; ``reason`` is safe to show to the person at the screen."""

    def __init__(self, reason: str, *, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


@dataclass(frozen=True)
class SmartConfiguration:
    authorization_endpoint: str
    token_endpoint: str
    supports_v2: bool


@dataclass(frozen=True)
class TokenGrant:
    access_token: str
    patient: str
    scope: str
    expires_in: int
    app_context: str | None


def new_pkce_pair() -> tuple[str, str]:
    """Return (code_verifier, S256 code_challenge) per RFC 7636."""
    verifier = secrets.token_urlsafe(64)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def discover(iss: str, session: requests.Session) -> SmartConfiguration:
    """Read ``iss/.well-known/smart-configuration``."""
    document = _get_json(session, iss.rstrip("/") + "/.well-known/smart-configuration")
    try:
        authorize = str(document["authorization_endpoint"])
        token = str(document["token_endpoint"])
    except (KeyError, TypeError):
        raise SmartError("The EHR's SMART configuration has no authorization endpoints.") from None
    scopes = document.get("scopes_supported") or []
    capabilities = document.get("capabilities") or []
    supports_v2 = "permission-v2" in capabilities or any(
        isinstance(s, str) and s.endswith(".rs") for s in scopes
    )
    return SmartConfiguration(authorize, token, supports_v2)


def authorize_url(
    config: SmartConfiguration,
    *,
    client_id: str,
    redirect_uri: str,
    launch: str,
    iss: str,
    state: str,
    code_challenge: str,
) -> str:
    """Build the redirect to the EHR's authorize endpoint (EHR launch, PKCE S256)."""
    query = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "launch": launch,
        "scope": SCOPES_V2 if config.supports_v2 else SCOPES_V1,
        "state": state,
        "aud": iss,
        "code_challenge": code_challenge,
        "code_challenge_method": "S256",
    }
    separator = "&" if "?" in config.authorization_endpoint else "?"
    return config.authorization_endpoint + separator + urlencode(query)


def exchange_code(
    token_endpoint: str,
    *,
    code: str,
    code_verifier: str,
    client_id: str,
    client_secret: str,
    redirect_uri: str,
    session: requests.Session,
) -> TokenGrant:
    """Trade the authorization code for a token; confidential clients authenticate with Basic."""
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": code_verifier,
    }
    auth = None
    if client_secret:
        auth = (client_id, client_secret)
    else:
        form["client_id"] = client_id
    try:
        response = session.post(
            token_endpoint, data=form, auth=auth, timeout=_TIMEOUT, allow_redirects=False
        )
    except requests.RequestException:
        raise SmartError(
            "The EHR's authorization server could not be reached.", status=502
        ) from None
    if response.status_code != 200:
        raise SmartError("The EHR refused the authorization code.", status=401)
    return _grant(_json_body(response))


def _grant(body: Mapping[str, Any]) -> TokenGrant:
    token, patient = body.get("access_token"), body.get("patient")
    if not isinstance(token, str) or not token:
        raise SmartError("The EHR returned no access token.", status=401)
    if not isinstance(patient, str) or not patient:
        raise SmartError("The EHR did not say which patient to show.", status=400)
    app_context = body.get("appContext")
    if app_context is not None and not isinstance(app_context, str):
        app_context = None
    expires = body.get("expires_in")
    return TokenGrant(
        access_token=token,
        patient=patient,
        scope=str(body.get("scope", "")),
        expires_in=expires if isinstance(expires, int) and expires > 0 else 300,
        app_context=app_context,
    )


def _get_json(session: requests.Session, url: str) -> Mapping[str, Any]:
    try:
        response = session.get(
            url, timeout=_TIMEOUT, allow_redirects=False, headers={"Accept": "application/json"}
        )
    except requests.RequestException:
        raise SmartError("The EHR's FHIR server could not be reached.", status=502) from None
    if response.status_code != 200:
        raise SmartError("The EHR's FHIR server does not offer SMART App Launch.", status=502)
    return _json_body(response)


def _json_body(response: requests.Response) -> Mapping[str, Any]:
    if len(response.content) > _MAX_BYTES:
        raise SmartError("The EHR sent an unexpectedly large answer.", status=502)
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise SmartError("The EHR sent an answer that is not JSON.", status=502)
    return body
