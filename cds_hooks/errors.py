"""Every failure answered as a FHIR OperationOutcome, so a caller never sees an HTML page or a bare 500.

CDS Hooks 3.0 asks a service to answer any non-2xx with an OperationOutcome;
2.0.1 clients read the HTTP status, which is unchanged. One issue per answer::

    {"resourceType": "OperationOutcome", "issue": [{
        "severity": "error",
        "code": "invalid",                       # FHIR issue type, from the status
        "details": {"coding": [{"system": ERROR_CODES, "code": "bad-request"}],
                    "text": "context.patientId must be a non-empty string"},
        "diagnostics": "HTTP 400 bad-request: context.patientId must be ...",
        "expression": ["context.patientId"]}]}  # only when fields are at fault

``details.text`` is the message for people, ``details.coding`` the service's
own error code (stable, for programs), ``expression`` the request fields at
fault (for a 412, the prefetch keys missing). 401 answers also carry
``WWW-Authenticate: Bearer``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

ERROR_CODES = "http://bme-cds.org/fhir/CodeSystem/error"
# FHIR IssueType (http://hl7.org/fhir/issue-type) per HTTP status; others: "invalid" (4xx) or "exception" (5xx).
ISSUE_TYPES = {
    400: "invalid",
    401: "security",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    409: "conflict",
    412: "processing",
    413: "too-costly",
    415: "not-supported",
    429: "throttled",
    503: "transient",
    504: "timeout",
}


class ApiError(Exception):
    """An error with an HTTP status that the client sees as an OperationOutcome.

    ``fields`` names the request fields at fault (``expression``); ``code`` is
    the service's own error code; ``issue_type`` overrides the FHIR issue type
    the status gives.
    """

    code = "error"

    def __init__(
        self,
        status: int,
        message: str,
        *,
        field: str | None = None,
        code: str | None = None,
        fields: Sequence[str] = (),
        issue_type: str | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.message = message
        self.fields = tuple(fields) or ((field,) if field else ())
        self.issue_type = issue_type or ISSUE_TYPES.get(status, "exception" if status >= 500 else "invalid")
        if code:
            self.code = code

    def operation_outcome(self) -> dict:
        """This error as a FHIR R4 OperationOutcome (no empty values)."""
        issue: dict = {
            "severity": "error",
            "code": self.issue_type,
            "details": {"coding": [{"system": ERROR_CODES, "code": self.code}], "text": self.message},
            "diagnostics": f"HTTP {self.status} {self.code}: {self.message}",
        }
        if self.fields:
            issue["expression"] = list(self.fields)
        return {"resourceType": "OperationOutcome", "issue": [issue]}

    def to_response(self, mimetype: str = "application/json") -> Response:
        response = jsonify(self.operation_outcome())
        response.status_code = self.status
        response.mimetype = mimetype
        if self.status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
        return response


def bad_request(message: str, field: str | None = None) -> ApiError:
    return ApiError(400, message, field=field, code="bad-request")


def unauthorized(reason: str) -> ApiError:
    return ApiError(401, reason, code="unauthorized")


def unavailable(message: str) -> ApiError:
    return ApiError(503, message, code="unavailable")


def register(app: Flask) -> None:
    """Turn every error, expected or not, into an OperationOutcome with the right status."""

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        return exc.to_response()

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        code = (exc.name or "error").lower().replace(" ", "-")
        response = ApiError(exc.code or 500, exc.description or exc.name, code=code).to_response()
        # Keep the headers the exception carries, e.g. the Allow list RFC 9110 requires on a 405.
        for name, value in exc.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        # Log the type only: messages of arbitrary exceptions may quote request data.
        log.error("unhandled %s", type(exc).__name__, exc_info=app.debug)
        return ApiError(500, "internal error", code="internal-error").to_response()
