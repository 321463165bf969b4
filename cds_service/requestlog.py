"""One structured log line per request: ids, status, timing and step codes — never PHI."""

from __future__ import annotations

import logging
import time

from flask import Flask, Response, g, request

log = logging.getLogger("cds_service.access")


def init_app(app: Flask) -> None:
    """Time each request and log it once it is answered."""

    @app.before_request
    def _start_timer() -> None:
        g.started = time.perf_counter()

    @app.after_request
    def _log(response: Response) -> Response:
        started = g.get("started", time.perf_counter())
        log.info(
            "request",
            extra={
                "event": "request",
                "method": request.method,
                "endpoint": request.url_rule.rule if request.url_rule else None,
                "service": (request.view_args or {}).get("service_id"),
                "hook_instance": g.get("hook_instance"),
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                "steps": g.get("step_codes"),
            },
        )
        return response
