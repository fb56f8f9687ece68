"""Parse and validate a hook call body into a :class:`HookRequest`.

Everything a client can send is checked here, before any content code sees
it, so providers can rely on the shapes the hook definitions promise and no
input can turn into a 500. JSON is parsed strictly (:mod:`cds_hooks.strict_json`):
duplicate keys, ``NaN``/``Infinity``, numbers too large to represent, lone
UTF-16 surrogates and absurd nesting are refused with a 400 that says what is
wrong.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cds_hooks import errors
from cds_content import ServiceDefinition
from cds_hooks.smart_scopes import Scopes, parse as parse_scopes
from cds_hooks.strict_json import InvalidJson, parse_json

# Context fields each standard hook requires (CDS Hooks library, hook definitions).
# Hooks not listed here only need ``context`` to be an object.
_STRING = "string"
_SELECTIONS = "selections"
_BUNDLE = "bundle"
HOOK_CONTEXT: Mapping[str, Mapping[str, str]] = {
    "patient-view": {"userId": _STRING, "patientId": _STRING},
    "order-select": {"userId": _STRING, "patientId": _STRING, "selections": _SELECTIONS, "draftOrders": _BUNDLE},
    "order-sign": {"userId": _STRING, "patientId": _STRING, "draftOrders": _BUNDLE},
}
# Optional context fields that must still have the right type when present.
OPTIONAL_CONTEXT = {"encounterId": _STRING}

# A FHIR resource type name (R4: "Patient", "MedicationRequest", ...).
RESOURCE_TYPE = re.compile(r"[A-Z][A-Za-z]{1,63}")


@dataclass(frozen=True)
class HookRequest:
    """A hook call body that passed validation.

    ``prefetch`` is exactly what the client sent (empty when it sent none);
    ``access_token`` is ``fhirAuthorization.access_token`` and is kept out of
    ``repr`` so it cannot end up in a log line or a traceback; ``scopes`` are
    the reads ``fhirAuthorization.scope`` grants (``None``: no scope sent, so
    nothing to hold fetches to).
    """

    hook: str
    hook_instance: str
    context: Mapping[str, Any]
    fhir_server: str | None = None
    access_token: str | None = field(default=None, repr=False)
    prefetch: Mapping[str, Any] = field(default_factory=dict)
    scopes: Scopes | None = None


def is_fhir_resource(value: Any) -> bool:
    """Whether ``value`` is shaped like a FHIR resource: an object whose ``resourceType`` is a type name."""
    if not isinstance(value, dict):
        return False
    resource_type = value.get("resourceType")
    return isinstance(resource_type, str) and RESOURCE_TYPE.fullmatch(resource_type) is not None


def parse_hook_request(raw: bytes, service: ServiceDefinition) -> HookRequest:
    """Validate a hook call body for ``service``; raises a 400 :class:`errors.ApiError` naming the field."""
    try:
        body = parse_json(raw)
    except InvalidJson as exc:
        raise errors.bad_request(str(exc)) from None
    if not isinstance(body, dict):
        raise errors.bad_request("the request body must be a JSON object")

    hook = _required_string(body, "hook")
    if hook != service.hook:
        raise errors.bad_request(f"service {service.id!r} answers the {service.hook!r} hook", field="hook")
    hook_instance = _required_string(body, "hookInstance")

    context = body.get("context")
    if not isinstance(context, dict):
        raise errors.bad_request("context must be a JSON object", field="context")
    _check_context(hook, context)

    fhir_server = _optional_string(body, "fhirServer")
    access_token = None
    scopes = None
    if "fhirAuthorization" in body:
        authorization = body["fhirAuthorization"]
        if not isinstance(authorization, dict):
            raise errors.bad_request("fhirAuthorization must be a JSON object", field="fhirAuthorization")
        access_token = _required_string(authorization, "access_token", prefix="fhirAuthorization.")
        if "scope" in authorization:
            scopes = parse_scopes(_required_string(authorization, "scope", prefix="fhirAuthorization."))
        if fhir_server is None:
            raise errors.bad_request("fhirServer is required when fhirAuthorization is sent", field="fhirServer")

    prefetch = body.get("prefetch", {})
    if not isinstance(prefetch, dict):
        raise errors.bad_request("prefetch must be a JSON object", field="prefetch")
    if "extension" in body and not isinstance(body["extension"], dict):
        raise errors.bad_request("extension must be a JSON object", field="extension")

    return HookRequest(
        hook=hook,
        hook_instance=hook_instance,
        context=context,
        fhir_server=fhir_server,
        access_token=access_token,
        prefetch=prefetch,
        scopes=scopes,
    )


def _check_context(hook: str, context: dict[str, Any]) -> None:
    for name, kind in HOOK_CONTEXT.get(hook, {}).items():
        if name not in context:
            raise errors.bad_request(f"the {hook} hook requires context.{name}", field=f"context.{name}")
        _check_context_value(name, kind, context[name])
    for name, kind in OPTIONAL_CONTEXT.items():
        if name in context:
            _check_context_value(name, kind, context[name])


def _check_context_value(name: str, kind: str, value: Any) -> None:
    where = f"context.{name}"
    if kind == _STRING and not _is_text(value):
        raise errors.bad_request(f"{where} must be a non-empty string", field=where)
    if kind == _SELECTIONS and not (isinstance(value, list) and value and all(_is_text(v) for v in value)):
        raise errors.bad_request(f"{where} must be a non-empty array of strings", field=where)
    if kind == _BUNDLE and not (isinstance(value, dict) and value.get("resourceType") == "Bundle"):
        raise errors.bad_request(f"{where} must be a FHIR Bundle", field=where)


def _required_string(body: dict[str, Any], name: str, prefix: str = "") -> str:
    value = body.get(name)
    if not _is_text(value):
        raise errors.bad_request(f"{prefix}{name} must be a non-empty string", field=prefix + name)
    return value


def _optional_string(body: dict[str, Any], name: str) -> str | None:
    if name not in body:
        return None
    return _required_string(body, name)


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())
