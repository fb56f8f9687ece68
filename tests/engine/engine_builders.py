"""Small builders for knowledge artifacts and patient data used by the engine tests.

Each builder returns plain FHIR JSON with sensible defaults; a test overrides
only the element it is about, so the broken or special part stands out.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fhir_content.systems import LOINC

BASE = "http://example.org/engine-unit"
EXT = "http://bme-cds.org/fhir/StructureDefinition/"
VARIABLE = "http://hl7.org/fhir/StructureDefinition/variable"
TOPIC_SYSTEM = f"{BASE}/CodeSystem/topic"


def fhirpath(expression: str) -> dict[str, str]:
    return {"language": "text/fhirpath", "expression": expression}


def value_set(
    id_: str, *include: dict, exclude: list[dict] | None = None, version: str = "1.0.0", url_id: str | None = None
) -> dict:
    compose: dict[str, Any] = {"include": list(include)}
    if exclude:
        compose["exclude"] = exclude
    return {
        "resourceType": "ValueSet",
        "id": id_,
        "url": f"{BASE}/ValueSet/{url_id or id_}",
        "version": version,
        "status": "active",
        "compose": compose,
    }


def concepts(system: str, *codes: str) -> dict:
    return {"system": system, "concept": [{"code": c} for c in codes]}


def vs_url(id_: str) -> str:
    return f"{BASE}/ValueSet/{id_}"


def library(id_: str, **variables: str) -> dict:
    return {
        "resourceType": "Library",
        "id": id_,
        "url": f"{BASE}/Library/{id_}",
        "version": "1.0.0",
        "status": "active",
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/library-type", "code": "logic-library"}]},
        "extension": [{"url": VARIABLE, "valueExpression": {"name": n, **fhirpath(e)}} for n, e in variables.items()],
    }


def activity(id_: str, kind: str = "ServiceRequest", *, code: str = "57698-3", **extra: Any) -> dict:
    resource = {
        "resourceType": "ActivityDefinition",
        "id": id_,
        "url": f"{BASE}/ActivityDefinition/{id_}",
        "version": "1.0.0",
        "status": "active",
        "kind": kind,
        "code": {"coding": [{"system": LOINC, "code": code, "display": "Lipid panel"}]},
    }
    resource.update(extra)
    return resource


def dynamic(path: str, expression: str) -> dict:
    return {"path": path, "expression": fhirpath(expression)}


def suggestion(activity_id: str, title: str = "Order it", **extra: Any) -> dict:
    return {"title": title, "definitionCanonical": f"{BASE}/ActivityDefinition/{activity_id}", **extra}


def action(title: str = "Something to know", *, condition: str | None = "true", hook: str = "patient-view", **extra: Any) -> dict:
    result: dict[str, Any] = {
        "title": title,
        "priority": "routine",
        "code": [{"coding": [{"system": TOPIC_SYSTEM, "code": "topic-a", "display": "Topic A"}]}],
        "documentation": [{"type": "citation", "display": "Unit test source", "url": "https://example.org/source"}],
        "trigger": [{"type": "named-event", "name": hook}],
    }
    if condition is not None:
        result["condition"] = [{"kind": "applicability", "expression": fhirpath(condition)}]
    result.update(extra)
    return result


def plan(id_: str = "plan", *actions: dict, **extra: Any) -> dict:
    resource = {
        "resourceType": "PlanDefinition",
        "id": id_,
        "url": f"{BASE}/PlanDefinition/{id_}",
        "version": "1.0.0",
        "status": "active",
        "title": "Unit test plan",
        "description": "A plan for engine unit tests.",
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/plan-definition-type", "code": "eca-rule"}]},
        "action": list(actions) or [action()],
    }
    resource.update(extra)
    return resource


def write_content(directory: Path, *resources: dict) -> Path:
    """Write one JSON file per resource (named ``<type>-<id>.json``) and return the directory."""
    directory.mkdir(parents=True, exist_ok=True)
    for resource in resources:
        (directory / f"{resource['resourceType']}-{resource['id']}.json").write_text(json.dumps(resource, indent=1))
    return directory


def condition(id_: str, system: str, code: str, *, active: bool = True, text: str | None = None) -> dict:
    resource: dict[str, Any] = {
        "resourceType": "Condition",
        "id": id_,
        "clinicalStatus": {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active" if active else "resolved"}
            ]
        },
        "code": {"coding": [{"system": system, "code": code}]},
        "subject": {"reference": "Patient/p1"},
    }
    if text:
        resource["code"]["text"] = text
    return resource


def observation(id_: str, code: str, *, value: float | None = None, date: str = "2020-01-01", status: str = "final") -> dict:
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": id_,
        "status": status,
        "code": {"coding": [{"system": LOINC, "code": code}]},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": date,
    }
    if value is not None:
        resource["valueQuantity"] = {"value": value, "unit": "mg/dL", "system": "http://unitsofmeasure.org", "code": "mg/dL"}
    return resource


def searchset(*resources: dict) -> dict:
    return {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in resources]}


def patient(id_: str = "p1", birth_date: str | None = "1960-04-02", name: str = "Alice Example") -> dict:
    resource: dict[str, Any] = {"resourceType": "Patient", "id": id_, "name": [{"text": name}]}
    if birth_date:
        resource["birthDate"] = birth_date
    return resource


# From plugin/data/rxnorm-nsaid-products.tsv (a checked RxNorm list).
RXNORM_CODE = {
    "coding": [
        {
            "system": "http://www.nlm.nih.gov/research/umls/rxnorm",
            "code": "855657",
            "display": "24 HR Diclofenac Sodium 100 MG Extended Release Oral Tablet",
        }
    ]
}
