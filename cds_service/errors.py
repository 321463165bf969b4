"""One exception tree; each error knows its HTTP status and renders a FHIR OperationOutcome.

CdsError                    500 (our own bug; generic text only)
 ├── BadRequest             400 invalid JSON, schema failure, wrong hook
 ├── Unauthorized           401 missing/invalid JWT (never says why)
 ├── NotFound               404 unknown service
 ├── MethodNotAllowed       405
 ├── PreconditionFailed     412 required prefetch data could not be had
 ├── PayloadTooLarge        413 body above CDS_MAX_REQUEST_BYTES
 └── UnsupportedMediaType   415 body is not JSON
ConfigError                 start-up refusal (not an HTTP error)
"""

from __future__ import annotations

from typing import Any


class ConfigError(Exception):
    """A setting or a knowledge file is wrong: the service refuses to start."""


class CdsError(Exception):
    status = 500
    # FHIR IssueType (http://hl7.org/fhir/issue-type)
    issue_code = "exception"
    default_message = "The service could not process the request."

    def __init__(self, message: str | None = None, *, expression: list[str] | None = None) -> None:
        super().__init__(message or self.default_message)
        self.message = message or self.default_message
        self.expression = expression or []

    def operation_outcome(self) -> dict[str, Any]:
        """Render the error as a FHIR R4 OperationOutcome (no internals, no PHI)."""
        return operation_outcome(self.message, code=self.issue_code, expression=self.expression)


class BadRequest(CdsError):
    status = 400
    issue_code = "invalid"
    default_message = "The request is not a valid CDS Hooks request."


class Unauthorized(CdsError):
    status = 401
    issue_code = "login"
    # Deliberately vague: the reason is logged (without the token), never returned.
    default_message = "Authentication required."


class NotFound(CdsError):
    status = 404
    issue_code = "not-found"
    default_message = "No such CDS service."


class MethodNotAllowed(CdsError):
    status = 405
    issue_code = "not-supported"
    default_message = "Method not allowed on this endpoint."


class PreconditionFailed(CdsError):
    status = 412
    issue_code = "incomplete"
    default_message = "Required FHIR data was not prefetched and could not be fetched."


class PayloadTooLarge(CdsError):
    status = 413
    issue_code = "too-costly"
    default_message = "The request body is too large."


class UnsupportedMediaType(CdsError):
    status = 415
    issue_code = "not-supported"
    default_message = "The request body must be JSON (Content-Type: application/json)."


def operation_outcome(
    message: str, *, code: str = "exception", expression: list[str] | None = None
) -> dict[str, Any]:
    """Build a one-issue OperationOutcome."""
    issue: dict[str, Any] = {"severity": "error", "code": code, "diagnostics": message}
    if expression:
        issue["expression"] = expression
    return {"resourceType": "OperationOutcome", "issue": [issue]}
