"""Clinical and protocol rules every BME card must keep, checked on the golden patients' real cards."""

from __future__ import annotations

import importlib
import re

import pytest

from cds_hooks.response_model import validate_cards

from .golden import BASE_URL, cards_for
from .patients import CASES

CASE_BY_ID = {case.id: case for case in CASES}
BME_TOPICS = {"bme-secondary", "bme-syndrome-workup", "bme-infection", "bme-cancer"}


def tagged(tag: str) -> list[str]:
    return [case.id for case in CASES if tag in case.tags]


def only_card(cards_by_case, case_id: str) -> dict:
    cards = cards_by_case[case_id]
    assert len(cards) == 1, [card["summary"] for card in cards]
    return cards[0]


def test_cards_are_spec_exact_cds_hooks_with_valid_fhir_suggestions(cards_by_case):
    for case_id, cards in cards_by_case.items():
        validate_cards({"cards": cards})
        for card in cards:
            assert len(card["summary"]) < 140, case_id
            for suggestion in card.get("suggestions", []):
                for action in suggestion["actions"]:
                    kind = action["resource"]["resourceType"]
                    getattr(importlib.import_module(f"fhir.resources.R4B.{kind.lower()}"), kind).model_validate(action["resource"])


def test_every_card_links_a_handout_in_the_request_language(cards_by_case):
    for case_id, cards in cards_by_case.items():
        for card in cards:
            handouts = [link for link in card.get("links", []) if link["url"].startswith(f"{BASE_URL}/handouts/")]
            assert handouts, f"{case_id}: {card['summary']}"
            assert all(link["url"].endswith("?lang=en") and link["type"] == "absolute" for link in handouts)


def test_no_card_suggests_deleting_or_changing_an_order(cards_by_case):
    types = {action["type"] for cards in cards_by_case.values() for card in cards
             for suggestion in card.get("suggestions", []) for action in suggestion["actions"]}
    assert types == {"create"}


def test_no_card_discourages_an_xray(cards_by_case):
    discouraging = re.compile(r"\b(skip|cancel|avoid|instead of|no need for|unnecessary)\b[^.]*\bx-?ray", re.IGNORECASE)
    for cards in cards_by_case.values():
        for card in cards:
            assert not discouraging.search(card["summary"] + " " + card.get("detail", ""))


@pytest.mark.parametrize("case_id", tagged("infection"))
def test_bme_with_infection_is_an_urgent_warning_never_routine_education(case_id, cards_by_case):
    card = only_card(cards_by_case, case_id)
    assert (card["source"]["topic"]["code"], card["indicator"]) == ("bme-infection", "warning")
    assert "urgent" in card["summary"]
    assert "NSAID" not in card["detail"] and "physical therapy" not in card["detail"].lower()
    assert any(link["url"].startswith(f"{BASE_URL}/handouts/bone-infection") for link in card["links"])


def test_infection_card_also_names_a_cancer_on_record(cards_by_case):
    assert "oncology" in only_card(cards_by_case, "pv-infection-and-cancer")["detail"]
    assert "oncology" not in only_card(cards_by_case, "pv-osteomyelitis")["detail"]


@pytest.mark.parametrize("case_id", sorted(set(tagged("cancer")) - set(tagged("infection"))))
def test_bme_with_cancer_is_a_warning_to_involve_oncology(case_id, cards_by_case):
    card = only_card(cards_by_case, case_id)
    assert (card["source"]["topic"]["code"], card["indicator"]) == ("bme-cancer", "warning")
    assert "oncology" in card["detail"] and "biopsy" in card["detail"]
    assert "suggestions" not in card


def test_bone_marrow_biopsy_is_only_mentioned_when_cancer_is_on_record(cards_by_case):
    for case_id, cards in cards_by_case.items():
        for card in cards:
            if "biopsy" in card.get("detail", ""):
                assert "cancer" in CASE_BY_ID[case_id].tags, case_id


@pytest.mark.parametrize("case_id", tagged("negated") + tagged("historical"))
def test_negated_or_historical_findings_give_no_bme_card(case_id, cards_by_case):
    assert not {card["source"]["topic"]["code"] for card in cards_by_case[case_id]} & BME_TOPICS


@pytest.mark.parametrize("case_id", tagged("no-card"))
def test_patients_without_an_indication_get_no_card(case_id, cards_by_case):
    assert cards_by_case[case_id] == [], CASE_BY_ID[case_id].about


def test_an_uncertain_finding_is_called_uncertain(cards_by_case):
    assert "Uncertain finding" in only_card(cards_by_case, "pv-uncertain-finding")["detail"]
    assert "Uncertain finding" not in only_card(cards_by_case, "pv-oa-knee-snomed")["detail"]


def test_education_card_names_the_cause_and_words_nsaids_by_the_cautions_found(cards_by_case):
    with_warfarin = only_card(cards_by_case, "pv-osteoporosis-warfarin")["detail"]
    assert "Condition(s) on record that can cause BME: Osteoporosis" in with_warfarin
    assert "Avoid NSAID tablets and injections for this patient: anticoagulant use" in with_warfarin
    without_caution = only_card(cards_by_case, "pv-oa-knee-snomed")["detail"]
    assert "Osteoarthritis of knee" in without_caution
    assert "when no NSAID caution applies" in without_caution and "NSAID caution for this patient" not in without_caution


def test_work_up_card_frames_bmes_only_for_men_aged_30_to_60(cards_by_case):
    assert "a man aged 30 to 60." in only_card(cards_by_case, "pv-bmes-man-42")["detail"]
    assert "fits its usual profile" not in only_card(cards_by_case, "pv-workup-recent-labs")["detail"]


def test_order_select_card_keeps_the_xray_and_offers_the_mri_as_an_option(cards_by_case):
    card = only_card(cards_by_case, "os-xray-knee-cpt")
    assert "Keep the X-ray" in card["detail"]
    assert [s.get("isRecommended", False) for s in card["suggestions"]] == [False]


def test_spanish_request_links_spanish_handouts(knowledge_base):
    cards = cards_for(knowledge_base, CASE_BY_ID["pv-oa-knee-snomed"], language="es")
    (card,) = cards
    assert {link["url"] for link in card["links"]} == {f"{BASE_URL}/handouts/bme-basics?lang=es"}
    handout_urls = [action["resource"]["payload"][0]["contentAttachment"]["url"] for s in card["suggestions"]
                    for action in s["actions"] if action["resource"]["resourceType"] == "CommunicationRequest"]
    assert handout_urls == [f"{BASE_URL}/handouts/bme-osteoarthritis?lang=es"]
