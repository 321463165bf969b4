"""The CDS Hooks endpoints: discovery, service calls and feedback (CONFORMANCE.md "Wire")."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, current_app, g, request

from cds_service.errors import BadRequest, NotFound, PayloadTooLarge
from cds_service.protocol import check_feedback, check_request
from cds_service.runtime import runtime
from hooks import SERVICES, HookService

bp = Blueprint("cds", __name__)

# hookInstance is client-chosen text; only id-shaped values are worth logging.
_LOGGABLE_ID = re.compile(r"^[A-Za-z0-9\-_.:]{1,64}$")


@bp.get("/cds-services")
def discovery() -> dict[str, Any]:
    """List the B-ALL services with their prefetch templates."""
    _authenticate()
    return {"services": [service.definition for service in SERVICES.values()]}


@bp.post("/cds-services/<service_id>")
def call_service(service_id: str) -> dict[str, Any]:
    """Run one hook call and answer with cards."""
    _authenticate()
    service = _service(service_id)
    body = check_request(_read_json(), service.hook)
    if _LOGGABLE_ID.match(body["hookInstance"]):
        g.hook_instance = body["hookInstance"]
    return service.handle(body, runtime())


@bp.post("/cds-services/<service_id>/feedback")
def feedback(service_id: str) -> dict[str, Any]:
    """Store what the clinician did with our cards; the same item twice is stored once."""
    _authenticate()
    _service(service_id)
    items = check_feedback(_read_json())["feedback"]
    rt = runtime()
    stored = rt.store.record_feedback(service_id, items, received_at=datetime.now(UTC))
    g.step_codes = None
    g.feedback_stored = stored
    return {}


@bp.get("/healthz")
def healthz() -> dict[str, Any]:
    """Report liveness and the knowledge version (no auth: it says nothing about patients)."""
    return {"status": "ok", "knowledgeVersion": runtime().knowledge.version}


def _service(service_id: str) -> HookService:
    service = SERVICES.get(service_id)
    if service is None:
        raise NotFound("No CDS service with this id.", expression=["id"])
    return service


def _authenticate() -> None:
    rt = runtime()
    if rt.settings["AUTH"] == "off":
        return
    # aud must be the exact URL the EHR called, as seen from outside any proxy.
    audience = rt.public_base_url + request.path
    g.jwt_claims = rt.verifier.verify(request.headers.get("Authorization"), audience)


def _read_body() -> bytes:
    """Return the request body; 413 above MAX_CONTENT_LENGTH, however it was sent."""
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    length = request.content_length
    if length is None:
        raw = request.get_data(cache=False)  # chunked: werkzeug stops reading at the limit
        if _body_continues(raw, limit):
            raise PayloadTooLarge()
        return raw
    if limit is not None and length > limit:
        raise PayloadTooLarge()
    # One read of the declared length. Werkzeug's limited stream would read in 64 KiB steps,
    # and gunicorn copies what it holds back on every step (about 1.4 ms for a 0.7 MB chart).
    stream, parts, remaining = request.environ["wsgi.input"], [], length
    while remaining > 0:
        part = stream.read(remaining)
        if not part:
            break  # the client stopped early: the short body fails to decode (400)
        parts.append(part)
        remaining -= len(part)
    return b"".join(parts)


def _body_continues(raw: bytes, limit: int | None) -> bool:
    """Say whether a body without Content-Length (chunked) went on past the size limit."""
    # Werkzeug stops reading such a body at MAX_CONTENT_LENGTH without raising: the cut-off
    # body would be answered 400 (invalid JSON) instead of 413. Found by tests/security.
    if limit is None or len(raw) < limit:
        return False
    return bool(request.environ["wsgi.input"].read(1))


def _read_json() -> Any:
    raw = _read_body()
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise BadRequest("The request body is not valid JSON.", expression=["$"]) from None
