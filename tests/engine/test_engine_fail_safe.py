"""A warning never disappears silently: bad data is left out, and a warning check that could not run says so.

The engine is generic: which actions are warnings comes from their priority
(``urgent``/``stat``), the check's name from the ``check-name`` extension or
the action's title. Patient data is read tolerantly, one element at a time.
"""

from __future__ import annotations

import logging
import time

import pytest

from fhir_content.systems import LOINC
from engine_builders import EXT, action, concepts, observation, plan, searchset, value_set, vs_url
from fhir_content import EvaluationTimeout, TextLimits
from fhir_content.readable import ResourceReader

LOW_EGFR = "resourcesIn('Observation', '%s').where(value.value < 30).exists()" % vs_url("egfr")
EGFR = "33914-3"


@pytest.fixture
def egfr_kb(load):
    """One warning (an eGFR under 30) with a check name, and one info card on every chart."""
    warning = action("Kidney function too low for this drug", condition=LOW_EGFR, priority="urgent",
                     extension=[{"url": EXT + "check-name", "valueString": "Kidney safety"}])
    return load({**value_set("egfr", concepts(LOINC, EGFR)), "title": "eGFR"}, plan("plan", warning, action("Always here")))


def cards(kb, *resources):
    return kb.evaluate("plan", context={"patientId": "p1"}, prefetch={"all": searchset(*resources)}, base_url="https://cds.example.org")


def test_a_warning_rule_fires_on_readable_data(egfr_kb):
    assert [c["summary"] for c in cards(egfr_kb, observation("e", EGFR, value=22))] == [
        "Kidney function too low for this drug", "Always here"]


def test_an_unreadable_value_in_the_data_the_warning_reads_gives_a_check_incomplete_card(egfr_kb, caplog):
    bad = observation("e", EGFR, value=22)
    bad["valueQuantity"]["value"] = "22"
    with caplog.at_level(logging.WARNING, logger="fhir_content"):
        incomplete, info = cards(egfr_kb, bad)
    assert incomplete["summary"] == "Kidney safety check incomplete"
    assert incomplete["indicator"] == "warning"
    assert "an Observation (eGFR) could not be read (valueQuantity.value)" in incomplete["detail"]
    assert info["summary"] == "Always here"
    assert "22" not in caplog.text  # the path is logged, never the value


def test_an_unreadable_element_elsewhere_leaves_the_warning_whole(egfr_kb):
    unrelated = observation("hr", "8867-4", value=70)
    unrelated["valueQuantity"]["value"] = "seventy"
    unrelated["effectiveDateTime"] = 20200101
    summaries = [c["summary"] for c in cards(egfr_kb, observation("e", EGFR, value=22), unrelated)]
    assert summaries == ["Kidney function too low for this drug", "Always here"]


def test_unreadable_data_the_warning_does_not_read_gives_no_incomplete_card(egfr_kb):
    unrelated = observation("hr", "8867-4", value=70)
    unrelated["valueQuantity"]["value"] = "seventy"
    assert [c["summary"] for c in cards(egfr_kb, observation("e", EGFR, value=55), unrelated)] == ["Always here"]


def test_a_failing_warning_condition_is_reported_and_a_failing_info_condition_skipped(load):
    failing = "1 + 'one' > 0"  # a type error at run time
    kb = load(plan("plan", action("Danger", condition=failing, priority="stat"), action("Note", condition=failing)))
    (card,) = cards(kb)
    assert card["summary"] == "Check incomplete: Danger"
    assert card["indicator"] == "critical"
    assert "the record could not be evaluated" in card["detail"]


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        ({"resourceType": "Observation", "valueQuantity": {"value": "5"}}, [("valueQuantity", "valueQuantity.value")]),
        ({"resourceType": "Observation", "effectiveDateTime": 5}, [("effectiveDateTime", "effectiveDateTime")]),
        ({"resourceType": "Observation", "effectiveDateTime": "2020-13-01"}, [("effectiveDateTime", "effectiveDateTime")]),
        ({"resourceType": "Observation", "component": [{"valueQuantity": {"value": True}}]},
         [("component", "component.valueQuantity.value")]),
        ({"resourceType": "Condition", "code": "E78.5"}, [("code", "code")]),
        ({"resourceType": "Patient", "birthDate": 1960}, [("birthDate", "birthDate")]),
        ({"resourceType": "Condition", "onsetDateTime": "2020-01-01T10:00:00+02:00", "unknownThing": 5, "_onsetDateTime": 1}, []),
    ],
)
def test_unreadable_elements_are_found_by_their_r4_type(resource, expected):
    names = frozenset({"value", "effective", "component", "code", "birthDate", "onset"})
    found = ResourceReader(names, TextLimits()).unreadable_elements(resource)
    assert [(name, path) for name, path, _ in found] == expected


def test_a_text_over_the_per_value_limit_is_left_out_and_the_warning_says_so(load):
    reads_text = "resources('Observation').where(valueString.contains('critical')).exists()"
    kb = load(plan("plan", action("Critical note", condition=reads_text, priority="urgent")))
    note = {**observation("n", "8867-4"), "valueString": "critical " + "x" * 200}

    def evaluate(limits):
        return kb.evaluate("plan", context={"patientId": "p1"}, prefetch={"all": searchset(note)},
                           base_url="https://cds.example.org", text_limits=limits)

    assert [c["summary"] for c in evaluate(TextLimits(per_value=1000, per_call=5000))] == ["Critical note"]
    (card,) = evaluate(TextLimits(per_value=100, per_call=5000))
    assert card["summary"] == "Check incomplete: Critical note"
    assert "an Observation was too long to read whole (valueString)" in card["detail"]


def test_texts_past_the_per_call_limit_are_left_out(load):
    reads_text = "resources('Observation').where(valueString.contains('critical')).exists()"
    kb = load(plan("plan", action("Critical note", condition=reads_text, priority="urgent")))
    notes = [{**observation(f"n{i}", "8867-4"), "valueString": "y" * 3000} for i in range(3)]
    notes.append({**observation("last", "8867-4"), "valueString": "critical " + "x" * 3000})
    (card,) = kb.evaluate("plan", context={"patientId": "p1"}, prefetch={"all": searchset(*notes)},
                          base_url="https://cds.example.org", text_limits=TextLimits(per_value=5000, per_call=10_000))
    assert card["summary"] == "Check incomplete: Critical note"


def test_evaluation_past_its_deadline_stops(egfr_kb):
    with pytest.raises(EvaluationTimeout):
        egfr_kb.evaluate("plan", context={"patientId": "p1"}, prefetch={}, base_url="https://x.org",
                         deadline=time.monotonic() - 1)
