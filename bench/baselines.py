"""The two baselines the service is compared with, served by gunicorn exactly like the service.

``create_bare_app`` is the floor: decode the body, answer ``{"cards": []}``. ``create_naive_app``
is the naive service: the same, but every prefetched resource is validated with fhir.resources R4
models first (what "parse everything" would cost). Run them as
``gunicorn 'bench.baselines:create_bare_app()'``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from flask import Flask, request

from cds_service.fhir.models import parse_resource

EMPTY = {"cards": []}


def create_bare_app() -> Flask:
    """Build the floor: a Flask app that decodes the body and returns no cards."""
    app = Flask("bench-bare")

    @app.post("/cds-services/<service_id>")
    def call(service_id: str) -> dict[str, Any]:
        json.loads(request.get_data(cache=False))
        return EMPTY

    _add_healthz(app)
    return app


def create_naive_app() -> Flask:
    """Build the naive service: decode, then validate every prefetched resource as R4."""
    app = Flask("bench-naive")

    @app.post("/cds-services/<service_id>")
    def call(service_id: str) -> dict[str, Any]:
        body = json.loads(request.get_data(cache=False))
        validate_all(body)
        return EMPTY

    _add_healthz(app)
    return app


def validate_all(body: Any) -> int:
    """Validate every resource in a request's prefetch; return how many were valid R4."""
    return sum(parse_resource(resource) is not None for resource in prefetched(body))


def prefetched(body: Any) -> Iterator[Any]:
    """Yield every resource of a request's prefetch (Bundle entries and lone resources)."""
    values = body.get("prefetch") or {} if isinstance(body, dict) else {}
    for value in values.values():
        if isinstance(value, dict) and value.get("resourceType") == "Bundle":
            yield from (entry.get("resource") for entry in value.get("entry") or [])
        elif value is not None:
            yield value


def _add_healthz(app: Flask) -> None:
    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}
