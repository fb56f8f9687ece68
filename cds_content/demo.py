"""Build synthetic patients as FHIR R4 JSON: one :class:`Case` per patient and hook.

Generic, for every content package: the BME content builds its golden test
patients and its demo patients with it, and so can a second topic.
A case is written as data with the small constructors below, so thirty
patients do not become thirty near-identical JSON files.
Dates are relative to today, because content reasons about "recent" findings
and lab results; what a card says must not drift as the calendar moves.

From a case the builder makes what an EHR would hold or send: the patient's
record as a FHIR ``collection`` Bundle (or a ``transaction`` Bundle that loads
it into a FHIR server with its ids kept), and the CDS Hooks request for the
case's hook with every prefetch key of the service filled in (searchset
Bundles filtered the way a FHIR server would answer the template's query).
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from urllib.parse import parse_qs


from fhir_content.systems import CPT, ICD10CM, LOINC, RXNORM, SNOMED

RADIOLOGY = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": "RAD", "display": "Radiology"}]}
LABORATORY = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}]}

Resource = dict[str, Any]


def days_ago(days: int) -> str:
    return (date.today() - timedelta(days=days)).isoformat()


def born_years_ago(years: int) -> str:
    """A birth date that makes the patient ``years`` old today (the birthday was 100 days ago)."""
    anchor = date.today() - timedelta(days=100)
    try:
        return anchor.replace(year=anchor.year - years).isoformat()
    except ValueError:  # 29 February in a non-leap year
        return anchor.replace(year=anchor.year - years, day=28).isoformat()


def concept(system: str, code: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code, "display": display}], "text": display}


def sct(code: str, display: str) -> dict[str, Any]:
    return concept(SNOMED, code, display)


def icd(code: str, display: str | None = None) -> dict[str, Any]:
    """An ICD-10-CM concept; without ``display``, the official description (fails loudly on an invalid code).

    Looking the code up loads the whole ICD-10-CM tree into memory, so data a
    running service builds (demo mode) passes ``display``, and its tests check
    codes and displays against the tree instead.
    """
    if display is None:
        import simple_icd_10_cm

        if not simple_icd_10_cm.is_valid_item(code):
            raise ValueError(f"not an ICD-10-CM code: {code}")
        display = simple_icd_10_cm.get_description(code)
    return concept(ICD10CM, code, display)


def loinc(code: str, display: str) -> dict[str, Any]:
    return concept(LOINC, code, display)


def cpt(code: str, display: str) -> dict[str, Any]:
    return concept(CPT, code, display)


def rx(code: str, display: str) -> dict[str, Any]:
    return concept(RXNORM, code, display)


def condition(code: dict[str, Any], *, onset_days: int | None = None, clinical: str = "active",
              verification: str = "confirmed") -> Resource:
    resource: Resource = {
        "resourceType": "Condition",
        "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": clinical}]},
        "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": verification}]},
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-category", "code": "problem-list-item"}]}],
        "code": code,
    }
    if onset_days is not None:
        resource["onsetDateTime"] = days_ago(onset_days)
        resource["recordedDate"] = days_ago(onset_days)
    return resource


def imaging_report(code: dict[str, Any], *, days: int, conclusion: str | None = None, as_attachment: bool = False,
                   conclusion_code: dict[str, Any] | None = None) -> Resource:
    """A final radiology DiagnosticReport; the text goes in ``conclusion`` or a base64 text/plain ``presentedForm``."""
    resource: Resource = {"resourceType": "DiagnosticReport", "status": "final", "category": [RADIOLOGY], "code": code,
                          "effectiveDateTime": days_ago(days), "issued": f"{days_ago(days)}T16:00:00Z"}
    if conclusion and as_attachment:
        data = base64.b64encode(conclusion.encode()).decode()
        resource["presentedForm"] = [{"contentType": "text/plain", "language": "en", "data": data, "title": "Report"}]
    elif conclusion:
        resource["conclusion"] = conclusion
    if conclusion_code:
        resource["conclusionCode"] = [conclusion_code]
    return resource


def lab_result(code: dict[str, Any], value: float, unit: str, *, days: int, status: str = "final") -> Resource:
    return {"resourceType": "Observation", "status": status, "category": [LABORATORY], "code": code,
            "effectiveDateTime": days_ago(days),
            "valueQuantity": {"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit}}


def medication_request(medication: dict[str, Any], *, status: str = "active", intent: str = "order") -> Resource:
    return {"resourceType": "MedicationRequest", "status": status, "intent": intent, "medicationCodeableConcept": medication}


def medication_statement(medication: dict[str, Any], *, status: str = "active") -> Resource:
    return {"resourceType": "MedicationStatement", "status": status, "medicationCodeableConcept": medication}


def imaging_order(code: dict[str, Any], *, body_site: dict[str, Any] | None = None) -> Resource:
    """A draft imaging ServiceRequest as an EHR puts it in ``context.draftOrders``."""
    resource: Resource = {"resourceType": "ServiceRequest", "status": "draft", "intent": "order", "code": code}
    if body_site:
        resource["bodySite"] = [body_site]
    return resource


def prescription(medication: dict[str, Any]) -> Resource:
    """A draft prescription as an EHR puts it in ``context.draftOrders``."""
    return medication_request(medication, status="draft")


@dataclass(frozen=True)
class Person:
    id: str
    given: str
    family: str
    gender: str
    age: int

    def resource(self) -> Resource:
        return {"resourceType": "Patient", "id": self.id, "active": True,
                "name": [{"use": "official", "family": self.family, "given": [self.given]}],
                "gender": self.gender, "birthDate": born_years_ago(self.age)}


@dataclass(frozen=True)
class Case:
    """One synthetic patient seen through one hook.

    ``records`` is the chart; ``orders`` the draft orders of an order hook;
    ``unselected`` counts trailing orders that are drafted but not selected.
    """

    id: str
    hook: str
    about: str
    person: Person
    records: Sequence[Resource] = ()
    orders: Sequence[Resource] = ()
    unselected: int = 0
    tags: frozenset[str] = field(default_factory=frozenset)

    @property
    def patient_id(self) -> str:
        return self.person.id

    def chart(self) -> list[Resource]:
        """Patient and records, each with an id and the patient as subject."""
        out = [self.person.resource()]
        for i, record in enumerate(self.records, 1):
            out.append(_owned(record, f"{self.id}-{i}", self.patient_id))
        return out

    def draft_orders(self) -> list[Resource]:
        return [_owned(order, f"{self.id}-draft-{i}", self.patient_id) for i, order in enumerate(self.orders, 1)]

    def bundle(self) -> Resource:
        """The patient's record as a FHIR collection Bundle."""
        return {"resourceType": "Bundle", "id": f"{self.id}-record", "type": "collection", "entry": self._entries()}

    def transaction(self) -> Resource:
        """The patient's record as a FHIR transaction Bundle: ``PUT Type/id`` per resource, so ids survive a load."""
        entries = [{**entry, "request": {"method": "PUT", "url": f"{entry['resource']['resourceType']}/{entry['resource']['id']}"}}
                   for entry in self._entries()]
        return {"resourceType": "Bundle", "type": "transaction", "entry": entries}

    def _entries(self) -> list[Resource]:
        return [{"fullUrl": f"urn:uuid:{_uuid(self.id, r['id'])}", "resource": r} for r in self.chart()]

    def context(self) -> dict[str, Any]:
        context: dict[str, Any] = {"userId": "Practitioner/example-clinician", "patientId": self.patient_id}
        if self.hook == "patient-view":
            return context
        drafts = self.draft_orders()
        context["draftOrders"] = {"resourceType": "Bundle", "type": "collection",
                                  "entry": [{"resource": order} for order in drafts]}
        if self.hook == "order-select":
            chosen = drafts[: len(drafts) - self.unselected]
            context["selections"] = [f"{order['resourceType']}/{order['id']}" for order in chosen]
        return context

    def prefetch(self, templates: Mapping[str, str]) -> dict[str, Any]:
        """Answer each prefetch template from the chart, as a FHIR server would."""
        chart = self.chart()
        return {key: _answer(template, chart) for key, template in templates.items()}

    def hook_request(self, templates: Mapping[str, str]) -> dict[str, Any]:
        """The full CDS Hooks request body for this case."""
        return {"hook": self.hook, "hookInstance": str(_uuid(self.id, self.hook)), "context": self.context(),
                "prefetch": self.prefetch(templates)}


def _owned(resource: Resource, resource_id: str, patient_id: str) -> Resource:
    return {**resource, "id": resource_id, "subject": {"reference": f"Patient/{patient_id}"}}


def _uuid(*parts: str) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, "bme-cds-synthetic/" + "/".join(parts))


CODED_ELEMENT = {"MedicationRequest": "medicationCodeableConcept", "MedicationStatement": "medicationCodeableConcept"}


def _answer(template: str, chart: list[Resource]) -> Any:
    """Resolve ``Patient/{{context.patientId}}`` or ``Type?patient=...&code=...&status=...`` against the chart."""
    if template.startswith("Patient/"):
        return chart[0]
    resource_type, _, query = template.partition("?")
    params = parse_qs(query)
    codes = {tuple(token.split("|", 1)) for value in params.get("code", []) for token in value.split(",")}
    statuses = set(",".join(params.get("status", [])).split(",")) - {""}
    matches = []
    for resource in chart:
        if resource["resourceType"] != resource_type:
            continue
        if statuses and resource.get("status") not in statuses:
            continue
        element = resource.get(CODED_ELEMENT.get(resource_type, "code"), {})
        if codes and not any((c.get("system"), c.get("code")) in codes for c in element.get("coding", [])):
            continue
        matches.append(resource)
    return {"resourceType": "Bundle", "type": "searchset", "total": len(matches),
            "entry": [{"fullUrl": f"{resource_type}/{r['id']}", "resource": r, "search": {"mode": "match"}} for r in matches]}
