"""CORS for the endpoints browsers call: ``/cds-services*``, ``/handouts*`` and (demo mode) ``/demo-fhir*``.

The CDS Hooks sandbox and other browser-based clients call the service from
their own origin with ``Authorization`` and ``Content-Type: application/json``,
so the browser sends a preflight ``OPTIONS`` first. Preflights are answered
for any origin without authentication (Flask's automatic OPTIONS response
never reaches a view, so ``require_auth`` cannot run on it). Credentials
(cookies) are never allowed: callers authenticate with a bearer token.

A hosted https page calling a service on ``localhost`` or a private address
also needs Chrome's Private Network Access answer: when the preflight carries
``Access-Control-Request-Private-Network: true`` the response says
``Access-Control-Allow-Private-Network: true`` (flask-cors >= 5, see
corydolphin/flask-cors#309).
"""

from __future__ import annotations

from flask import Flask
from flask_cors import CORS

ALLOWED_HEADERS = ["Authorization", "Content-Type"]
ALLOWED_METHODS = ["GET", "POST", "OPTIONS"]
EXPOSED_HEADERS = ["X-Request-ID", "WWW-Authenticate"]
PREFLIGHT_MAX_AGE_SECONDS = 600

_OPTIONS = {
    "origins": "*",
    "allow_headers": ALLOWED_HEADERS,
    "methods": ALLOWED_METHODS,
    "expose_headers": EXPOSED_HEADERS,
    "max_age": PREFLIGHT_MAX_AGE_SECONDS,
    "supports_credentials": False,
    "send_wildcard": True,
    "allow_private_network": True,
}


def register(app: Flask) -> None:
    """Enable CORS on the browser-facing routes of ``app``."""
    CORS(app, resources={r"/cds-services.*": _OPTIONS, r"/handouts.*": _OPTIONS, r"/demo-fhir.*": _OPTIONS})
