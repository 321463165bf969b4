"""The OpenAPI 3.1 description of our endpoints, served at ``/openapi.json``.

Bodies reference the same JSON Schemas the service validates with, so the document cannot drift
from the code; a test checks that every route is described.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from flask import Blueprint

from cds_service.protocol import HOOKS, schema

bp = Blueprint("openapi", __name__)

_OUTCOME = {
    "description": "FHIR OperationOutcome",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["resourceType", "issue"],
                "properties": {"resourceType": {"const": "OperationOutcome"}},
            }
        }
    },
}
_ERRORS = {
    status: {**_OUTCOME, "description": text}
    for status, text in {
        "400": "Invalid request (OperationOutcome names the field)",
        "401": "Missing or invalid JWT (no detail given)",
        "404": "Unknown service",
        "413": "Body larger than CDS_MAX_REQUEST_BYTES",
    }.items()
}
_SERVICE_ID = {
    "name": "service_id",
    "in": "path",
    "required": True,
    "schema": {"enum": ["b-all-pathway", "b-all-order-select", "b-all-order-sign"]},
}


_SCHEMA_ONLY = ("$defs", "$schema", "$id")


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    """Resolve our schemas' local ``#/$defs/...`` refs: in OpenAPI, ``#`` is the document root."""
    if isinstance(node, dict):
        ref = node.get("$ref", "")
        if ref.startswith("#/$defs/"):
            rest = {k: v for k, v in node.items() if k != "$ref"}
            return {**_inline(defs[ref.removeprefix("#/$defs/")], defs), **_inline(rest, defs)}
        return {
            k: _inline(v, defs) for k, v in node.items() if k not in ("$defs", "$schema", "$id")
        }
    if isinstance(node, list):
        return [_inline(item, defs) for item in node]
    return node


def _body(name: str) -> dict[str, Any]:
    root = schema(name)
    inlined: dict[str, Any] = _inline(root, root.get("$defs", {}))
    return inlined


def _json(body_schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": body_schema}}}


def _service_request_schema() -> dict[str, Any]:
    context = schema("context")
    hooks = [_inline(context[hook], context["$defs"]) for hook in HOOKS]
    return {"allOf": [_body("request"), {"properties": {"context": {"anyOf": hooks}}}]}


@cache
def document() -> dict[str, Any]:
    """Build the OpenAPI document (cached: it never changes while the app runs)."""
    secured: list[dict[str, list[str]]] = [{"cdsClientJwt": []}]
    return {
        "openapi": "3.1.0",
        "info": {"title": "B-ALL pathway CDS Hooks service", "version": "2.0"},
        "components": {
            "securitySchemes": {
                "cdsClientJwt": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            }
        },
        "paths": {
            "/cds-services": {
                "get": {
                    "summary": "CDS Hooks discovery",
                    "security": secured,
                    "responses": {"200": _json(_body("discovery"), "Services"), **_ERRORS},
                }
            },
            "/cds-services/{service_id}": {
                "post": {
                    "summary": "Call a CDS service",
                    "security": secured,
                    "parameters": [_SERVICE_ID],
                    "requestBody": {"required": True, **_json(_service_request_schema(), "Call")},
                    "responses": {
                        "200": _json(_body("response"), "Cards"),
                        "412": {**_OUTCOME, "description": "Required data unobtainable"},
                        **_ERRORS,
                    },
                }
            },
            "/cds-services/{service_id}/feedback": {
                "post": {
                    "summary": "Feedback on cards",
                    "security": secured,
                    "parameters": [_SERVICE_ID],
                    "requestBody": {"required": True, **_json(_body("feedback"), "Feedback")},
                    "responses": {"200": _json({"type": "object"}, "Stored"), **_ERRORS},
                }
            },
            "/healthz": {
                "get": {
                    "summary": "Liveness and knowledge version",
                    "responses": {"200": _json({"type": "object"}, "Alive")},
                }
            },
            "/openapi.json": {
                "get": {
                    "summary": "This document",
                    "responses": {"200": _json({"type": "object"}, "OpenAPI")},
                }
            },
        },
    }


@bp.get("/openapi.json")
def openapi_json() -> dict[str, Any]:
    """Serve the OpenAPI document."""
    return document()
