"""``/demo-fhir``: a tiny read-only FHIR R4 server holding the synthetic demo patients (demo mode only).

DEMO ONLY. It exists so a tester has a FHIR server to point the CDS Hooks
sandbox (or a ``fhirServer`` field) at without installing one. It holds the
content providers' demo patients (see :mod:`cds_hooks.demo.data`) and nothing
else, answers without authentication, and never accepts writes.

What it answers, enough for the sandbox and for the service's own prefetch
fallback:

* ``GET metadata`` - a CapabilityStatement that says DEMO ONLY;
* ``GET {type}/{id}`` - a read;
* ``GET {type}?...`` and ``POST {type}/_search`` (form body) - searchset
  Bundles, with the parameters ``_id``, ``patient``/``subject``, ``code``
  (``system|code``, ``code`` or ``system|``; comma = or), ``status`` and, on
  Patient, ``name``. Other parameters are ignored, as FHIR servers do, and
  left out of the ``self`` link.

In demo mode the service also allows its prefetch fallback to read from this
endpoint on loopback (:class:`DemoAwareFhirClient`), so a hook call without
prefetch and with ``fhirServer`` = ``http://127.0.0.1:<port>/demo-fhir`` works
without touching ``BME_CDS_FHIR_ALLOWLIST``.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, request
from flask.blueprints import BlueprintSetupState

from cds_hooks import urls
from cds_content import DemoDataSource
from cds_hooks.demo.data import collect
from cds_hooks.fhir_api import FHIR_JSON, FhirError, searchset
from cds_hooks.fhir_client import BaseUrl, Deadline, FhirClient, FhirServer
from cds_hooks.runtime import EXTENSION_KEY

bp = Blueprint("demo_fhir", __name__, url_prefix="/demo-fhir")

DEMO_FHIR_KEY = "bme_cds.demo_fhir"
DEMO_FHIR_PATH = "/demo-fhir"
DEMO_DESCRIPTION = (
    "DEMO ONLY: synthetic, invented patients for trying bme-cds. Read-only, no authentication, no real patient data. "
    "Never load real data here."
)
SEARCH_PARAMS = {"_id": "token", "patient": "reference", "subject": "reference", "code": "token", "status": "token"}
PATIENT_SEARCH_PARAMS = {"_id": "token", "name": "string"}
_CODED_ELEMENTS = ("code", "medicationCodeableConcept")
# Searched by clinical prefetch templates: answered (maybe with an empty Bundle) even when no demo patient has one.
CLINICAL_TYPES = (
    "AllergyIntolerance", "Condition", "DiagnosticReport", "Encounter", "MedicationRequest",
    "MedicationStatement", "Observation", "Patient", "Procedure", "ServiceRequest",
)


class DemoFhirData:
    """The demo resources indexed by type and id, and by type and patient, built once at startup."""

    def __init__(self, bundles: Iterable[Mapping[str, Any]]):
        self._by_id: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
        self._by_patient: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        for bundle in bundles:
            for entry in bundle.get("entry", []):
                resource = entry["resource"]
                self._by_id[resource["resourceType"]][resource["id"]] = resource
                subject = (resource.get("subject") or {}).get("reference", "")
                if subject.startswith("Patient/"):
                    self._by_patient[(resource["resourceType"], subject.removeprefix("Patient/"))].append(resource)
        # The clinical types prefetch templates search, and any other type a demo patient has.
        self.types: tuple[str, ...] = tuple(sorted({*CLINICAL_TYPES, *self._by_id}))

    @classmethod
    def from_sources(cls, sources: Sequence[DemoDataSource]) -> DemoFhirData:
        return cls(patient.bundle for patient in collect(sources))

    def read(self, resource_type: str, resource_id: str) -> dict[str, Any] | None:
        return self._by_id.get(resource_type, {}).get(resource_id)

    def search(self, resource_type: str, params: Mapping[str, str]) -> list[dict[str, Any]]:
        """Resources of ``resource_type`` matching every supported parameter in ``params``."""
        patient = params.get("patient") or params.get("subject")
        if patient is not None and resource_type != "Patient":
            candidates = self._by_patient.get((resource_type, patient.removeprefix("Patient/")), [])
        else:
            candidates = list(self._by_id.get(resource_type, {}).values())
        return [resource for resource in candidates if _matches(resource, params)]


def supported_params(resource_type: str) -> Mapping[str, str]:
    return PATIENT_SEARCH_PARAMS if resource_type == "Patient" else SEARCH_PARAMS


def _matches(resource: Mapping[str, Any], params: Mapping[str, str]) -> bool:
    if "_id" in params and resource["id"] not in _any_of(params["_id"]):
        return False
    if "status" in params and resource.get("status") not in _any_of(params["status"]):
        return False
    if "code" in params and not any(_token_matches(token, resource) for token in _any_of(params["code"])):
        return False
    return "name" not in params or _name_matches(params["name"], resource)


def _any_of(value: str) -> set[str]:
    return {item for item in value.split(",") if item}


def _token_matches(token: str, resource: Mapping[str, Any]) -> bool:
    system, bar, code = token.rpartition("|")
    for element in _CODED_ELEMENTS:
        for coding in (resource.get(element) or {}).get("coding") or ():
            if bar and system and coding.get("system") != system:
                continue
            if code and coding.get("code") != code:
                continue
            return True
    return False


def _name_matches(text: str, patient: Mapping[str, Any]) -> bool:
    """FHIR string search: any name part starts with ``text``, ignoring case."""
    wanted = text.casefold()
    for name in patient.get("name") or ():
        parts = [*name.get("given", []), name.get("family", ""), name.get("text", "")]
        if any(part.casefold().startswith(wanted) for part in parts if part):
            return True
    return False


class DemoAwareFhirClient(FhirClient):
    """The outbound FHIR client, also allowed to read this service's own ``/demo-fhir`` on loopback.

    "Own" means path ``/demo-fhir`` at exactly the loopback address and port
    the call arrived at (:func:`cds_hooks.urls.listening_address`): not
    another loopback address, where another program may listen on the same
    port, and not ``localhost``, which may resolve to one. Any other
    ``fhirServer`` still needs the allow-list.
    """

    def server(self, fhir_server: str, *, access_token: str | None, deadline: Deadline) -> FhirServer:
        base = BaseUrl.parse(fhir_server)
        if base.is_loopback and base.path == DEMO_FHIR_PATH and (base.host, base.port) == urls.listening_address():
            return FhirServer(self, base, access_token, deadline)
        return super().server(fhir_server, access_token=access_token, deadline=deadline)


@bp.record_once
def _build(state: BlueprintSetupState) -> None:
    from cds_hooks.hooks import FHIR_CLIENT_KEY

    runtime = state.app.extensions[EXTENSION_KEY]
    state.app.extensions[DEMO_FHIR_KEY] = DemoFhirData.from_sources(runtime.registry.demo_sources())
    state.app.extensions[FHIR_CLIENT_KEY] = DemoAwareFhirClient(runtime.settings)


def _data() -> DemoFhirData:
    from flask import current_app

    return current_app.extensions[DEMO_FHIR_KEY]


def _fhir_response(resource: Mapping[str, Any], status: int = 200) -> Response:
    return Response(json.dumps(resource), status=status, mimetype=FHIR_JSON)


def _outcome(status: int, code: str, message: str) -> Response:
    return FhirError(status, code, message).to_response(FHIR_JSON)


def _base() -> str:
    return urls.base_url() + DEMO_FHIR_PATH


@bp.get("/metadata")
def metadata() -> Response:
    """The CapabilityStatement, labelled DEMO ONLY."""
    resources = [
        {
            "type": resource_type,
            "interaction": [{"code": "read"}, {"code": "search-type"}],
            "searchParam": [{"name": name, "type": kind} for name, kind in supported_params(resource_type).items()],
        }
        for resource_type in _data().types
    ]
    statement = {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "experimental": True,
        "date": datetime.now(UTC).date().isoformat(),
        "publisher": "bme-cds",
        "kind": "instance",
        "description": DEMO_DESCRIPTION,
        "software": {"name": "bme-cds demo FHIR server (DEMO ONLY)"},
        "implementation": {"description": DEMO_DESCRIPTION, "url": _base()},
        "fhirVersion": "4.0.1",
        "format": [FHIR_JSON, "json"],
        "rest": [{"mode": "server", "documentation": DEMO_DESCRIPTION, "resource": resources}],
    }
    return _fhir_response(statement)


@bp.get("/<resource_type>")
def search(resource_type: str) -> Response:
    return _search(resource_type, request.args)


@bp.post("/<resource_type>/_search")
def search_by_post(resource_type: str) -> Response:
    """FHIR search by POST: parameters in an ``application/x-www-form-urlencoded`` body (and the query)."""
    return _search(resource_type, {**request.args.to_dict(), **request.form.to_dict()})


@bp.get("/<resource_type>/<resource_id>")
def read(resource_type: str, resource_id: str) -> Response:
    resource = _data().read(resource_type, resource_id)
    if resource is None:
        return _outcome(404, "not-found", f"{resource_type}/{resource_id} is not a demo resource")
    return _fhir_response(resource)


def _search(resource_type: str, args: Mapping[str, str]) -> Response:
    if resource_type not in _data().types:
        return _outcome(404, "not-supported", f"the demo server does not serve {resource_type}")
    used = {name: value for name, value in args.items() if name in supported_params(resource_type)}
    return _fhir_response(searchset(_base(), resource_type, used, _data().search(resource_type, used)))
