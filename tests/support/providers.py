"""Tiny content providers that exercise the protocol layer without any clinical content.

:class:`GreeterProvider` offers one service per standard hook, with prefetch
templates, and builds its cards from the data it receives, so a test can see
that prefetch, language and base URL reached the provider. Every call is kept
in ``calls`` for tests that check what a provider was given.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

from cds_content import HookCall, ServiceDefinition

TOPIC = {"system": "http://example.org/test-topics", "code": "greeting", "display": "Greeting"}

GREETER = ServiceDefinition(
    id="greeter",
    hook="patient-view",
    title="Patient greeter",
    description="Greets the patient in context and counts their conditions.",
    prefetch={
        "patientToGreet": "Patient/{{context.patientId}}",
        "conditions": "Condition?patient={{context.patientId}}",
        "user": "Practitioner/{{userPractitionerId}}",
    },
    usage_requirements="Needs the Patient resource; conditions and the user are optional.",
    required_prefetch=frozenset({"patientToGreet"}),
)
ORDER_SELECT = ServiceDefinition(
    id="order-select-echo",
    hook="order-select",
    title="Order echo (select)",
    description="Echoes the selected draft orders.",
    prefetch={"patient": "Patient/{{context.patientId}}"},
)
ORDER_SIGN = ServiceDefinition(
    id="order-sign-echo",
    hook="order-sign",
    title="Order echo (sign)",
    description="Echoes the draft orders about to be signed and offers to drop each one.",
    prefetch={
        "patient": "Patient/{{context.patientId}}",
        "medications": "MedicationRequest?patient={{context.patientId}}&status=active",
    },
)

_GREETING = {"en": "Hello", "es": "Hola"}


class GreeterProvider:
    """Cards from data: a greeting (patient-view) and one card per draft order (order hooks).

    The order cards leave ``uuid`` and ``selectionBehavior`` out on purpose,
    so tests can see the service fill them in.
    """

    languages = tuple(_GREETING)

    def __init__(self) -> None:
        self.calls: list[HookCall] = []

    def services(self) -> list[ServiceDefinition]:
        return [GREETER, ORDER_SELECT, ORDER_SIGN]

    def evaluate(self, call: HookCall) -> list[dict[str, Any]]:
        self.calls.append(call)
        if call.hook == "patient-view":
            return [self._greeting(call)]
        return [self._order_card(call, entry["resource"]) for entry in _draft_entries(call)]

    def _greeting(self, call: HookCall) -> dict[str, Any]:
        patient = call.prefetch.get("patientToGreet") or {}
        names = patient.get("name") or [{}]
        given = " ".join(names[0].get("given", [])) or "patient"
        card: dict[str, Any] = {
            "uuid": str(uuid.uuid4()),
            "summary": f"{_GREETING[call.language]}, {given}",
            "indicator": "info",
            "source": {"label": "Greeter test service", "topic": TOPIC},
            "links": [
                {
                    "label": "About greetings",
                    "url": f"{call.base_url}/handouts/greeting?lang={call.language}",
                    "type": "absolute",
                }
            ],
        }
        conditions = call.prefetch.get("conditions")
        if conditions is not None:
            card["detail"] = f"Conditions on record: {len(conditions.get('entry', []))}"
        return card

    def _order_card(self, call: HookCall, resource: dict[str, Any]) -> dict[str, Any]:
        reference = f"{resource['resourceType']}/{resource.get('id', 'draft')}"
        return {
            "summary": f"Draft order {reference}",
            "indicator": "warning" if call.hook == "order-sign" else "info",
            "source": {"label": "Order echo test service", "topic": TOPIC},
            "suggestions": [
                {
                    "label": f"Remove {reference}",
                    "actions": [{"type": "delete", "description": "Remove the draft order", "resourceId": reference}],
                }
            ],
        }


class CannedProvider:
    """One patient-view service without prefetch that returns the cards it was given (copied)."""

    SERVICE = ServiceDefinition(id="canned", hook="patient-view", title="Canned", description="Returns fixed cards.")
    languages = ("en",)

    def __init__(self, cards: Any):
        self.cards = cards

    def services(self) -> list[ServiceDefinition]:
        return [self.SERVICE]

    def evaluate(self, call: HookCall) -> Any:
        return copy.deepcopy(self.cards)


def _draft_entries(call: HookCall) -> list[dict[str, Any]]:
    entries = call.context["draftOrders"].get("entry", [])
    selections = call.context.get("selections")
    if selections is None:
        return entries
    return [e for e in entries if f"{e['resource']['resourceType']}/{e['resource'].get('id')}" in selections]
