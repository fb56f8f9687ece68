"""A handful of golden patients through the real HTTP service: discovery, hook calls, handout links.

The same cards must come out of ``POST /cds-services/{id}`` as out of the
engine directly, so what the golden file records is what an EHR receives.
"""

from __future__ import annotations

import pytest

from cds_hooks.response_model import validate_cards, validate_discovery

from .golden import PLAN_FOR_HOOK, prefetch_templates, read_golden, summarize
from .patients import CASES

HTTP_CASES = ["pv-oa-knee-snomed", "pv-osteomyelitis", "pv-negated-only", "pv-pain-negative-xray", "os-xray-knee-cpt",
              "sign-ibuprofen-warfarin", "sign-no-caution"]
CASE_BY_ID = {case.id: case for case in CASES}




def test_discovery_announces_the_three_bme_services_with_prefetch(http):
    body = http.get("/cds-services").get_json()
    validate_discovery(body)
    services = {service["id"]: service for service in body["services"]}
    assert {sid: s["hook"] for sid, s in services.items()} == {v: k for k, v in PLAN_FOR_HOOK.items()}
    assert services["bme-order-sign"]["prefetch"]["observations"] == (
        "Observation?patient={{context.patientId}}&code=" + ",".join(
            f"http://loinc.org|{code}" for code in ("33914-3", "48642-3", "48643-1", "62238-1", "88293-6", "88294-4", "98979-8")))
    assert all(s["prefetch"]["patient"] == "Patient/{{context.patientId}}" for s in services.values())


@pytest.mark.parametrize("case_id", HTTP_CASES)
def test_hook_call_returns_the_golden_cards(case_id, http, knowledge_base):
    case = CASE_BY_ID[case_id]
    response = http.post(f"/cds-services/{PLAN_FOR_HOOK[case.hook]}", json=case.hook_request(prefetch_templates(knowledge_base, case.hook)))
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    validate_cards(body)
    assert summarize(body["cards"]) == read_golden()[case_id]["cards"]


def test_handout_linked_from_a_card_is_served(http, knowledge_base):
    case = CASE_BY_ID["pv-osteomyelitis"]
    body = http.post("/cds-services/bme-patient-view", json=case.hook_request(prefetch_templates(knowledge_base, case.hook))).get_json()
    (link,) = body["cards"][0]["links"]
    page = http.get(link["url"].removeprefix("https://cds.example.org"))
    assert page.status_code == 200
    assert "text/html" in page.content_type
