"""Read-only FHIR R4 endpoints for the knowledge artifacts under ``/fhir``, plus ``$apply`` and ``$expand``.

Public reads of knowledge (no patient data), so no authentication: anyone may
see what the service would do and why. ``$apply`` computes from the data in
the request body only and stores nothing. Answers are ``application/fhir+json``;
errors are OperationOutcome resources. The artifacts are those of the content
providers that are ``KnowledgeSource``s (see :mod:`cds_content`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, request
from fhir_content import ExpressionError, KnowledgeBase, UnknownArtifact, UnknownValueSet

from cds_hooks import errors, urls
from cds_content import KnowledgeSource
from cds_hooks.hooks import read_body
from cds_hooks.runtime import current_runtime
from cds_hooks.strict_json import InvalidJson, parse_json

bp = Blueprint("fhir_api", __name__, url_prefix="/fhir")

FHIR_JSON = "application/fhir+json"
KNOWLEDGE_TYPES = ("PlanDefinition", "ActivityDefinition", "ValueSet", "Library")
SEARCH_PARAMS = {"url": "uri", "name": "string", "status": "token", "_id": "token"}
OPERATIONS = {
    "PlanDefinition": ("apply", "http://hl7.org/fhir/OperationDefinition/PlanDefinition-apply"),
    "ActivityDefinition": ("apply", "http://hl7.org/fhir/OperationDefinition/ActivityDefinition-apply"),
    "ValueSet": ("expand", "http://hl7.org/fhir/OperationDefinition/ValueSet-expand"),
}


class FhirError(errors.ApiError):
    """An error of a FHIR endpoint, with the FHIR issue type it is (``not-found``, ``invalid``, ...)."""

    def __init__(self, status: int, issue_type: str, message: str):
        super().__init__(status, message, code=issue_type, issue_type=issue_type)


@bp.errorhandler(errors.ApiError)
def _fhir_error(exc: errors.ApiError) -> Response:
    return exc.to_response(FHIR_JSON)


def _fhir_response(resource: dict[str, Any], status: int = 200) -> Response:
    return Response(json.dumps(resource), status=status, mimetype=FHIR_JSON)


def _knowledge_sources() -> list[KnowledgeSource]:
    return current_runtime().registry.knowledge_sources()


def _knowledge_bases() -> list[KnowledgeBase]:
    return [source.knowledge_base for source in _knowledge_sources()]


def _check_type(resource_type: str) -> None:
    if resource_type not in KNOWLEDGE_TYPES:
        raise FhirError(404, "not-supported", f"{resource_type} is not served here (only {', '.join(KNOWLEDGE_TYPES)})")


@bp.get("/metadata")
def metadata() -> Response:
    """The CapabilityStatement: what this read-only knowledge server offers."""
    resources = []
    for resource_type in KNOWLEDGE_TYPES:
        entry: dict[str, Any] = {
            "type": resource_type,
            "interaction": [{"code": "read"}, {"code": "search-type"}],
            "searchParam": [{"name": name, "type": kind} for name, kind in SEARCH_PARAMS.items()],
        }
        if resource_type in OPERATIONS:
            name, definition = OPERATIONS[resource_type]
            entry["operation"] = [{"name": name, "definition": definition}]
        resources.append(entry)
    statement = {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": datetime.now(UTC).date().isoformat(),
        "kind": "instance",
        "software": {"name": "bme-cds"},
        "implementation": {"description": "bme-cds knowledge artifacts (read-only)", "url": f"{urls.base_url()}/fhir"},
        "fhirVersion": "4.0.1",
        "format": [FHIR_JSON, "json"],
        "rest": [{"mode": "server", "resource": resources}],
    }
    return _fhir_response(statement)


@bp.get("/<resource_type>")
def search(resource_type: str) -> Response:
    """Searchset Bundle; supported parameters ``url``, ``name``, ``status``, ``_id`` (others are ignored,
    as FHIR servers do by default, and left out of the ``self`` link)."""
    _check_type(resource_type)
    used = {k: v for k, v in request.args.items() if k in SEARCH_PARAMS}
    criteria = {("id" if k == "_id" else k): v for k, v in used.items()}
    found = [r for kb in _knowledge_bases() for r in kb.artifacts.search(resource_type, **criteria)]
    return _fhir_response(searchset(f"{urls.base_url()}/fhir", resource_type, used, found))


def searchset(base: str, resource_type: str, used: dict[str, str], found: list[dict[str, Any]]) -> dict[str, Any]:
    """A FHIR searchset Bundle of ``found``; ``used`` are the search parameters applied (for the ``self`` link)."""
    query = f"?{urlencode(used)}" if used else ""
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(found),
        "link": [{"relation": "self", "url": f"{base}/{resource_type}{query}"}],
    }
    if found:
        bundle["entry"] = [
            {"fullUrl": f"{base}/{resource_type}/{r['id']}", "resource": r, "search": {"mode": "match"}} for r in found
        ]
    return bundle


@bp.get("/<resource_type>/<resource_id>")
def read(resource_type: str, resource_id: str) -> Response:
    _check_type(resource_type)
    for kb in _knowledge_bases():
        resource = kb.artifacts.read(resource_type, resource_id)
        if resource is not None:
            return _fhir_response(resource)
    raise FhirError(404, "not-found", f"{resource_type}/{resource_id} is not known")


@bp.get("/ValueSet/<resource_id>/$expand")
def expand(resource_id: str) -> Response:
    for kb in _knowledge_bases():
        try:
            return _fhir_response(kb.terminology.expand(resource_id))
        except UnknownValueSet:
            continue
    raise FhirError(404, "not-found", f"ValueSet/{resource_id} is not known")


@bp.post("/PlanDefinition/<resource_id>/$apply")
def apply_plan(resource_id: str) -> Response:
    """``$apply`` -> RequestGroup, from a ``Parameters`` body (``subject``, ``data``, optional ``hook``,
    ``context`` as a JSON object in ``valueString``, ``language``; default: the content's first language)."""
    args = _apply_arguments()
    for source in _knowledge_sources():
        plan = next((p for p in source.knowledge_base.plans() if p.id == resource_id), None)
        if plan is None:
            continue
        if args["hook"] and args["hook"] != plan.hook:
            raise FhirError(400, "invalid", f"PlanDefinition/{resource_id} answers {plan.hook}, not {args['hook']}")
        return _apply(source.knowledge_base.apply_plan, resource_id, args, source.languages)
    raise FhirError(404, "not-found", f"PlanDefinition/{resource_id} is not known")


@bp.post("/ActivityDefinition/<resource_id>/$apply")
def apply_activity(resource_id: str) -> Response:
    args = _apply_arguments()
    for source in _knowledge_sources():
        try:
            return _apply(source.knowledge_base.apply_activity, resource_id, args, source.languages)
        except UnknownArtifact:
            continue
    raise FhirError(404, "not-found", f"ActivityDefinition/{resource_id} is not known")


def _apply(operation: Any, resource_id: str, args: dict[str, Any], languages: Sequence[str]) -> Response:
    try:
        result = operation(
            resource_id,
            subject=args["subject"],
            data=args["data"],
            context=args["context"],
            base_url=urls.base_url(),
            language=args["language"] or languages[0],
        )
    except ExpressionError as exc:
        raise FhirError(400, "processing", f"could not apply to this data: {exc}") from None
    return _fhir_response(result)


def _apply_arguments() -> dict[str, Any]:
    """Read the ``$apply`` Parameters body; 400 naming the parameter at fault."""
    body = _read_json()
    if not isinstance(body, dict) or body.get("resourceType") != "Parameters":
        raise FhirError(400, "invalid", "the body must be a FHIR Parameters resource")
    parameters = body.get("parameter", [])
    if not isinstance(parameters, list):
        raise FhirError(400, "invalid", "Parameters.parameter must be an array")
    params: dict[str, dict[str, Any]] = {}
    for parameter in parameters:
        if isinstance(parameter, dict) and isinstance(parameter.get("name"), str):
            params.setdefault(parameter["name"], parameter)
    subject = params.get("subject", {})
    reference = subject.get("valueReference")
    subject_ref = subject.get("valueString") or (reference.get("reference") if isinstance(reference, dict) else None)
    if not isinstance(subject_ref, str) or not subject_ref.rpartition("/")[2]:
        raise FhirError(400, "required", "parameter subject (valueString or valueReference to the Patient) is required")
    if subject_ref.count("/") > 1 or (subject_ref.count("/") == 1 and not subject_ref.startswith("Patient/")):
        raise FhirError(400, "invalid", "parameter subject must be Patient/<id> or the patient id")
    data = params.get("data", {}).get("resource")
    if data is not None and (not isinstance(data, dict) or data.get("resourceType") != "Bundle"):
        raise FhirError(400, "invalid", "parameter data must carry a Bundle resource")
    context = _json_object(params.get("context", {}).get("valueString"))
    hook = params.get("hook", {}).get("valueString") or params.get("hook", {}).get("valueCode")
    language = params.get("language", {}).get("valueCode")
    for name, value in (("hook", hook), ("language", language)):
        if value is not None and not isinstance(value, str):
            raise FhirError(400, "invalid", f"parameter {name} must be a string")
    return {
        "subject": subject_ref,
        "data": [data] if data else [],
        "context": context,
        "hook": hook,
        "language": language,
    }


def _read_json() -> Any:
    """The request body as strict JSON (the hook calls' reader: size limit also for chunked bodies)."""
    try:
        return parse_json(read_body())
    except InvalidJson as exc:
        raise FhirError(400, "invalid", f"the body is not acceptable JSON: {exc}") from None


def _json_object(text: Any) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        value = json.loads(text) if isinstance(text, str) else None
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        raise FhirError(400, "invalid", "parameter context must be a JSON object in valueString")
    return value
