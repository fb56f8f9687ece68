"""``POST /cds-services/{id}``: one hook call, from HTTP body to cards.

The checks run in a fixed order so a caller always learns the most basic
problem first: unknown service (404), not JSON (415), body too large (413),
authentication (401), malformed body (400), missing data (412). Then the
provider evaluates the call and its cards are made spec-exact, quiet cards
are left out (:mod:`cds_hooks.suppression`), the rest recorded for feedback
and returned.

A call with auth on that returns cards makes one atomic database step (on
PostgreSQL one statement: :mod:`cds_hooks.store.hook_statements`): the
token's ``jti`` claim, the suppression read and the issued-cards record
together, so a replayed token's cards are neither recorded nor returned (401)
and of two concurrent calls with one ``jti`` exactly one gets its cards. The
claim is made on its own, earlier, whenever the call would otherwise reach
outside or answer anything but cards: before the first outbound FHIR fetch
(a replayed token never makes the service fetch), and before any error answer
or an answer without cards (a replayed token gets its 401 before a 400, 412 or
500, and a token is used up by a failed call as by a good one). What a
replayed token still costs is the parse and the evaluation of its body; in
exchange a call with cards makes one database statement instead of two.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import Blueprint, Response, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

from cds_hooks import card_output, errors, language, observability, prefetch, suppression, urls
from cds_hooks.auth import authenticate_unclaimed, replay_refused
from cds_content import ContentProvider, HookCall, ServiceDefinition
from cds_hooks.fhir_client import FhirClient
from cds_hooks.hook_request import parse_hook_request
from cds_hooks.runtime import current_runtime
from cds_hooks.store import JtiAlreadySeen, JtiClaim, StoreUnavailable

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
    raw = read_body()
    provider, service = found
    token = _CallToken(authenticate_unclaimed())
    try:
        return _answer(provider, service, raw, token)
    except Exception:
        token.claim()  # a replay's 401 comes before any other error, and a failed call uses its token up
        raise


class _CallToken:
    """The hook call's verified token, whose ``jti`` is claimed exactly once (never, with auth off).

    Either :meth:`claim` records it on its own, or :meth:`take` hands it to
    the database step that records the call's cards.
    """

    def __init__(self, pending: JtiClaim | None):
        self._pending = pending

    def claim(self) -> None:
        """Record the ``jti`` now unless that was done: 401 for a replay, 503 when the database cannot be asked."""
        pending = self.take()
        if pending is not None:
            current_runtime().authenticator.claim(pending)

    def take(self) -> JtiClaim | None:
        """The ``jti`` still to claim, which the caller records (and is then no longer pending); ``None`` if none."""
        pending, self._pending = self._pending, None
        return pending


def _answer(provider: ContentProvider, service: ServiceDefinition, raw: bytes, token: _CallToken) -> Response:
    runtime = current_runtime()
    hook_request = parse_hook_request(raw, service)
    data = prefetch.complete(
        service, hook_request, fhir_client(), runtime.settings.fhir_time_budget, before_fetch=token.claim
    )
    call = HookCall(
        service_id=service.id,
        hook=service.hook,
        hook_instance=hook_request.hook_instance,
        context=hook_request.context,
        prefetch=data,
        base_url=urls.base_url(),
        language=language.choose(hook_request.context, request.headers.get("Accept-Language"), provider.languages),
    )
    try:
        body = card_output.hook_response(provider.evaluate(call))
    except card_output.InvalidCards as exc:
        log.error("service %s: %s", service.id, exc)
        raise errors.ApiError(500, "the content provider returned invalid cards", code="content-error") from None
    patient_id = str(hook_request.context.get("patientId", ""))
    body["cards"] = _show_and_record(service.id, hook_request.hook_instance, patient_id, body["cards"], token)
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
    service_id: str, hook_instance: str, patient_id: str, cards: list[dict[str, Any]], token: _CallToken
) -> list[dict[str, Any]]:
    """Leave out quiet cards and remember the rest for feedback, with the token's claim, in one atomic database step.

    With auth on, losing the record would make later feedback fail, so the
    call fails with 503 instead; with auth off (local play) the cards are
    still returned (all of them if the overrides could not be read) and a
    warning is logged.
    """
    if not cards:
        token.claim()
        return cards
    runtime = current_runtime()
    try:
        return suppression.show_and_record(runtime.store, service_id, hook_instance, patient_id, cards, token.take())
    except JtiAlreadySeen:
        raise replay_refused() from None
    except StoreUnavailable:
        if runtime.authenticator.enabled:
            raise errors.unavailable("the database is unreachable; try again shortly") from None
        log.warning("service %s: issued cards not recorded (nor checked for suppression), the database is unreachable", service_id)
    return cards
