"""The pathway viewer: a SMART App Launch 2.0 EHR-launched page, rendered on the server.

``/smart/launch`` → the EHR's authorize endpoint → ``/smart/callback`` → ``/smart/app``. The page
reads the child's data with the same FHIR client, facts and engine as the hooks.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests
from flask import Blueprint, Flask, current_app, redirect, render_template, request, session
from werkzeug.wrappers import Response

from cds_service.errors import PreconditionFailed
from cds_service.fhir.client import host_allowed
from cds_service.fhir.prefetch import FhirFetcher
from cds_service.runtime import runtime
from cds_service.smart import oauth
from cds_service.smart.diagram import LANE_STEPS, render_pathway_svg
from cds_service.smart.page import page_model
from cds_service.smart.sessions import SessionStore, make_session_store
from hooks.pipeline import patient_facts

bp = Blueprint("smart", __name__, url_prefix="/smart", template_folder="templates")
log = logging.getLogger("cds_service.smart")
LAUNCH_TTL = 600


@dataclass(frozen=True)
class SmartRuntime:
    store: SessionStore
    fetcher: FhirFetcher
    http: requests.Session
    allowed_hosts: frozenset[str]
    client_id: str
    client_secret: str
    redirect_uri: str


def init_app(app: Flask, settings: Mapping[str, Any]) -> None:
    """Register the viewer and its server-side state (only when a SMART client id is set)."""
    hosts = frozenset(settings["SMART_ALLOWED_ISS_HOSTS"])
    app.secret_key = settings["SECRET_KEY"] or secrets.token_urlsafe(32)
    secure = str(settings["PUBLIC_BASE_URL"]).startswith("https://")
    # Inside an EHR's iframe the cookie is third-party: it needs SameSite=None, which needs Secure.
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SECURE=secure,
        SESSION_COOKIE_SAMESITE="None" if secure else "Lax",
        SESSION_COOKIE_NAME="b_all_viewer",
    )
    app.extensions["cds_smart"] = SmartRuntime(
        store=make_session_store(settings),
        fetcher=FhirFetcher.from_settings({**settings, "FHIR_ALLOWED_HOSTS": sorted(hosts)}),
        http=requests.Session(),
        allowed_hosts=hosts,
        client_id=settings["SMART_CLIENT_ID"],
        client_secret=settings["SMART_CLIENT_SECRET"],
        redirect_uri=settings["SMART_REDIRECT_URL"]
        or f"{settings['PUBLIC_BASE_URL']}/smart/callback",
    )
    app.register_blueprint(bp)


def _smart() -> SmartRuntime:
    value: SmartRuntime = current_app.extensions["cds_smart"]
    return value


@bp.get("/launch")
def launch() -> Response | tuple[str, int]:
    """Start an EHR launch: discover the EHR's endpoints and send the browser to authorize."""
    smart = _smart()
    iss, launch_id = request.args.get("iss", ""), request.args.get("launch", "")
    if not iss or not launch_id:
        return _error("The viewer must be opened from the EHR (iss and launch are missing).", 400)
    if not host_allowed(iss, sorted(smart.allowed_hosts)):
        log.warning("smart_iss_refused", extra={"event": "smart_iss_refused"})
        return _error("This EHR is not registered with the pathway viewer.", 403)
    try:
        config = oauth.discover(iss, smart.http)
    except oauth.SmartError as exc:
        return _error(exc.reason, exc.status)
    state = secrets.token_urlsafe(32)
    verifier, challenge = oauth.new_pkce_pair()
    smart.store.put(
        "launch:" + state,
        {"iss": iss, "token_endpoint": config.token_endpoint, "verifier": verifier},
        LAUNCH_TTL,
    )
    return redirect(
        oauth.authorize_url(
            config,
            client_id=smart.client_id,
            redirect_uri=smart.redirect_uri,
            launch=launch_id,
            iss=iss,
            state=state,
            code_challenge=challenge,
        )
    )


@bp.get("/callback")
def callback() -> Response | tuple[str, int]:
    """Finish the launch: check state, trade the code, keep the token on the server."""
    smart = _smart()
    if request.args.get("error"):
        return _error("Access to this patient's record was not granted by the EHR.", 403)
    pending = smart.store.pop("launch:" + request.args.get("state", ""))
    if pending is None:
        return _error("This launch has expired or was already used. Open it again.", 400)
    try:
        grant = oauth.exchange_code(
            pending["token_endpoint"],
            code=request.args.get("code", ""),
            code_verifier=pending["verifier"],
            client_id=smart.client_id,
            client_secret=smart.client_secret,
            redirect_uri=smart.redirect_uri,
            session=smart.http,
        )
    except oauth.SmartError as exc:
        return _error(exc.reason, exc.status)
    session_id = secrets.token_urlsafe(32)
    smart.store.put(
        "session:" + session_id,
        {
            "iss": pending["iss"],
            "token": grant.access_token,
            "patient": grant.patient,
            "step": _step_from(grant.app_context),
        },
        grant.expires_in,
    )
    session.clear()
    session["viewer"] = session_id
    return redirect("/smart/app")


@bp.get("/app")
def viewer() -> tuple[str, int]:
    """Render the child's pathway from fresh FHIR data."""
    smart, rt = _smart(), runtime()
    entry = smart.store.get("session:" + str(session.get("viewer", "")))
    if entry is None:
        return _error("Your viewer session has expired. Open the viewer again from the EHR.", 401)
    # The viewer reads the chart exactly as a hook call without prefetch would.
    as_hook_call = {
        "hook": "patient-view",
        "hookInstance": "smart-viewer",
        "fhirServer": entry["iss"],
        "fhirAuthorization": {"access_token": entry["token"], "token_type": "Bearer"},
        "context": {"patientId": entry["patient"]},
    }
    try:
        facts = patient_facts(as_hook_call, rt, fetcher=smart.fetcher)
    except PreconditionFailed:
        return _error("The EHR's FHIR server could not be read. Try again in a moment.", 502)
    model = page_model(facts, rt.knowledge, emphasised=entry.get("step"))
    svg = render_pathway_svg(model.displays, model.position, model.emphasised)
    return render_template("viewer.html", page=model, svg=svg, map_steps=LANE_STEPS), 200


def _step_from(app_context: str | None) -> str | None:
    if not app_context:
        return None
    try:
        value = json.loads(app_context)
    except ValueError:
        return None
    step = value.get("step") if isinstance(value, dict) else None
    return step if isinstance(step, str) and len(step) <= 64 else None


def _error(message: str, status: int) -> tuple[str, int]:
    return render_template("error.html", message=message), status
