"""``GET /openapi.json``: an OpenAPI 3.1 description of this instance, built once at startup.

The document is generated from what the app really serves, so it cannot drift
from it: one path per registered CDS service (with the context its hook
requires and its own prefetch keys), the handout ids of the installed content,
the response bodies from the pydantic models in :mod:`cds_hooks.response_model`
(the same models every answer is validated with), and the bearer-token
requirement only when auth is on. Tools such as schemathesis read it to fuzz
the service; integrators read it to see every status code and error body.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from flask import Blueprint, Response, current_app, jsonify
from flask.blueprints import BlueprintSetupState
from pydantic.json_schema import GenerateJsonSchema, models_json_schema
from pydantic_core import core_schema

from cds_content import ServiceDefinition
from cds_hooks.content import ServiceRegistry
from cds_hooks.fhir_api import KNOWLEDGE_TYPES, SEARCH_PARAMS
from cds_hooks.hook_request import HOOK_CONTEXT, OPTIONAL_CONTEXT, RESOURCE_TYPE
from cds_hooks.response_model import CardResponse, DiscoveryResponse, FeedbackRequest
from cds_hooks.runtime import EXTENSION_KEY

bp = Blueprint("openapi", __name__)

DOCUMENT_KEY = "bme_cds.openapi"
JSON = "application/json"
FHIR_JSON = "application/fhir+json"
HTML = "text/html"
_REF = "#/components/schemas/{model}"

# Status codes and why, for the operations that answer with an OperationOutcome.
HOOK_ERRORS = {
    "400": "The body is not acceptable JSON or has the wrong shape; issue.expression names the field.",
    "401": "Auth is on and the bearer JWT is missing or invalid.",
    "412": "Required prefetch data is neither in prefetch nor obtainable from fhirServer (nor granted by "
           "fhirAuthorization.scope); issue.expression names the prefetch keys.",
    "413": "The body is larger than BME_CDS_MAX_BODY_BYTES.",
    "415": "The body is not declared as UTF-8 JSON.",
    "503": "Auth is on and the database is unreachable (replay checks and card records need it).",
}
FEEDBACK_ERRORS = {
    "400": "Malformed feedback, or a card or suggestion this service never issued; nothing is stored.",
    "401": "Auth is on and the bearer JWT is missing or invalid.",
    "413": "The body is larger than BME_CDS_MAX_BODY_BYTES.",
    "415": "The body is not declared as UTF-8 JSON.",
    "503": "The database is unreachable; nothing is stored, send it again later.",
}
# What a hook's context field of each kind (hook_request.HOOK_CONTEXT) must look like.
_NON_EMPTY_TEXT: dict[str, Any] = {"type": "string", "minLength": 1, "pattern": "\\S"}
_CONTEXT_KINDS: Mapping[str, dict[str, Any]] = {
    "string": _NON_EMPTY_TEXT,
    "selections": {"type": "array", "minItems": 1, "items": _NON_EMPTY_TEXT},
    "bundle": {"$ref": _REF.format(model="Bundle")},
}


@bp.record_once
def _build(state: BlueprintSetupState) -> None:
    runtime = state.app.extensions[EXTENSION_KEY]
    handout_ids = [i for source in runtime.registry.handout_sources() for i in source.handout_ids()]
    state.app.extensions[DOCUMENT_KEY] = build_document(
        runtime.registry, handout_ids=handout_ids, auth_enabled=runtime.authenticator.enabled, demo=runtime.settings.demo
    )


@bp.get("/openapi.json")
def openapi_json() -> Response:
    """The OpenAPI 3.1 document of this instance (public: it holds no patient data)."""
    return jsonify(current_app.extensions[DOCUMENT_KEY])


def build_document(
    registry: ServiceRegistry, *, handout_ids: Iterable[str], auth_enabled: bool, demo: bool = False
) -> dict[str, Any]:
    """The OpenAPI 3.1 document for these services and handouts (and the demo-mode endpoints when ``demo``)."""
    security = [{"bearerJWT": []}] if auth_enabled else []
    paths: dict[str, Any] = {
        "/cds-services": {"get": _discovery_operation()},
        "/healthz": {"get": _healthz_operation()},
        "/metrics": {"get": _operation("Prometheus metrics", {"200": _body("Metrics", "text/plain", {"type": "string"})})},
        "/openapi.json": {"get": _operation("This document", {"200": _body("OpenAPI 3.1", JSON, {"type": "object"})})},
    }
    for service in registry.definitions():
        paths[f"/cds-services/{service.id}"] = {"post": _hook_operation(service, security)}
        paths[f"/cds-services/{service.id}/feedback"] = {"post": _feedback_operation(service, security)}
    paths.update(_handout_paths(sorted(handout_ids)))
    paths.update(_fhir_paths())
    if demo:
        paths.update(_demo_paths())
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "bme-cds",
            "version": _package_version(),
            "description": "CDS Hooks 2.0.1 service (docs/protocol.md) with its handouts and read-only knowledge artifacts.",
        },
        "paths": paths,
        "components": {"schemas": _schemas()},
    }
    if auth_enabled:
        document["components"]["securitySchemes"] = {
            "bearerJWT": {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "JWT",
                "description": "CDS Hooks client JWT (ES384 or RS384); aud is the URL called, jti used once.",
            }
        }
    return document


# -- operations -----------------------------------------------------------------------


def _discovery_operation() -> dict[str, Any]:
    return _operation("CDS Hooks discovery", {"200": _json("Every registered service", "DiscoveryResponse")})


def _healthz_operation() -> dict[str, Any]:
    ok = {"type": "object", "required": ["status"], "properties": {"status": {"const": "ok"}}}
    return _operation(
        "Health for load balancers",
        {"200": _body("The database answers", JSON, ok), "503": _json("The database does not answer", "OperationOutcome")},
    )


def _hook_operation(service: ServiceDefinition, security: list[dict[str, list[str]]]) -> dict[str, Any]:
    responses = {"200": _json("Cards ({\"cards\": []} when there is no advice)", "CardResponse")}
    responses.update({status: _json(why, "OperationOutcome") for status, why in HOOK_ERRORS.items()})
    return {
        "summary": service.title or service.id,
        "description": service.description,
        "security": security,
        "requestBody": {"required": True, "content": {JSON: {"schema": _hook_request_schema(service)}}},
        "responses": responses,
    }


def _feedback_operation(service: ServiceDefinition, security: list[dict[str, list[str]]]) -> dict[str, Any]:
    stored = {
        "type": "object",
        "required": ["stored"],
        "additionalProperties": False,
        "properties": {"stored": {"type": "integer", "minimum": 1}},
    }
    responses = {"200": _body("Every entry was stored", JSON, stored)}
    responses.update({status: _json(why, "OperationOutcome") for status, why in FEEDBACK_ERRORS.items()})
    return {
        "summary": f"Feedback on cards of {service.id}",
        "security": security,
        "requestBody": {"required": True, "content": {JSON: {"schema": {"$ref": _REF.format(model="FeedbackRequest")}}}},
        "responses": responses,
    }


def _hook_request_schema(service: ServiceDefinition) -> dict[str, Any]:
    """A hook call body for one service: its hook, the context that hook requires, its prefetch keys."""
    required_context = HOOK_CONTEXT.get(service.hook, {})
    context_fields = {**OPTIONAL_CONTEXT, **required_context}
    unknown = set(context_fields.values()) - set(_CONTEXT_KINDS)
    if unknown:
        raise ValueError(f"openapi: no schema for context field kind(s) {sorted(unknown)}")
    resource_or_null = {"anyOf": [{"$ref": _REF.format(model="FhirResource")}, {"type": "null"}]}
    return {
        "type": "object",
        "required": ["hook", "hookInstance", "context"],
        "properties": {
            "hook": {"const": service.hook},
            "hookInstance": _NON_EMPTY_TEXT,
            "fhirServer": _NON_EMPTY_TEXT,
            "fhirAuthorization": {
                "type": "object",
                "required": ["access_token"],
                "properties": {"access_token": _NON_EMPTY_TEXT, "scope": _NON_EMPTY_TEXT},
            },
            "context": {
                "type": "object",
                "required": list(required_context),
                "properties": {name: _CONTEXT_KINDS[kind] for name, kind in context_fields.items()},
            },
            "prefetch": {"type": "object", "properties": dict.fromkeys(service.prefetch, resource_or_null)},
            "extension": {"type": "object"},
        },
        "dependentRequired": {"fhirAuthorization": ["fhirServer"]},
    }


def _handout_paths(handout_ids: list[str]) -> dict[str, Any]:
    page = _body("The page", HTML, {"type": "string"})
    not_modified = {"description": "Not modified (conditional request with the current ETag)"}
    handout_id = {"name": "handout_id", "in": "path", "required": True, "schema": {"type": "string", "enum": handout_ids}}
    lang = {"name": "lang", "in": "query", "required": False, "schema": {"type": "string"}}
    return {
        "/handouts/": {"get": _operation("Index of the patient handouts", {"200": page, "304": not_modified})},
        "/handouts/{handout_id}": {
            "get": {
                "summary": "One patient handout, in one of its content package's languages",
                "parameters": [handout_id, lang],
                "responses": {
                    "200": page,
                    "304": not_modified,
                    "404": _body("Unknown handout: a small bilingual HTML page", HTML, {"type": "string"}),
                },
            }
        },
    }


def _fhir_paths() -> dict[str, Any]:
    resource = _fhir("The resource", "FhirResource")
    outcome = {status: _fhir(why, "OperationOutcome") for status, why in (("400", "Bad parameters"), ("404", "Unknown"))}
    resource_type = {"name": "resource_type", "in": "path", "required": True,
                     "schema": {"type": "string", "enum": list(KNOWLEDGE_TYPES)}}
    resource_id = {"name": "resource_id", "in": "path", "required": True, "schema": {"type": "string"}}
    search = [{"name": name, "in": "query", "required": False, "schema": {"type": "string"}} for name in SEARCH_PARAMS]
    apply = {
        "summary": "$apply to the data in a Parameters body (stores nothing)",
        "parameters": [resource_id],
        "requestBody": {"required": True, "content": {JSON: {"schema": {"$ref": _REF.format(model="Parameters")}},
                                                      FHIR_JSON: {"schema": {"$ref": _REF.format(model="Parameters")}}}},
        "responses": {"200": resource, **outcome, "413": _fhir("Body too large", "OperationOutcome")},
    }
    return {
        "/fhir/metadata": {"get": _operation("CapabilityStatement", {"200": resource})},
        "/fhir/{resource_type}": {"get": {"summary": "Search knowledge artifacts", "parameters": [resource_type, *search],
                                          "responses": {"200": resource, "404": outcome["404"]}}},
        "/fhir/{resource_type}/{resource_id}": {"get": {"summary": "Read one knowledge artifact",
                                                        "parameters": [resource_type, resource_id],
                                                        "responses": {"200": resource, "404": outcome["404"]}}},
        "/fhir/ValueSet/{resource_id}/$expand": {"get": {"summary": "The pre-computed expansion of a ValueSet",
                                                         "parameters": [resource_id],
                                                         "responses": {"200": resource, "404": outcome["404"]}}},
        "/fhir/PlanDefinition/{resource_id}/$apply": {"post": apply},
        "/fhir/ActivityDefinition/{resource_id}/$apply": {"post": apply},
    }


def _demo_paths() -> dict[str, Any]:
    """Demo mode only (docs/sandbox.md): the preview page, its token endpoint and the DEMO ONLY FHIR server."""
    from cds_hooks.demo.fhir import PATIENT_SEARCH_PARAMS, SEARCH_PARAMS as DEMO_SEARCH_PARAMS

    resource = _fhir("The resource or searchset Bundle", "FhirResource")
    unknown = _fhir("Unknown resource or type", "OperationOutcome")
    resource_type = {"name": "resource_type", "in": "path", "required": True, "schema": {"type": "string"}}
    resource_id = {"name": "resource_id", "in": "path", "required": True, "schema": {"type": "string"}}
    search = [{"name": name, "in": "query", "required": False, "schema": {"type": "string"}}
              for name in {**DEMO_SEARCH_PARAMS, **PATIENT_SEARCH_PARAMS}]
    token_body = {"type": "object", "required": ["serviceId", "purpose"],
                  "properties": {"serviceId": {"type": "string"}, "purpose": {"enum": ["hook", "feedback"]}}}
    token = {"type": "object", "properties": {"token": {"type": "string"}, "expiresIn": {"type": "integer"}}}
    return {
        "/preview": {"get": _operation("Card preview page (demo mode)", {"200": _body("The page", HTML, {"type": "string"})})},
        "/preview/token": {"post": {
            "summary": "A one-use dev-issuer token for one hook or feedback URL (demo mode, same origin)",
            "requestBody": {"required": True, "content": {JSON: {"schema": token_body}}},
            "responses": {"200": _body("The token", JSON, token),
                          **{status: _json(why, "OperationOutcome") for status, why in (
                              ("400", "Bad serviceId or purpose"), ("403", "Another origin"),
                              ("409", "Auth is off or other issuers are trusted"), ("415", "Not JSON"))}},
        }},
        "/demo-fhir/metadata": {"get": _operation("DEMO ONLY CapabilityStatement", {"200": resource})},
        "/demo-fhir/{resource_type}": {"get": {"summary": "Search the synthetic demo patients",
                                               "parameters": [resource_type, *search],
                                               "responses": {"200": resource, "404": unknown}}},
        "/demo-fhir/{resource_type}/_search": {"post": {"summary": "Search by POST (form-encoded parameters)",
                                                        "parameters": [resource_type],
                                                        "responses": {"200": resource, "404": unknown}}},
        "/demo-fhir/{resource_type}/{resource_id}": {"get": {"summary": "Read one demo resource",
                                                             "parameters": [resource_type, resource_id],
                                                             "responses": {"200": resource, "404": unknown}}},
    }


# -- building blocks ------------------------------------------------------------------


def _operation(summary: str, responses: dict[str, Any]) -> dict[str, Any]:
    return {"summary": summary, "responses": responses}


def _body(description: str, media_type: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {media_type: {"schema": schema}}}


def _json(description: str, model: str) -> dict[str, Any]:
    return _body(description, JSON, {"$ref": _REF.format(model=model)})


def _fhir(description: str, model: str) -> dict[str, Any]:
    return _body(description, FHIR_JSON, {"$ref": _REF.format(model=model)})


def _schemas() -> dict[str, Any]:
    _, generated = models_json_schema(
        [(DiscoveryResponse, "serialization"), (CardResponse, "serialization"), (FeedbackRequest, "validation")],
        ref_template=_REF,
        schema_generator=_WithoutNulls,
    )
    schemas: dict[str, Any] = dict(generated["$defs"])
    schemas["FhirResource"] = {
        "type": "object",
        "required": ["resourceType"],
        "properties": {"resourceType": {"type": "string", "pattern": f"^{RESOURCE_TYPE.pattern}$"}},
    }
    schemas["Bundle"] = {"type": "object", "required": ["resourceType"], "properties": {"resourceType": {"const": "Bundle"}}}
    schemas["OperationOutcome"] = {
        "type": "object",
        "description": "Every error answer (docs/protocol.md): the message in details.text, the service's "
                       "error code in details.coding, the fields at fault (a 412's prefetch keys) in expression.",
        "required": ["resourceType", "issue"],
        "properties": {
            "resourceType": {"const": "OperationOutcome"},
            "issue": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "required": ["severity", "code"],
                    "properties": {
                        "severity": {"enum": ["fatal", "error", "warning", "information"]},
                        "code": _NON_EMPTY_TEXT,
                        "details": {
                            "type": "object",
                            "properties": {
                                "coding": {"type": "array", "items": {"type": "object"}},
                                "text": _NON_EMPTY_TEXT,
                            },
                        },
                        "diagnostics": _NON_EMPTY_TEXT,
                        "expression": {"type": "array", "minItems": 1, "items": _NON_EMPTY_TEXT},
                    },
                },
            },
        },
    }
    schemas["Parameters"] = {
        "type": "object",
        "required": ["resourceType"],
        "properties": {
            "resourceType": {"const": "Parameters"},
            "parameter": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}}}},
        },
    }
    return schemas


class _WithoutNulls(GenerateJsonSchema):
    """The response models refuse an explicit ``null`` (an absent optional field is omitted), so say so."""

    def nullable_schema(self, schema: core_schema.NullableSchema) -> dict[str, Any]:
        return self.generate_inner(schema["schema"])

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> dict[str, Any]:
        return self.generate_inner(schema["schema"])


def _package_version() -> str:
    try:
        return version("bme-cds")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "0"
