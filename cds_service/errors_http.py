"""Turn every failure into a status and an OperationOutcome body: no HTML, no stack trace."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

from cds_service.errors import CdsError, operation_outcome

log = logging.getLogger("cds_service.errors")

# Werkzeug's own errors (routing, body size) mapped to FHIR issue types.
_HTTP_ISSUE_CODES = {
    404: "not-found",
    405: "not-supported",
    413: "too-costly",
    415: "not-supported",
}
_HTTP_MESSAGES = {
    404: "No such endpoint.",
    405: "Method not allowed on this endpoint.",
    413: "The request body is too large.",
}


def outcome_response(status: int, body: dict[str, object]) -> Response:
    """Send an OperationOutcome with the status; 401 also gets the Bearer challenge."""
    response = jsonify(body)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = "Bearer"
    return response


def init_app(app: Flask) -> None:
    """Register the handlers that render errors."""

    @app.errorhandler(CdsError)
    def _cds_error(error: CdsError) -> Response:
        return outcome_response(error.status, error.operation_outcome())

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response:
        status = error.code or 500
        message = _HTTP_MESSAGES.get(status, "The request could not be processed.")
        body = operation_outcome(message, code=_HTTP_ISSUE_CODES.get(status, "exception"))
        response = outcome_response(status, body)
        if status == 405 and error.valid_methods:  # type: ignore[attr-defined]
            response.headers["Allow"] = ", ".join(error.valid_methods)  # type: ignore[attr-defined]
        return response

    @app.errorhandler(Exception)
    def _bug(error: Exception) -> Response:
        # Our own bug. The log gets the exception type and frames (no message, no locals: they may
        # hold PHI); the client gets a generic OperationOutcome.
        log.error("unhandled_error", exc_info=error, extra={"event": "unhandled_error"})
        return outcome_response(500, CdsError().operation_outcome())
