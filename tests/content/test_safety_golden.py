"""The clinical safety II golden patients through the real HTTP hook (``POST /cds-services/{id}``).

For each chart: exactly the recorded cards (topic, indicator, suggested
codes), no card carrying advice that is wrong for this patient, the advice it
must carry, and the side of a sided joint on the suggested orders.
"""

from __future__ import annotations

import pytest

from cds_hooks.response_model import validate_cards

from .golden import PLAN_FOR_HOOK, prefetch_templates, summarize
from .safety_patients import SAFETY_CASES, Expected




def _cards(http, knowledge_base, expected: Expected) -> list[dict]:
    case = expected.case
    response = http.post(f"/cds-services/{PLAN_FOR_HOOK[case.hook]}",
                           json=case.hook_request(prefetch_templates(knowledge_base, case.hook)))
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    validate_cards(body)
    return body["cards"]


@pytest.mark.parametrize("expected", SAFETY_CASES, ids=lambda e: e.case.id)
def test_safety_patient_gets_the_right_cards_and_no_wrong_advice(expected, http, knowledge_base):
    cards = _cards(http, knowledge_base, expected)
    want = sorted(({"topic": topic, "indicator": indicator, "suggests": sorted(codes)}
                   for topic, (indicator, codes) in expected.cards.items()), key=lambda item: item["topic"])
    assert summarize(cards) == want, expected.case.about
    texts = " ".join(card["summary"] + " " + card.get("detail", "") for card in cards)
    for phrase in expected.absent:
        assert phrase.lower() not in texts.lower(), f"{expected.case.id}: must not say {phrase!r}"
    for phrase in expected.present:
        assert phrase.lower() in texts.lower(), f"{expected.case.id}: must say {phrase!r}"
    sites = {site.get("text") for card in cards for s in card.get("suggestions", []) for a in s["actions"]
             for site in a["resource"].get("bodySite", [])}
    assert sites == set(expected.body_sites)


def test_every_safety_point_has_golden_patients():
    points = {expected.case.id.split("-")[0] for expected in SAFETY_CASES}
    assert points == {"s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s11"}
