"""Bad data never silently removes a BME warning (infection, cancer, NSAID caution).

Every golden chart with a warning is sent again with one element of one of
its resources (records, the patient, the draft order) replaced by a value of
the wrong JSON type: the warning's topic must still come as a warning - the
warning itself, or the card saying its check is incomplete - never an
empty answer. The same charts with unreadable resources that the warnings do
not read must give exactly their golden cards.
"""

from __future__ import annotations

import pytest

from cds_content.demo import Case, condition

from .golden import cards_for, read_golden, summarize
from .patients import CASES

WARNING_CASES = [case for case in CASES if any(c["indicator"] != "info" for c in read_golden()[case.id]["cards"])]
# Elements the rules read, each replaced by a value of the wrong JSON type.
WRONG_TYPES = {
    "code": "not a concept", "medicationCodeableConcept": 5, "clinicalStatus": 5, "verificationStatus": [1],
    "onsetDateTime": 20200101, "recordedDate": "last week", "effectiveDateTime": 5, "issued": "soon", "authoredOn": 5,
    "valueQuantity": {"value": "24"}, "status": 1, "conclusion": 5, "birthDate": 1960, "category": "laboratory",
}
# The EHR's search selects records by code and status, so a record whose code or status is unreadable is never sent.
SEARCHED_ON = frozenset({"code", "medicationCodeableConcept", "status"})
# Records of kinds no rule reads. Observations and DiagnosticReports are not among them: the report
# reader reads every one (any report text can state BME, an infection or a tumour), so an unreadable
# one makes the checks that use report facts say they are incomplete (docs/reliability.md).
UNRELATED = [
    {**condition({"coding": [{"system": "http://snomed.info/sct", "code": "38341003"}]}, onset_days=30), "onsetDateTime": 7},
    {"resourceType": "Procedure", "status": "completed", "code": {"text": "Appendectomy"}, "performedDateTime": 5},
    {"resourceType": "AllergyIntolerance", "code": {"text": "Penicillin"}, "onsetDateTime": "long ago"},
]


def _variants(case: Case):
    """Each chart variant with one element of one resource made unreadable: (label, case)."""
    patient = case.person
    for index, record in enumerate(case.records):
        for element in (WRONG_TYPES.keys() - SEARCHED_ON) & record.keys():
            records = [*case.records]
            records[index] = {**record, element: WRONG_TYPES[element]}
            yield f"record{index}.{element}", Case(case.id, case.hook, case.about, patient, records, case.orders,
                                                   case.unselected, case.tags)
    for index, order in enumerate(case.orders):
        for element in WRONG_TYPES.keys() & order.keys():
            orders = [*case.orders]
            orders[index] = {**order, element: WRONG_TYPES[element]}
            yield f"order{index}.{element}", Case(case.id, case.hook, case.about, patient, case.records, orders,
                                                  case.unselected, case.tags)


def _warning_topics(cards) -> set[str]:
    """The topics of the warning and critical cards, of real cards or their golden summaries."""
    return {card["topic"] for card in summarize(cards) if card["indicator"] != "info"}


@pytest.mark.parametrize("case", WARNING_CASES, ids=lambda case: case.id)
def test_an_unreadable_element_in_the_data_a_warning_reads_never_removes_it_silently(case, knowledge_base):
    expected = {card["topic"] for card in read_golden()[case.id]["cards"] if card["indicator"] != "info"}
    variants = list(_variants(case))
    assert variants or not case.records
    for label, variant in variants:
        assert expected <= _warning_topics(cards_for(knowledge_base, variant)), label


@pytest.mark.parametrize("case", WARNING_CASES, ids=lambda case: case.id)
def test_unreadable_resources_the_warnings_do_not_read_leave_the_cards_as_they_were(case, knowledge_base):
    with_unrelated = Case(case.id, case.hook, case.about, case.person, [*case.records, *UNRELATED], case.orders,
                          case.unselected, case.tags)
    assert summarize(cards_for(knowledge_base, with_unrelated)) == read_golden()[case.id]["cards"]


def test_an_unreadable_egfr_names_the_nsaid_check_and_what_could_not_be_read(knowledge_base):
    case = next(case for case in CASES if case.id == "sign-naproxen-low-egfr")
    records = [{**record, "valueQuantity": {"value": "24"}} for record in case.records]
    cards = cards_for(knowledge_base, Case(case.id, case.hook, case.about, case.person, records, case.orders))
    by_summary = {card["summary"]: card for card in cards}
    avoid = by_summary["NSAID safety (avoid) check incomplete"]
    assert avoid["indicator"] == "critical" and avoid["source"]["topic"]["code"] == "nsaid-caution"
    assert "Observation (Estimated glomerular filtration rate) could not be read" in avoid["detail"]
    assert by_summary["NSAID safety (use with care) check incomplete"]["indicator"] == "warning"


def test_an_unreadable_report_makes_the_report_based_checks_say_so(knowledge_base):
    case = next(case for case in CASES if case.id == "pv-aml")
    report = {"resourceType": "DiagnosticReport", "status": "final", "code": {"text": "Chest X-ray"}, "conclusion": 5}
    cards = cards_for(knowledge_base, Case(case.id, case.hook, case.about, case.person, [*case.records, report],
                                           case.orders, case.unselected, case.tags))
    summaries = {card["summary"] for card in cards}
    assert "Bone infection check incomplete" in summaries  # the report might have said "osteomyelitis"
    assert {c["source"]["topic"]["code"] for c in cards if "incomplete" not in c["summary"]} == {"bme-cancer"}
