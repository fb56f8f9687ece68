"""Golden cards for the engine's own test topic: every synthetic patient through the real engine."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fhir.resources.R4B import get_fhir_model_class

from engine_scenarios import SCENARIOS, run, summarise

GOLDEN = json.loads((Path(__file__).parent / "golden_cards.json").read_text())


def test_golden_file_covers_every_scenario():
    assert sorted(GOLDEN) == sorted(SCENARIOS)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_cards_match_golden(lipid_kb, name):
    assert summarise(run(lipid_kb, SCENARIOS[name])) == GOLDEN[name]


@pytest.mark.parametrize("name", sorted(n for n, cards in GOLDEN.items() if any(c["suggestions"] for c in cards)))
def test_suggested_resources_are_valid_r4(lipid_kb, name):
    for card in run(lipid_kb, SCENARIOS[name]):
        for suggestion in card.get("suggestions", ()):
            for action in suggestion["actions"]:
                if "resource" in action:
                    resource = action["resource"]
                    get_fhir_model_class(resource["resourceType"]).model_validate(resource)
                    assert resource["subject"] == {"reference": "Patient/p1"}
