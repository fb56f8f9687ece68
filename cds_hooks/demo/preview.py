"""``/preview``: see the cards as an EHR would draw them, and send real feedback (demo mode only).

The page (``templates/preview.html`` + ``static/preview.js``) lists the demo
patients and their ready hook calls, or takes a pasted hook request; it then
calls the real ``POST /cds-services/{id}`` from the browser and draws the
cards. Accepting a suggestion or dismissing a card posts real feedback to
``POST /cds-services/{id}/feedback``, so the preview exercises the same path
an EHR does, including alert-fatigue suppression.

Authentication: with auth on and the local dev issuer trusted (the default),
the page asks ``POST /preview/token`` for a token before each call. The token
is minted by the dev issuer for exactly one URL (``aud``), lives
``PREVIEW_TOKEN_SECONDS`` and, like every token, works once (its ``jti`` is
recorded). The trade-off, documented in docs/sandbox.md: in demo mode anyone
who can open the page can call the hooks, which is why demo mode is for
synthetic data on a machine you control. The endpoint answers only same-origin
JSON requests from this machine (loopback), so another web site cannot obtain
tokens through a visitor's browser and a demo server started with
``--host 0.0.0.0`` does not hand tokens to the network.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, render_template, request
from flask.blueprints import BlueprintSetupState

from cds_hooks import errors, urls
from cds_hooks.demo.data import DemoPatientRecord, collect
from cds_hooks.demo.dev_keys import DevKey, load_or_create_dev_key
from cds_hooks.runtime import EXTENSION_KEY, current_runtime
from cds_hooks.settings import Settings

bp = Blueprint("preview", __name__, url_prefix="/preview")

PREVIEW_KEY = "bme_cds.preview"
PREVIEW_TOKEN_SECONDS = 60
PURPOSES = ("hook", "feedback")
# Same-origin script and style files only: nothing inline, nothing from elsewhere.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def auth_mode(settings: Settings) -> str:
    """How the page authenticates: ``off``, ``dev-token`` (minted here) or ``unavailable`` (other issuers only)."""
    if not settings.auth_enabled:
        return "off"
    return "unavailable" if settings.trusted_issuers else "dev-token"


@dataclass(frozen=True)
class PreviewState:
    """Built once per app: the page's data and, when the page mints tokens, the dev issuer's key."""

    page_data: dict[str, Any]
    dev_key: DevKey | None


@bp.record_once
def _build(state: BlueprintSetupState) -> None:
    runtime = state.app.extensions[EXTENSION_KEY]
    dev_key = load_or_create_dev_key(runtime.settings.instance_path) if auth_mode(runtime.settings) == "dev-token" else None
    state.app.extensions[PREVIEW_KEY] = PreviewState(_page_data(collect(runtime.registry.demo_sources()), runtime), dev_key)


def _state() -> PreviewState:
    return current_app.extensions[PREVIEW_KEY]


def _page_data(patients: list[DemoPatientRecord], runtime: Any) -> dict[str, Any]:
    """What the page script needs, built once: patients, their calls, the services and the auth mode."""
    return {
        "auth": auth_mode(runtime.settings),
        "services": [{"id": s.id, "hook": s.hook, "title": s.title} for s in runtime.registry.definitions()],
        "patients": [
            {
                "id": patient.id,
                "name": patient.name,
                "calls": [
                    {"serviceId": call.service_id, "description": call.description, "request": call.body}
                    for call in patient.requests
                ],
            }
            for patient in patients
        ],
    }


@bp.after_request
def _security_headers(response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    return response


def _from_loopback(address: str | None) -> bool:
    """Whether the caller is on this machine: demo tokens never leave it, even with --host 0.0.0.0."""
    try:
        return address is not None and ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


@bp.get("")
def page() -> str:
    return render_template("preview.html", data=_state().page_data)


@bp.post("/token")
def token() -> Response:
    """A one-use dev-issuer token for one hook or feedback URL of this service (same-origin JSON only)."""
    if not _from_loopback(request.remote_addr):
        raise errors.ApiError(403, "preview tokens are only given to a browser on this machine", code="forbidden")
    origin = request.headers.get("Origin")
    if origin is not None and origin.rstrip("/") != urls.base_url():
        raise errors.ApiError(403, "tokens are only given to the preview page itself", code="forbidden")
    if request.mimetype != "application/json":
        raise errors.ApiError(415, "send {serviceId, purpose} as application/json", code="unsupported-media-type")
    dev_key = _state().dev_key
    if dev_key is None:
        mode = auth_mode(current_runtime().settings)
        raise errors.ApiError(409, f"the preview does not mint tokens (auth mode: {mode})", code="no-preview-token")
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or body.get("purpose") not in PURPOSES:
        raise errors.bad_request("purpose must be 'hook' or 'feedback'", field="purpose")
    service_id = body.get("serviceId")
    if not isinstance(service_id, str) or service_id not in current_runtime().registry:
        raise errors.bad_request("serviceId must name a service of this server", field="serviceId")
    audience = f"{urls.base_url()}/cds-services/{service_id}" + ("/feedback" if body["purpose"] == "feedback" else "")
    minted = dev_key.mint_token(audience, ttl_seconds=PREVIEW_TOKEN_SECONDS)
    response = jsonify({"token": minted, "expiresIn": PREVIEW_TOKEN_SECONDS})
    response.headers["Cache-Control"] = "no-store"
    return response
