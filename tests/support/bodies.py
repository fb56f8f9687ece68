"""Hook call bodies for tests, built from the spec's examples in tests/fixtures/cds-hooks."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

EXAMPLES = Path(__file__).resolve().parent.parent / "fixtures" / "cds-hooks"

PATIENT_ID = "1288992"
PATIENT = {
    "resourceType": "Patient",
    "id": PATIENT_ID,
    "name": [{"family": "Tester", "given": ["Ada"]}],
    "birthDate": "1925-12-23",
}


def load_example(name: str) -> Any:
    """A spec example by file name, e.g. ``"03-request-patient-view-with-prefetch.json"``."""
    return json.loads((EXAMPLES / name).read_text(encoding="utf-8"))


def wrap_context(example: str, hook: str, **fields: Any) -> dict[str, Any]:
    """A full hook call around one of the library's bare ``{"context": ...}`` examples."""
    return {"hook": hook, "hookInstance": str(uuid.uuid4()), **load_example(example), **fields}


def patient_view(**fields: Any) -> dict[str, Any]:
    """A complete patient-view call for the greeter, with its required prefetch sent."""
    body: dict[str, Any] = {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/example", "patientId": PATIENT_ID},
        "prefetch": {"patientToGreet": PATIENT},
    }
    body.update(fields)
    return body


def searchset(*resources: dict[str, Any], next_url: str | None = None) -> dict[str, Any]:
    """A searchset Bundle of ``resources``, optionally with a ``next`` link."""
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset", "total": len(resources)}
    if resources:
        bundle["entry"] = [{"resource": r} for r in resources]
    if next_url:
        bundle["link"] = [{"relation": "next", "url": next_url}]
    return bundle


def condition(condition_id: str) -> dict[str, Any]:
    return {"resourceType": "Condition", "id": condition_id, "subject": {"reference": f"Patient/{PATIENT_ID}"}}


# What the order services' templates ask for: the patient and (no) active medications.
ORDER_PREFETCH = {"patient": PATIENT, "medications": searchset()}
