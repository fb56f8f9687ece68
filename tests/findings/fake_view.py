"""A dict-backed stand-in for the engine's DataView, so findings are tested without the engine.

Value sets are given as ``{url: {(system, code), ...}}``; asking about a URL
that is not there raises KeyError, like the engine does for an unknown value set.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from fhir_content.datacontext import codings
from fhir_content.systems import CPT, ICD10CM, LOINC

VS = "http://bme-cds.org/fhir/ValueSet/"

#: A few real codes per value set (clinical.md), enough for the tests.
VALUE_SETS: dict[str, set[tuple[str, str]]] = {
    f"{VS}imaging-mri-knee": {(LOINC, "30691-0"), (LOINC, "24802-1")},
    f"{VS}imaging-mri-hip": {(LOINC, "30687-8"), (LOINC, "36013-1")},
    f"{VS}imaging-mri-ankle": {(LOINC, "24538-1")},
    f"{VS}imaging-mri-foot": {(LOINC, "24707-2")},
    f"{VS}imaging-mri-spine": {(LOINC, "24968-0")},
    f"{VS}imaging-mri-pelvis": {(LOINC, "24867-4")},
    f"{VS}imaging-mri-sacroiliac": {(LOINC, "36031-3")},
    f"{VS}imaging-xray-knee": {(LOINC, "28565-0"), (LOINC, "24806-2")},
    f"{VS}imaging-xray-hip": {(LOINC, "24762-7")},
    f"{VS}imaging-xray-ankle": {(LOINC, "24541-5")},
    f"{VS}imaging-xray-foot": {(LOINC, "24709-8")},
    f"{VS}imaging-xray-spine": {(LOINC, "24972-2")},
    f"{VS}imaging-xray-pelvis": {(CPT, "72170")},
    f"{VS}imaging-ct-knee": {(LOINC, "36037-0")},
    f"{VS}imaging-ct-hip": {(LOINC, "36014-9")},
    f"{VS}imaging-ct-ankle": {(LOINC, "35940-6")},
    f"{VS}imaging-ct-foot": {(LOINC, "35991-9")},
    f"{VS}imaging-ct-spine": {(LOINC, "24963-1")},
    f"{VS}imaging-ct-pelvis": {(CPT, "72192")},
    f"{VS}imaging-mri-lower-extremity-joint": {(CPT, "73721"), (CPT, "73722"), (CPT, "73723")},
    f"{VS}imaging-mri-lower-extremity": {(CPT, "73718")},
    f"{VS}imaging-ct-lower-extremity": {(CPT, "73700")},
    f"{VS}body-site-knee": set(),
    f"{VS}body-site-hip": set(),
    f"{VS}body-site-ankle": set(),
    f"{VS}body-site-foot": set(),
    f"{VS}body-site-spine": set(),
    f"{VS}bme-finding": {(ICD10CM, "M89.8X6")},
}


class FakeView:
    """``resources``, ``resources_in``, ``in_value_set``, ``context`` and ``patient`` over plain dicts."""

    def __init__(self, resources: Iterable[dict[str, Any]], value_sets: Mapping[str, set] = VALUE_SETS):
        self._resources = list(resources)
        self._value_sets = value_sets
        self.context: dict[str, Any] = {"patientId": "p1"}
        self.patient = next((r for r in self._resources if r.get("resourceType") == "Patient"), None)

    def resources(self, type_name: str) -> list[dict[str, Any]]:
        return [r for r in self._resources if r.get("resourceType") == type_name]

    def resources_in(self, type_name: str, vs_url: str) -> list[dict[str, Any]]:
        return [r for r in self.resources(type_name) if self.in_value_set(r.get("code"), vs_url)]

    def in_value_set(self, value: Any, vs_url: str) -> bool:
        members = self._value_sets[vs_url]
        return any((c.get("system"), c.get("code")) in members for c in codings(value)
                   if isinstance(c.get("system"), str) and isinstance(c.get("code"), str))
