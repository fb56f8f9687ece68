"""Complete a hook call's prefetch: use what the client sent, fetch only what is missing.

The spec's three cases for a prefetch key (CDS Hooks 2.0.1, "Prefetch Template"):

* a resource or searchset Bundle: used as sent;
* ``null``: the client has no such data. That is an answer, not a gap - the
  key reaches the provider as ``None`` and is never fetched;
* a resource of another type than its template asks for (a Bundle for a
  search, the named type for a read): unusable, as if it could not be
  obtained (412 for a required key);
* absent, or an OperationOutcome (the client's fetch failed): missing. Missing
  keys, and client Bundles that still have a ``next`` page, are read from
  ``fhirServer`` through :mod:`cds_hooks.fhir_client`.

Nothing is fetched that ``fhirAuthorization.scope`` does not grant
(:mod:`cds_hooks.smart_scopes`): such a key stays missing, its reason naming
the scope it lacks. If a key the service requires is still missing, the call
is answered with 412 naming the keys, as the spec demands; a missing optional
key is left out.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any
from urllib.parse import quote

from cds_hooks import errors
from cds_content import ServiceDefinition
from cds_hooks.fhir_client import Deadline, FhirClient, FhirClientError, FhirServer, next_link
from cds_hooks.hook_request import RESOURCE_TYPE, HookRequest, is_fhir_resource

log = logging.getLogger(__name__)

_TOKEN = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
# CDS Hooks 3.0's date arithmetic: today(), today() - 730 days, today() + 1 day.
_TODAY = re.compile(r"today\(\)(?:\s*([+-])\s*(\d{1,5})\s*days?)?")
_REFERENCE = re.compile(r"[A-Z][A-Za-z]+/[A-Za-z0-9\-.]{1,64}")
# userId's resource type -> the user token it fills (spec: "Prefetch tokens identifying the user").
USER_TOKENS = {
    "Practitioner": "userPractitionerId",
    "PractitionerRole": "userPractitionerRoleId",
    "Patient": "userPatientId",
    "RelatedPerson": "userRelatedPersonId",
}


class PrefetchFailed(errors.ApiError):
    """412: data the service requires could not be obtained."""

    code = "precondition-failed"

    def __init__(self, reasons: Mapping[str, str]):
        keys = sorted(reasons)
        detail = "; ".join(f"{key}: {reasons[key]}" for key in keys)
        super().__init__(
            412,
            f"required prefetch data missing and not obtainable from fhirServer - {detail}",
            fields=[f"prefetch.{key}" for key in keys],
        )
        self.keys = keys


def token_values(context: Mapping[str, Any]) -> dict[str, str]:
    """The value of every prefetch token this context can fill, percent-encoded for a URL.

    Only root-level primitive context fields qualify (``context.X``); the user
    tokens come from the type in ``context.userId``.
    """
    values: dict[str, str] = {}
    for name, value in context.items():
        encoded = _encode(value)
        if encoded is not None:
            values[f"context.{name}"] = encoded
    user = context.get("userId")
    if isinstance(user, str) and "/" in user:
        resource_type, _, user_id = user.partition("/")
        token = USER_TOKENS.get(resource_type)
        encoded = _encode(user_id)
        if token and encoded is not None:
            values[token] = encoded
    return values


def render(template: str, tokens: Mapping[str, str], today: date | None = None) -> str | None:
    """Fill a prefetch template; ``None`` when a token cannot be filled from this request.

    ``today()`` tokens (CDS Hooks 3.0) become a date counted from ``today``
    (default: the current UTC date), as a client resolves them.
    """
    pieces = []
    for literal, token in _parse(template):
        pieces.append(literal)
        if token is None:
            continue
        if token in tokens:
            pieces.append(tokens[token])
        elif (match := _TODAY.fullmatch(token)) is not None:
            days = int(match.group(2) or 0) * (-1 if match.group(1) == "-" else 1)
            pieces.append(((today or datetime.now(UTC).date()) + timedelta(days=days)).isoformat())
        else:
            return None
    return "".join(pieces)


def complete(
    service: ServiceDefinition,
    request: HookRequest,
    client: FhirClient,
    time_budget: float,
) -> dict[str, Any]:
    """The prefetch a provider sees: one entry per obtainable template key (``None`` = no data).

    Raises a 400 :class:`errors.ApiError` for a value that is not a FHIR
    resource or ``null``, and :class:`PrefetchFailed` (412) when a required
    key cannot be obtained.
    """
    result: dict[str, Any] = {}
    missing: list[str] = []
    unfinished: dict[str, dict[str, Any]] = {}
    wrong_type: dict[str, str] = {}
    for key, template in service.prefetch.items():
        if key not in request.prefetch:
            missing.append(key)
            continue
        value = request.prefetch[key]
        if value is not None and not is_fhir_resource(value):
            raise errors.bad_request(f"prefetch.{key} must be a FHIR resource or null", field=f"prefetch.{key}")
        expected = expected_type(template)
        if value is not None and value["resourceType"] == "OperationOutcome":
            missing.append(key)
        elif value is not None and expected is not None and value["resourceType"] != expected:
            wrong_type[key] = f"sent a {value['resourceType']} where its template gives a {expected}"
        elif value is not None and value["resourceType"] == "Bundle" and next_link(value) is not None:
            unfinished[key] = value
        else:
            result[key] = value

    reasons: dict[str, str] = dict(wrong_type)
    if missing or unfinished:
        reasons.update(_fetch(service, request, client, time_budget, missing, unfinished, result))
    required = service.required_keys()
    failed = {key: reason for key, reason in reasons.items() if key in required}
    if failed:
        raise PrefetchFailed(failed)
    return result


def _fetch(
    service: ServiceDefinition,
    request: HookRequest,
    client: FhirClient,
    time_budget: float,
    missing: list[str],
    unfinished: dict[str, dict[str, Any]],
    result: dict[str, Any],
) -> dict[str, str]:
    """Fill ``result`` from fhirServer; returns why each key that stayed missing did so."""
    wanted = [*missing, *unfinished]
    if request.fhir_server is None:
        return dict.fromkeys(wanted, "not sent and the request has no fhirServer")
    refused = _beyond_scope(service, request, wanted)
    if refused.keys() & service.required_keys():
        return refused  # the call is a 412 whatever else is fetched: fetch nothing
    try:
        server = client.server(
            request.fhir_server, access_token=request.access_token, deadline=Deadline(time_budget)
        )
    except FhirClientError as exc:
        log.warning("prefetch: fhirServer refused: %s", exc)
        return dict.fromkeys(wanted, str(exc))

    tokens = token_values(request.context)
    reasons: dict[str, str] = {}
    for key in wanted:
        if key in refused:
            continue
        try:
            result[key] = _obtain(server, service.prefetch[key], tokens, unfinished.get(key))
        except _Unresolvable:
            reasons[key] = "its template needs a value this request's context does not have"
        except FhirClientError as exc:
            reasons[key] = str(exc)
    return {**refused, **reasons}


def _beyond_scope(service: ServiceDefinition, request: HookRequest, keys: list[str]) -> dict[str, str]:
    """The keys whose template ``fhirAuthorization.scope`` does not grant, each with the scope it lacks."""
    if request.scopes is None:
        return {}
    refused = {}
    for key in keys:
        needed = request.scopes.missing_for(service.prefetch[key])
        if needed is not None:
            refused[key] = f"fhirAuthorization.scope does not grant {needed}"
    return refused


def _obtain(server: FhirServer, template: str, tokens: Mapping[str, str], partial: dict[str, Any] | None) -> Any:
    if partial is not None:
        return server.complete(partial)
    url = render(template, tokens)
    if url is None:
        raise _Unresolvable
    return server.read(url)


@lru_cache(maxsize=256)
def expected_type(template: str) -> str | None:
    """The resource type a template's answer has: ``Bundle`` for a search, the type for a read (``None``: unknown)."""
    path = template.strip().lstrip("/")
    if "?" in path:
        return "Bundle"
    resource_type, slash, _ = path.partition("/")
    return resource_type if slash and RESOURCE_TYPE.fullmatch(resource_type) else None


class _Unresolvable(Exception):
    """A template token cannot be filled from the request."""


@lru_cache(maxsize=256)
def _parse(template: str) -> tuple[tuple[str, str | None], ...]:
    """Split a template into (literal, token) pairs once; templates are few and fixed at startup."""
    parts: list[tuple[str, str | None]] = []
    position = 0
    for match in _TOKEN.finditer(template):
        parts.append((template[position : match.start()], match.group(1)))
        position = match.end()
    parts.append((template[position:], None))
    return tuple(parts)


def _encode(value: Any) -> str | None:
    """A primitive context value as URL text; ``None`` for values that cannot be a token.

    A FHIR relative reference (``Practitioner/abc``, the form of ``userId``)
    keeps its slash so ``{{context.userId}}`` stays a read URL; anything else is
    fully percent-encoded. Values that would make a ``.``/``..`` path segment
    are refused so a token can never move a request to another path.
    """
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, (int, float)):
        text = str(value)
    elif isinstance(value, str) and value:
        text = value
    else:
        return None
    if _REFERENCE.fullmatch(text):
        encoded = text
    else:
        encoded = quote(text, safe="")
    if any(segment in (".", "..") for segment in encoded.split("/")):
        return None
    return encoded
