"""The per-request data index: prefetched resources by type and by value set.

Built once per hook request, in one pass over the prefetch: searchset Bundles
are unpacked, OperationOutcome entries (a client's way of saying a query
failed) are skipped, and resources are de-duplicated by type and id. Each
resource's coded element is looked up in the terminology's reverse index, so
``resourcesIn('Condition', vs)`` is a dict lookup instead of a FHIRPath scan
of the whole bundle.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from fhir_content.terminology import Terminology

# The element of each resource type that resourcesIn() matches against a value set.
CODED_ELEMENTS: Mapping[str, str] = {
    "Condition": "code",
    "Observation": "code",
    "DiagnosticReport": "code",
    "Procedure": "code",
    "ServiceRequest": "code",
    "MedicationRequest": "medicationCodeableConcept",
    "MedicationStatement": "medicationCodeableConcept",
    "MedicationAdministration": "medicationCodeableConcept",
    "AllergyIntolerance": "code",
    "ImagingStudy": "procedureCode",
    "Immunization": "vaccineCode",
}


def codings(value: Any) -> list[dict[str, Any]]:
    """Every Coding in a Coding, a CodeableConcept, or (nested) lists of them; malformed parts are skipped.

    Called for every coded resource of a request, so the common shape (one
    CodeableConcept) takes a fast path; request data is parsed JSON, so
    ``dict`` and ``list`` are the only containers.
    """
    if isinstance(value, dict):
        inner = value.get("coding")
        if isinstance(inner, list):
            return [c for c in inner if isinstance(c, dict)]
        return [value] if inner is None and "code" in value else []
    if isinstance(value, list):
        found: list[dict[str, Any]] = []
        for item in value:  # a loop, not a nested comprehension: one frame fewer per item
            found += codings(item)
        return found
    return []


def bundle_resources(bundle: Any) -> list[dict[str, Any]]:
    """The resources in a Bundle's entries (empty for anything else).

    Bundles are parsed JSON, so ``dict`` is the only mapping to look for
    (an ``isinstance`` against ``Mapping`` costs several times more, twice per entry).
    """
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        return []
    entries = bundle.get("entry")
    if not isinstance(entries, list):
        return []
    return [e["resource"] for e in entries if isinstance(e, dict) and isinstance(e.get("resource"), dict)]


class DataView:
    """Read-only view of one request's data, handed to FHIRPath functions and derived facts.

    ``context`` is the hook context; ``patient`` the Patient resource (the one
    named by ``context.patientId`` when several arrive) or ``None``;
    ``draft_orders`` the resources in ``context.draftOrders``; ``selections``
    those named by ``context.selections``. Draft orders are not part of
    :meth:`resources`: an order being written is not yet part of the record.
    """

    def __init__(self, terminology: Terminology, context: Mapping[str, Any], prefetch: Mapping[str, Any]):
        self._terminology = terminology
        self.context = context
        self._by_type: dict[str, list[dict[str, Any]]] = {}
        self._seen: set[tuple[str, str]] = set()
        for value in prefetch.values():
            self._add(value)
        self._by_value_set: dict[str, dict[str, list[dict[str, Any]]]] = {}
        # id(resource) -> (resource, its value-set keys), for where_code_in.
        self._keys_by_resource: dict[int, tuple[dict[str, Any], frozenset[str]]] = {}
        self.patient = self._pick_patient()
        self.draft_orders = bundle_resources(context.get("draftOrders"))
        selections = context.get("selections")
        selected = {s for s in selections if isinstance(s, str)} if isinstance(selections, list) else set()
        self.selections = [r for r in self.draft_orders if f"{r.get('resourceType')}/{r.get('id')}" in selected]

    def _add(self, value: Any) -> None:
        if isinstance(value, dict):
            self._add_all(bundle_resources(value) if value.get("resourceType") == "Bundle" else (value,))

    def _add_all(self, resources: Iterable[dict[str, Any]]) -> None:
        """Index resources (a Bundle's are unpacked). One loop per Bundle, not one call per resource:
        a chart's hundreds of resources made the calls a visible part of a request."""
        seen, by_type = self._seen, self._by_type
        for value in resources:
            kind = value.get("resourceType")
            if kind == "Bundle":
                self._add(value)
                continue
            if not isinstance(kind, str) or kind == "OperationOutcome":
                continue
            rid = value.get("id")
            if isinstance(rid, str):
                key = (kind, rid)
                if key in seen:
                    continue
                seen.add(key)
            same_type = by_type.get(kind)
            if same_type is None:
                by_type[kind] = [value]
            else:
                same_type.append(value)

    def _value_set_index(self, kind: str) -> dict[str, list[dict[str, Any]]]:
        """Value-set key -> resources of one type, built on the first ``resourcesIn`` for that type."""
        index = self._by_value_set.get(kind)
        if index is not None:
            return index
        index = {}
        element, keys_for = CODED_ELEMENTS[kind], self._terminology.keys_for
        for resource in self._by_type.get(kind, ()):
            value = resource.get(element)
            inner = value.get("coding") if type(value) is dict else None
            if type(inner) is list and len(inner) == 1 and type(coding := inner[0]) is dict:
                keys = keys_for(coding.get("system"), coding.get("code"))  # the usual shape, without codings()
            else:
                keys = self._concept_keys(value)
            for key in keys:
                resources = index.get(key)
                if resources is None:
                    index[key] = [resource]
                else:
                    resources.append(resource)
        self._by_value_set[kind] = index
        return index

    def _concept_keys(self, value: Any) -> frozenset[str]:
        """Keys of every value set holding a Coding of ``value`` (see :func:`codings`)."""
        keys_for = self._terminology.keys_for
        found = codings(value)
        if len(found) == 1:  # no set to build
            return keys_for(found[0].get("system"), found[0].get("code"))
        return frozenset().union(*(keys_for(c.get("system"), c.get("code")) for c in found))

    def _resource_keys(self, resource: dict[str, Any]) -> frozenset[str]:
        """The value-set keys of a resource's coded element (none for a type without one), once per resource.

        The memo holds the resource, so its ``id`` cannot be reused for another
        object while the view lives; it lives as long as the request.
        """
        known = self._keys_by_resource.get(id(resource))
        if known is not None:
            return known[1]
        kind = resource.get("resourceType")
        element = CODED_ELEMENTS.get(kind) if isinstance(kind, str) else None
        keys = self._concept_keys(resource.get(element)) if element else frozenset()
        self._keys_by_resource[id(resource)] = (resource, keys)
        return keys

    def _pick_patient(self) -> dict[str, Any] | None:
        patients = self._by_type.get("Patient", [])
        wanted = self.context.get("patientId")
        return next((p for p in patients if p.get("id") == wanted), patients[0] if patients else None)

    def resources(self, type_name: str) -> list[dict[str, Any]]:
        """Every prefetched resource of a type."""
        return list(self._by_type.get(type_name, ()))

    def resources_in(self, type_name: str, vs_url: str) -> list[dict[str, Any]]:
        """Resources of a type whose coded element has a coding in the value set.

        Raises :class:`~fhir_content.terminology.UnknownValueSet` (a KeyError) for an unknown URL.
        """
        key = self._terminology.resolve(vs_url)
        if type_name not in CODED_ELEMENTS:
            return []
        return list(self._value_set_index(type_name).get(key, ()))

    def where_code_in(self, resources: list[Any], vs_url: str) -> list[dict[str, Any]]:
        """The resources whose coded element (as for :meth:`resources_in`) has a coding in the value set.

        The Python equivalent of ``where(code.inValueSet(vs))`` over a
        collection: one set test per resource (its keys are worked out once
        per request: the content filters the same few resources again and
        again) instead of a FHIRPath evaluation per resource.
        """
        key = self._terminology.resolve(vs_url)
        return [r for r in resources if isinstance(r, dict) and key in self._resource_keys(r)]

    def in_value_set(self, value: Any, vs_url: str) -> bool:
        """True when any Coding in ``value`` (Coding, CodeableConcept or lists of them) is in the value set."""
        key = self._terminology.resolve(vs_url)
        keys_for = self._terminology.keys_for
        return any(key in keys_for(c.get("system"), c.get("code")) for c in codings(value))
