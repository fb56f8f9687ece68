"""The demo patients of every content provider, gathered once: FHIR records and ready hook calls.

Used by ``bme-cds demo-data`` (files), the ``/demo-fhir`` endpoint and the
``/preview`` page, so all three show the same synthetic patients.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from cds_content import DemoDataSource


@dataclass(frozen=True)
class DemoRequest:
    """One ready hook call for a demo patient, with what a clinician should see."""

    patient_id: str
    service_id: str
    description: str
    body: dict[str, Any]


@dataclass(frozen=True)
class DemoPatientRecord:
    """A demo patient: id, display name, the transaction Bundle of their chart, and their hook calls."""

    id: str
    name: str
    bundle: dict[str, Any]
    requests: list[DemoRequest] = field(default_factory=list)


def collect(sources: Iterable[DemoDataSource]) -> list[DemoPatientRecord]:
    """Every demo patient of ``sources``, each with its own hook calls, in the sources' order."""
    patients: dict[str, DemoPatientRecord] = {}
    requests: list[DemoRequest] = []
    for source in sources:
        for bundle in source.demo_bundles():
            patient = _patient_of(bundle)
            if patient["id"] in patients:
                raise ValueError(f"two demo bundles hold Patient/{patient['id']}")
            patients[patient["id"]] = DemoPatientRecord(patient["id"], display_name(patient), bundle)
        requests.extend(
            DemoRequest(item["patientId"], item["serviceId"], item["description"], item["request"])
            for item in source.demo_hook_requests()
        )
    for request in requests:
        if request.patient_id not in patients:
            raise ValueError(f"a demo hook call is for Patient/{request.patient_id}, who has no demo bundle")
        patients[request.patient_id].requests.append(request)
    return list(patients.values())


def display_name(patient: dict[str, Any]) -> str:
    """``Given Family`` of a Patient's first name, or its id."""
    names = patient.get("name") or [{}]
    parts = [*names[0].get("given", []), names[0].get("family", "")]
    return " ".join(part for part in parts if part) or patient["id"]


def _patient_of(bundle: dict[str, Any]) -> dict[str, Any]:
    for entry in bundle.get("entry", []):
        if entry["resource"]["resourceType"] == "Patient":
            return entry["resource"]
    raise ValueError("a demo bundle has no Patient resource")
