"""``POST /cds-services/{id}``: one hook call, from HTTP body to cards.

The checks run in a fixed order, cheapest first, so a caller always learns
the most basic problem first and a hostile one costs little: unknown service
(404), not JSON (415), a declared body size too large (413), authentication
(401) with the token's ``jti`` claimed in one statement (so a replayed token
is a 401 before its body is even read), a chunked body too large (413),
malformed body (400), missing data (412). Then the
provider evaluates the call and its cards are made spec-exact, quiet cards
are left out (:mod:`cds_hooks.suppression`), the rest recorded for feedback
and returned: the suppression read and the record are the call's database
step (:mod:`cds_hooks.store.hook_statements`), keyed by the caller's tenant.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from flask import Blueprint, Response, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

from cds_content import HookCall
from cds_hooks import card_output, errors, language, observability, prefetch, suppression, urls
from cds_hooks.auth import authenticate
from cds_hooks.fhir_client import FhirClient
from cds_hooks.hook_request import parse_hook_request
from cds_hooks.runtime import current_runtime
from cds_hooks.store import StoreUnavailable

log = logging.getLogger(__name__)

bp = Blueprint("hooks", __name__)

FHIR_CLIENT_KEY = "bme_cds.fhir_client"
_JSON_CHARSETS = ("utf-8", "utf8")
_READ_CHUNK_BYTES = 64 * 1024


@bp.post("/cds-services/<service_id>")
def call_service(service_id: str) -> Response:
    """Answer one hook call (the checks before authentication need no token)."""
    found = current_runtime().registry.get(service_id)
    if found is None:
        raise errors.ApiError(404, f"no CDS service with id {service_id!r}", code="not-found")
    require_json()
    refuse_declared_oversize()
    tenant = authenticate()
    raw = read_body()
    provider, service = found
    settings = current_runtime().settings
    hook_request = parse_hook_request(raw, service)
    data = prefetch.complete(service, hook_request, fhir_client(), settings.fhir_time_budget)
    call = HookCall(
        service_id=service.id,
        hook=service.hook,
        hook_instance=hook_request.hook_instance,
        context=hook_request.context,
        prefetch=data,
        base_url=urls.base_url(),
        language=language.choose(hook_request.context, request.headers.get("Accept-Language"), provider.languages),
        deadline=time.monotonic() + settings.evaluation_time_budget,
        max_text_chars=settings.max_text_chars,
        max_call_text_chars=settings.max_call_text_chars,
    )
    try:
        body = card_output.hook_response(provider.evaluate(call))
    except card_output.InvalidCards as exc:
        log.error("service %s: %s", service.id, exc)
        raise errors.ApiError(500, "the content provider returned invalid cards", code="content-error") from None
    except TimeoutError:
        log.warning("service %s: evaluation ran past its time budget of %s s", service.id, settings.evaluation_time_budget)
        raise errors.unavailable("the cards could not be computed within the time budget; try again") from None
    patient_id = str(hook_request.context.get("patientId", ""))
    body["cards"] = _show_and_record(service.id, tenant, hook_request.hook_instance, patient_id, body["cards"])
    observability.record_cards(service.id, body["cards"])
    # Compact, keys sorted, as jsonify writes it, but non-ASCII text as UTF-8 instead of \u escapes.
    return Response(json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n", mimetype="application/json")


def fhir_client() -> FhirClient:
    """The outbound FHIR client of the current app (one pooled session per app)."""
    return current_app.extensions[FHIR_CLIENT_KEY]


def require_json() -> None:
    """Refuse (415) a body that is not JSON in UTF-8: hook calls and feedback alike."""
    if request.mimetype != "application/json":
        raise errors.ApiError(415, "send the hook call as Content-Type: application/json", code="unsupported-media-type")
    charset = request.mimetype_params.get("charset")
    if charset is not None and charset.lower() not in _JSON_CHARSETS:
        raise errors.ApiError(415, "JSON must be sent as UTF-8", code="unsupported-media-type")


def refuse_declared_oversize() -> None:
    """413 for a declared Content-Length over ``max_body_bytes``, before the token is checked or the body read."""
    limit = current_runtime().settings.max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        raise errors.ApiError(413, f"request body larger than {limit} bytes", code="content-too-large")


def read_body() -> bytes:
    """Read the body, refusing more than ``max_body_bytes`` even without a Content-Length.

    A declared Content-Length over the limit is refused by Werkzeug before
    reading. For a chunked body its limited stream stops at the limit and only
    raises on the *next* read (``get_data`` would silently return the first
    ``max_body_bytes`` bytes), so that stream is read until it says it is done.
    """
    chunks = []
    try:
        if request.content_length is not None:
            return request.get_data()
        while chunk := request.stream.read(_READ_CHUNK_BYTES):
            chunks.append(chunk)
        return b"".join(chunks)
    except RequestEntityTooLarge:
        limit = current_runtime().settings.max_body_bytes
        raise errors.ApiError(413, f"request body larger than {limit} bytes", code="content-too-large") from None


def _show_and_record(
    service_id: str, tenant: str, hook_instance: str, patient_id: str, cards: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Leave out quiet cards and remember the rest for feedback (the call's database step).

    With auth on, losing the record would make later feedback fail, so the
    call fails with 503 instead; with auth off (local play) the cards are
    still returned (all of them if the overrides could not be read) and a
    warning is logged.
    """
    if not cards:
        return cards
    runtime = current_runtime()
    try:
        return suppression.show_and_record(runtime.store, service_id, tenant, hook_instance, patient_id, cards)
    except StoreUnavailable:
        if runtime.authenticator.enabled:
            raise errors.unavailable("the database is unreachable; try again shortly") from None
        log.warning("service %s: issued cards not recorded (nor checked for suppression), the database is unreachable", service_id)
    return cards
