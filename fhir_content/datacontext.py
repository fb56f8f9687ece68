"""The per-request data index: prefetched resources by type and by value set.

Built once per hook request, in one pass over the prefetch: searchset Bundles
are unpacked, OperationOutcome entries (a client's way of saying a query
failed) are skipped, and resources are de-duplicated by type and id. Each
resource's coded element is looked up in the terminology's reverse index, so
``resourcesIn('Condition', vs)`` is a dict lookup instead of a FHIRPath scan
of the whole bundle.

Resources are read tolerantly (:mod:`fhir_content.readable`): the first time
code is handed a resource, values of the wrong type or too long (two levels
down at most) are left out of the copy it sees; the first time an expression
is handed one (and up front for the patient and the draft orders), also the
deeper values of the wrong type in the elements expressions navigate.
Each is recorded as :class:`LeftOut`, so the engine can tell which checks
ran without data they may have needed; data nobody was handed is never
checked (nor could it have changed a conclusion).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

import time

from fhir_content.readable import ResourceReader, TextLimits
from fhir_content.terminology import Terminology

log = logging.getLogger(__name__)

#: The pseudo resource type under which unreadable parts of ``context.draftOrders`` are recorded.
DRAFT_ORDERS = "%draftOrders"

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


class LeftOut(NamedTuple):
    """An element of the request's data the rules could not be shown: where it was, never what it held.

    ``value_set_keys`` are the keys of the value sets the resource's coded
    element is in; ``None`` when that element is itself what was left out
    (the resource could then have matched any value set).
    """

    resource_type: str
    path: str
    value_set_keys: frozenset[str] | None
    why: str


class EvaluationTimeout(TimeoutError):
    """The request's evaluation ran past its deadline (the service answers 503)."""


class DataView:
    """Read-only view of one request's data, handed to FHIRPath functions and derived facts.

    ``context`` is the hook context; ``patient`` the Patient resource (the one
    named by ``context.patientId`` when several arrive) or ``None``;
    ``draft_orders`` the resources in ``context.draftOrders``; ``selections``
    those named by ``context.selections``. Draft orders are not part of
    :meth:`resources`: an order being written is not yet part of the record.
    """

    def __init__(
        self,
        terminology: Terminology,
        context: Mapping[str, Any],
        prefetch: Mapping[str, Any],
        reader: ResourceReader | None = None,
        *,
        deadline: float | None = None,
    ):
        self._terminology = terminology
        self._reader = reader or ResourceReader(frozenset(), TextLimits())
        self._deadline = deadline
        self.context = context
        self._by_type: dict[str, list[dict[str, Any]]] = {}
        self._seen: set[tuple[str, str]] = set()
        for value in prefetch.values():
            self._add(value)
        self._left_out: dict[str, list[LeftOut]] = {}
        # id(resource) -> (resource, the copy code sees), per check: shallow (derived facts), typed (expressions).
        self._shallow: dict[int, tuple[dict[str, Any], dict[str, Any]]] = {}
        self._typed: dict[int, tuple[dict[str, Any], dict[str, Any]]] = {}
        self._by_value_set: dict[str, dict[str, list[dict[str, Any]]]] = {}
        # id(resource) -> (resource, its value-set keys), for where_code_in.
        self._keys_by_resource: dict[int, tuple[dict[str, Any], frozenset[str]]] = {}
        patient = self._pick_patient()
        self.patient = None if patient is None else self._checked("Patient", patient, typed=True)
        orders = bundle_resources(context.get("draftOrders"))
        self.draft_orders = [self._checked(DRAFT_ORDERS, order, typed=True) for order in orders]
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

    def _checked(self, kind: str, resource: dict[str, Any], typed: bool) -> dict[str, Any]:
        """``resource`` as code sees it, checked once per request: shallowly for derived facts, with types for expressions."""
        memo = self._typed if typed else self._shallow
        known = memo.get(id(resource))
        if known is None:
            bad = self._reader.shallow_problems(resource)
            if typed:
                found = {name for name, _, _ in bad}
                bad += [problem for problem in self._reader.unreadable_elements(resource) if problem[0] not in found]
            known = memo[id(resource)] = (resource, self._without(kind, resource, bad))
        return known[1]

    def _without(self, kind: str, resource: dict[str, Any], bad: list[tuple[str, str, str]]) -> dict[str, Any]:
        """``resource`` without the elements in ``bad``, each recorded as left out under ``kind``."""
        if not bad:
            return resource
        names = {name for name, _, _ in bad}
        resource_type = resource.get("resourceType")
        element = CODED_ELEMENTS.get(resource_type) if type(resource_type) is str else None
        keys = None if element is None or element in names else self._concept_keys(resource.get(element))
        resource_type = resource_type if type(resource_type) is str else "resource"  # never log what a client sent
        entries = [LeftOut(resource_type, path, keys, why) for _, path, why in bad]
        self._left_out.setdefault(kind, []).extend(entries)
        log.warning("left out of a %s: %s", resource_type, ", ".join(f"{entry.path} ({entry.why})" for entry in entries))
        return {name: value for name, value in resource.items() if name not in names}

    def check_deadline(self) -> None:
        """Raise :class:`EvaluationTimeout` once the request's deadline (``time.monotonic()``) has passed."""
        if self._deadline is not None and time.monotonic() > self._deadline:
            raise EvaluationTimeout("evaluation ran past its time budget")

    def left_out_types(self) -> list[str]:
        """The resource types (and :data:`DRAFT_ORDERS`) of which something was left out."""
        return [kind for kind, entries in self._left_out.items() if entries]

    def left_out(self, kind: str) -> list[LeftOut]:
        """What was left out of the resources of a type (or of :data:`DRAFT_ORDERS`) as unreadable.

        Only types the rules have read are checked: data never read cannot
        have changed what the rules concluded.
        """
        return self._left_out.get(kind, [])

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

    def resources(self, type_name: str, *, typed: bool = False) -> list[dict[str, Any]]:
        """Every prefetched resource of a type, what cannot be read left out (``typed``: as expressions see them)."""
        return [self._checked(type_name, r, typed) for r in self._by_type.get(type_name, ())]

    def resources_in(self, type_name: str, vs_url: str, *, typed: bool = False) -> list[dict[str, Any]]:
        """Resources of a type whose coded element has a coding in the value set (``typed`` as for :meth:`resources`).

        Raises :class:`~fhir_content.terminology.UnknownValueSet` (a KeyError) for an unknown URL.
        """
        key = self._terminology.resolve(vs_url)
        if type_name not in CODED_ELEMENTS:
            return []
        return [self._checked(type_name, r, typed) for r in self._value_set_index(type_name).get(key, ())]

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
