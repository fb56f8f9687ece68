"""Every golden patient gets exactly the cards recorded in golden.json (topic, indicator, suggested codes).

A failure means a card appeared, vanished, changed severity or suggests a
different order. If the change is intended, rerun
``tests/content/regenerate_goldens.py`` and review the diff.
"""

from __future__ import annotations

import pytest
from fhir.resources.R4B.requestgroup import RequestGroup

from .golden import read_golden, summarize
from .patients import CASES

GOLDEN = read_golden()


def test_golden_file_lists_exactly_the_golden_patients():
    assert sorted(GOLDEN) == sorted(case.id for case in CASES)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_patient_gets_the_recorded_cards(case, cards_by_case):
    assert {"hook": case.hook, "cards": summarize(cards_by_case[case.id])} == GOLDEN[case.id], case.about


def test_golden_patients_cover_every_hook_and_card_topic():
    hooks = {entry["hook"] for entry in GOLDEN.values()}
    topics = {card["topic"] for entry in GOLDEN.values() for card in entry["cards"]}
    assert hooks == {"patient-view", "order-select", "order-sign"}
    assert topics == {
        "bme-secondary", "bme-syndrome-workup", "bme-infection", "bme-cancer",
        "imaging-mri-next", "imaging-xray-first", "imaging-cannot-show-bme", "nsaid-caution",
        "bme-femoral-head-osteonecrosis", "bme-charcot-foot",
    }
    assert sum(1 for entry in GOLDEN.values() if not entry["cards"]) >= 10, "too few patients that must get no card"


@pytest.mark.parametrize("case", [c for c in CASES if c.hook == "patient-view"], ids=lambda case: case.id)
def test_plan_apply_on_the_record_bundle_agrees_with_the_hook(case, knowledge_base):
    """``$apply`` on the patient's record Bundle (what ``bme-cds apply --data`` sends) gives the same actions as the hook."""
    group = knowledge_base.apply_plan("bme-patient-view", subject=f"Patient/{case.patient_id}", data=[case.bundle()])
    RequestGroup.model_validate(group)
    topics = sorted(action["code"][0]["coding"][0]["code"] for action in group.get("action", []))
    assert topics == [card["topic"] for card in GOLDEN[case.id]["cards"]]
