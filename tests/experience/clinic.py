"""A clinician at work, for the experience tests: call a hook for a demo patient, then accept or dismiss its cards."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

from plugin.demo.patients import DEMO_PATIENTS, DemoPatient

PATIENTS = {patient.id: patient for patient in DEMO_PATIENTS}
SERVICE_FOR_HOOK = {"patient-view": "bme-patient-view", "order-select": "bme-order-select", "order-sign": "bme-order-sign"}
NOT_APPLICABLE = {"system": "http://terminology.hl7.org/CodeSystem/non-adherence-reason-codes",
                  "code": "cds-not-applicable", "display": "Does not apply to this patient"}


def hook_request(bme: Any, patient: DemoPatient, hook: str = "patient-view") -> dict[str, Any]:
    """The hook call for ``patient``'s visit through ``hook``, prefetch filled from the chart, fresh hookInstance."""
    visit = next(v for v in patient.visits if v.hook == hook)
    templates = next(s.prefetch for s in bme.services() if s.id == SERVICE_FOR_HOOK[hook])
    return {**patient.case(visit).hook_request(templates), "hookInstance": str(uuid.uuid4())}


def with_records(patient_id: str, *records: dict[str, Any]) -> DemoPatient:
    """A demo patient whose chart has gained ``records``."""
    patient = PATIENTS[patient_id]
    return dataclasses.replace(patient, records=[*patient.records, *records])


def cards(client: Any, bme: Any, patient: DemoPatient, hook: str = "patient-view") -> list[dict[str, Any]]:
    response = client.post(f"/cds-services/{SERVICE_FOR_HOOK[hook]}", json=hook_request(bme, patient, hook))
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["cards"]


def send_feedback(
    client: Any, service_id: str, card: dict[str, Any], outcome: str, reason: dict[str, str] = NOT_APPLICABLE
) -> None:
    """Accept the card's first suggestion, or dismiss the card for ``reason`` (default: it does not apply)."""
    entry: dict[str, Any] = {"card": card["uuid"], "outcome": outcome, "outcomeTimestamp": "2025-11-20T10:00:00Z"}
    if outcome == "accepted":
        entry["acceptedSuggestions"] = [{"id": card["suggestions"][0]["uuid"]}]
    else:
        entry["overrideReason"] = {"reason": reason, "userComment": "discussed at the last visit"}
    response = client.post(f"/cds-services/{service_id}/feedback", json={"feedback": [entry]})
    assert response.status_code == 200, response.get_data(as_text=True)


def topics(cards_: list[dict[str, Any]]) -> list[str]:
    return sorted(card["source"]["topic"]["code"] for card in cards_)
