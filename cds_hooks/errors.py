"""JSON errors for every failure, so a caller never sees an HTML page or a bare 500.

Error body (all 4xx/5xx): ``{"error": {"status": 400, "code": "bad-request",
"message": "...", "field": "context.patientId"}}`` - ``field`` only when one
field is at fault. 401 answers also carry ``WWW-Authenticate: Bearer``.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An error with an HTTP status that the client should see as JSON."""

    code = "error"

    def __init__(self, status: int, message: str, *, field: str | None = None, code: str | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field
        if code:
            self.code = code

    def to_response(self) -> Response:
        body: dict = {"status": self.status, "code": self.code, "message": self.message}
        if self.field:
            body["field"] = self.field
        response = jsonify({"error": body})
        response.status_code = self.status
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
    """Turn every error, expected or not, into a JSON body with the right status."""

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
