"""Synthetic patients for the engine's own test topic (lipid monitoring) and a card summariser for goldens.

Dates are relative to today, because the content compares with ``today()``.
Run ``python tests/engine/engine_scenarios.py`` to print the current summaries
(to review before updating golden_cards.json on purpose).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from engine_builders import condition, observation, patient, searchset  # noqa: E402
from fhir_content.systems import ICD10CM, SNOMED  # noqa: E402

LIPID_PANEL, TRIGLYCERIDES = "57698-3", "2571-8"


def days_ago(days: int) -> str:
    return (date.today() - timedelta(days=days)).isoformat()


@dataclass
class Scenario:
    plan: str
    conditions: list[dict] = field(default_factory=list)
    observations: list[dict] = field(default_factory=list)
    draft_orders: list[dict] = field(default_factory=list)
    selections: list[str] = field(default_factory=list)

    def context(self) -> dict[str, Any]:
        context: dict[str, Any] = {"patientId": "p1", "userId": "Practitioner/example"}
        if self.plan == "lipid-order-select":
            context["draftOrders"] = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in self.draft_orders]}
            context["selections"] = self.selections
        return context

    def prefetch(self) -> dict[str, Any]:
        return {
            "patient": patient(),
            "conditions": searchset(*self.conditions) if self.conditions else None,
            "observations": searchset(*self.observations),
        }


def lipid_order(order_id: str, code: str = LIPID_PANEL) -> dict:
    return {
        "resourceType": "ServiceRequest",
        "id": order_id,
        "status": "draft",
        "intent": "order",
        "subject": {"reference": "Patient/p1"},
        "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
    }


def refuted(resource: dict) -> dict:
    code = "refuted"
    system = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
    return {**resource, "verificationStatus": {"coding": [{"system": system, "code": code}]}}


SCENARIOS: dict[str, Scenario] = {
    "hyperlipidemia-snomed-no-panel": Scenario("lipid-patient-view", [condition("c1", SNOMED, "55822004")]),
    "hyperlipidemia-icd-undotted-old-panel": Scenario(
        "lipid-patient-view",
        [condition("c1", ICD10CM, "e7801")],
        [observation("o1", LIPID_PANEL, date=days_ago(800))],
    ),
    "hyperlipidemia-recent-panel": Scenario(
        "lipid-patient-view", [condition("c1", ICD10CM, "E78.5")], [observation("o1", LIPID_PANEL, date=days_ago(10))]
    ),
    "hyperlipidemia-recent-panel-cancelled": Scenario(
        "lipid-patient-view",
        [condition("c1", ICD10CM, "E78.5")],
        [observation("o1", LIPID_PANEL, date=days_ago(10), status="cancelled")],
    ),
    "hyperlipidemia-resolved": Scenario("lipid-patient-view", [condition("c1", SNOMED, "55822004", active=False)]),
    "hyperlipidemia-refuted": Scenario("lipid-patient-view", [refuted(condition("c1", SNOMED, "55822004"))]),
    "other-condition-only": Scenario("lipid-patient-view", [condition("c1", SNOMED, "64859006")]),
    "very-high-triglycerides": Scenario("lipid-patient-view", [], [observation("o1", TRIGLYCERIDES, value=612, date=days_ago(10))]),
    "very-high-triglycerides-long-ago": Scenario(
        "lipid-patient-view", [], [observation("o1", TRIGLYCERIDES, value=700, date=days_ago(200))]
    ),
    "triglycerides-below-500": Scenario("lipid-patient-view", [], [observation("o1", TRIGLYCERIDES, value=450, date=days_ago(10))]),
    "both-cards": Scenario(
        "lipid-patient-view",
        [condition("c1", ICD10CM, "E78.2")],
        [observation("o1", TRIGLYCERIDES, value=1010, date=days_ago(3))],
    ),
    "no-data": Scenario("lipid-patient-view"),
    "order-select-repeat-panel": Scenario(
        "lipid-order-select",
        observations=[observation("o1", LIPID_PANEL, date=days_ago(5))],
        draft_orders=[lipid_order("draft-1")],
        selections=["ServiceRequest/draft-1"],
    ),
    "order-select-panel-60-days-ago": Scenario(
        "lipid-order-select",
        observations=[observation("o1", LIPID_PANEL, date=days_ago(60))],
        draft_orders=[lipid_order("draft-1")],
        selections=["ServiceRequest/draft-1"],
    ),
    "order-select-other-order-selected": Scenario(
        "lipid-order-select",
        observations=[observation("o1", LIPID_PANEL, date=days_ago(5))],
        draft_orders=[lipid_order("draft-1"), lipid_order("draft-2", code=TRIGLYCERIDES)],
        selections=["ServiceRequest/draft-2"],
    ),
}


def _suggestion_codes(suggestion: dict) -> list[str]:
    codes = []
    for action in suggestion["actions"]:
        if action["type"] == "delete":
            codes.append(f"delete {action['resourceId']}")
            continue
        resource = action["resource"]
        concept = resource.get("code") or resource.get("medicationCodeableConcept") or resource["category"][0]
        coding = concept["coding"][0]
        codes.append(f"{action['type']} {resource['resourceType']} {coding['system']}|{coding['code']}")
    return codes


def summarise(cards: list[dict]) -> list[dict]:
    """What a golden file pins down: no uuids and no free text beyond the summary."""
    return [
        {
            "summary": card["summary"],
            "indicator": card["indicator"],
            "topic": card["source"]["topic"]["code"],
            "suggestions": sorted(code for s in card.get("suggestions", ()) for code in _suggestion_codes(s)),
        }
        for card in cards
    ]


def run(kb, scenario: Scenario) -> list[dict]:
    return kb.evaluate(
        scenario.plan, context=scenario.context(), prefetch=scenario.prefetch(), base_url="https://cds.example.org"
    )


if __name__ == "__main__":
    from fhir_content import KnowledgeBase

    knowledge = KnowledgeBase.load(Path(__file__).parent / "content")
    print(json.dumps({name: summarise(run(knowledge, s)) for name, s in SCENARIOS.items()}, indent=2))
