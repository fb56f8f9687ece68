"""Golden cards: what the example content answers for each synthetic patient, and that its parts hold together."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cases import CASES
from ckd_checkup import LANGUAGES

from cds_content import HookCall, KnowledgeSource

GOLDEN = Path(__file__).with_name("golden.json")
BASE_URL = "https://cds.example.org"


def cards_for(ckd, case) -> list[dict[str, Any]]:
    """The cards of a hook call for ``case``, prefetch answered from its chart, without the random uuids."""
    [service] = ckd.services()
    request = case.hook_request(service.prefetch)
    call = HookCall(service.id, case.hook, request["hookInstance"], request["context"], request["prefetch"],
                    BASE_URL, LANGUAGES[0])
    return [_without_uuids(card) for card in ckd.evaluate(call)]


def _without_uuids(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_uuids(v) for k, v in value.items() if k != "uuid"}
    if isinstance(value, list):
        return [_without_uuids(v) for v in value]
    return value


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_cards_match_the_golden_file(ckd, case):
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert cards_for(ckd, case) == golden[case.id], case.about


def test_every_case_has_a_golden_answer_and_the_cases_that_should_fire_do():
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert set(golden) == {case.id for case in CASES}
    firing = {case.id for case in CASES if case.about.endswith(": card")}
    assert {case_id for case_id, cards in golden.items() if cards} == firing


def test_one_patient_view_service_with_generated_prefetch(ckd):
    [service] = ckd.services()
    assert (service.id, service.hook) == ("ckd-checkup", "patient-view")
    assert service.prefetch == {
        "conditions": "Condition?patient={{context.patientId}}&code=" + ",".join(
            f"http://hl7.org/fhir/sid/icd-10-cm|{code}"
            for code in ("N18.1", "N18.2", "N18.3", "N18.30", "N18.31", "N18.32", "N18.4", "N18.5", "N18.9")),
        "observations": "Observation?patient={{context.patientId}}&code=http://loinc.org|2160-0,"
                        "http://loinc.org|62238-1,http://loinc.org|98979-8",
        "patient": "Patient/{{context.patientId}}",
    }


def test_the_card_links_the_handout_the_package_serves(ckd):
    [card] = cards_for(ckd, CASES[0])
    [link] = card["links"]
    assert link["url"] == f"{BASE_URL}/handouts/kidney-check?lang=en"
    assert ckd.render_handout("kidney-check", "en").startswith("<!doctype html>")
    assert ckd.render_handout("kidney-check", "es") is None
    assert isinstance(ckd, KnowledgeSource) and ckd.languages == ("en",)
