"""NSAID safety at order-sign through the real HTTP hook: every form, every caution, "avoid" vs "use with care".

Each patient of ``nsaid_patients.py`` is sent to ``POST /cds-services/bme-order-sign``
with its prefetch answered from the discovery templates, as an EHR would.
An "avoid" card is critical and never offers "lowest dose" as the way
forward; a "use with care" card is a warning that does; a topical NSAID gets
an information card that says its risk is lower.
"""

from __future__ import annotations

import pytest

from cds_hooks.response_model import validate_cards

from .golden import prefetch_templates, read_golden
from .nsaid_patients import NSAID_CASES, NsaidCase
from .patients import CASES

TOPIC = "nsaid-caution"
DOSE_ADVICE = "lowest dose"




def sign(http, knowledge_base, case) -> list[dict]:
    response = http.post("/cds-services/bme-order-sign", json=case.hook_request(prefetch_templates(knowledge_base, "order-sign")))
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    validate_cards(body)
    return body["cards"]


@pytest.mark.parametrize("expected", NSAID_CASES, ids=lambda e: e.case.id)
def test_nsaid_order_gets_the_right_card(expected: NsaidCase, http, knowledge_base):
    cards = sign(http, knowledge_base, expected.case)
    if expected.indicator is None:
        assert cards == [], expected.case.about
        return
    (card,) = cards
    assert (card["source"]["topic"]["code"], card["indicator"]) == (TOPIC, expected.indicator), expected.case.about
    detail = card["detail"]
    for words in expected.words:
        assert words in detail, (expected.case.id, words)
    assert "**Why this card:**" in detail
    if expected.indicator == "critical":
        assert "avoid for this patient" in detail and DOSE_ADVICE not in detail and "use with care" not in detail
        assert "short-course" not in {reason["code"] for reason in card["overrideReasons"]}
    elif expected.indicator == "warning":
        assert "use with care" in detail and DOSE_ADVICE in detail and "avoid for this patient" not in detail
    else:
        assert "avoid for this patient" not in detail and DOSE_ADVICE not in detail
        assert {reason["code"] for reason in card["overrideReasons"]} == {"action-completed", "cds-not-applicable"}


def test_golden_nsaid_patients_cover_every_indicator_and_form():
    indicators = {e.indicator for e in NSAID_CASES}
    assert indicators == {"critical", "warning", "info", None}
    drafted = " ".join(o["medicationCodeableConcept"].get("text", "").lower() for e in NSAID_CASES for o in e.case.orders)
    for form in ("injection", "nasal spray", "suspension", "tablet", "gel", "ophthalmic", "liqui-gels"):
        assert form in drafted, form


# The older order-sign golden patients (tests/content/patients.py): the caution each must name, and whether it is an
# "avoid" combination (critical) or a "use with care" one (warning).
OLDER_NSAID_CASES = {
    "sign-ibuprofen-warfarin": ("critical", "anticoagulant use"),
    "sign-naproxen-low-egfr": ("critical", "latest eGFR 24 (below 30)"),
    "sign-celecoxib-past-ulcer": ("warning", "ulcer or gastrointestinal bleeding"),
    "sign-meloxicam-heart-failure": ("warning", "heart failure"),
    "sign-ibuprofen-age-78": ("warning", "age 65 or older"),
    "sign-ibuprofen-steroids": ("warning", "long-term systemic steroids"),
    "sign-ibuprofen-z7901": ("critical", "anticoagulant use"),
    "sign-apixaban-statement": ("critical", "anticoagulant use"),
    "sign-ckd-stage-4": ("critical", "chronic kidney disease stage 4-5"),
    "sign-ingredient-code": ("critical", "anticoagulant use"),
    "sign-anticoagulant-same-session": ("critical", "anticoagulant use"),
}
OVERRIDES = {
    "critical": {"risk-benefit-ratio", "patient-refuses"},
    "warning": {"risk-benefit-ratio", "short-course", "gastroprotection-in-place", "patient-refuses"},
}


def test_every_older_nsaid_case_is_covered():
    assert set(OLDER_NSAID_CASES) == {case.id for case in CASES if "nsaid" in case.tags}


@pytest.mark.parametrize("case_id", sorted(OLDER_NSAID_CASES))
def test_older_nsaid_cases_name_the_caution_with_the_right_strength(case_id, http, knowledge_base):
    indicator, words = OLDER_NSAID_CASES[case_id]
    (card,) = sign(http, knowledge_base, next(case for case in CASES if case.id == case_id))
    assert card["indicator"] == indicator == read_golden()[case_id]["cards"][0]["indicator"]
    assert words in card["detail"]
    reasons = {reason["code"]: reason["display"] for reason in card["overrideReasons"]}
    assert set(reasons) == OVERRIDES[indicator] and all(reasons.values())


def test_avoid_card_names_the_drafted_product(http, knowledge_base):
    (card,) = sign(http, knowledge_base, next(case for case in CASES if case.id == "sign-naproxen-low-egfr"))
    assert card["detail"].startswith("**Naproxen 250 MG Oral Tablet [Naprosyn]: avoid for this patient.**")
    assert card["summary"].startswith("Avoid this NSAID")


def test_order_sign_prefetch_asks_for_every_active_medication(http):
    """Products recognised by name need the whole active medication list: no code filter may narrow it."""
    (service,) = [s for s in http.get("/cds-services").get_json()["services"] if s["id"] == "bme-order-sign"]
    assert service["prefetch"]["medicationRequests"] == "MedicationRequest?patient={{context.patientId}}&status=active"
    assert service["prefetch"]["medicationStatements"] == "MedicationStatement?patient={{context.patientId}}"
    (patient_view,) = [s for s in http.get("/cds-services").get_json()["services"] if s["id"] == "bme-patient-view"]
    assert patient_view["prefetch"]["medicationRequests"] == "MedicationRequest?patient={{context.patientId}}&status=active"
