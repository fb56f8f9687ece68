"""Unusual but valid FHIR in the record must not break a card.

A Library variable that fails is left undefined by the engine and every card
that uses it loses its text or disappears, with only a log line to show for
it. So each odd record below is added to charts that normally get a card, and
the card must still come, whole, with no expression error logged.
"""

from __future__ import annotations

import importlib
import logging

import pytest

from cds_content.demo import (
    Case,
    condition,
    days_ago,
    icd,
    loinc,
)
from plugin.demo.codes import EGFR, mri

from .golden import cards_for, read_golden
from .patients import CASES

ODD_RECORDS = {
    "condition-without-code": {"resourceType": "Condition"},
    "condition-text-only": {"resourceType": "Condition", "code": {"text": "sore knee"}},
    "onset-period": {**condition(icd("M25.561")), "onsetPeriod": {"start": days_ago(20)}},
    "onset-age": {**condition(icd("M25.562")), "onsetAge": {"value": 60, "unit": "a"}},
    "onset-string": {**condition(icd("E78.5")), "onsetString": "for years"},
    "egfr-period": {"resourceType": "Observation", "status": "final", "code": EGFR,
                    "effectivePeriod": {"start": days_ago(3)}, "valueQuantity": {"value": 20}},
    "egfr-string-value": {"resourceType": "Observation", "status": "final", "code": EGFR,
                          "effectiveDateTime": f"{days_ago(2)}T10:00:00+02:00", "valueString": "<15"},
    "egfr-undated": {"resourceType": "Observation", "status": "final", "code": EGFR, "valueQuantity": {"value": 22}},
    "lab-period": {"resourceType": "Observation", "status": "final", "code": loinc("4537-7", "ESR"),
                   "effectivePeriod": {"start": days_ago(3)}},
    "medication-reference": {"resourceType": "MedicationRequest", "status": "active", "intent": "order",
                             "medicationReference": {"reference": "Medication/m1"}},
    "medication-text-only": {"resourceType": "MedicationStatement", "status": "active",
                             "medicationCodeableConcept": {"text": "warfarin"}},
    "report-text-code-only": {"resourceType": "DiagnosticReport", "status": "final", "code": {"text": "MRI"}},
    "report-period": {**{k: v for k, v in mri("ankle", "No bone marrow edema.").items() if k != "effectiveDateTime"},
                      "effectivePeriod": {"start": days_ago(5)}},
}
ODD_ORDERS = (
    {"resourceType": "MedicationRequest", "status": "draft", "intent": "order", "medicationReference": {"reference": "Medication/m2"}},
    {"resourceType": "ServiceRequest", "status": "draft", "intent": "order", "code": {"text": "knee imaging"}},
)


@pytest.mark.parametrize("record", [*ODD_RECORDS.values(), *ODD_ORDERS], ids=[*ODD_RECORDS, "draft-medication-reference", "draft-text-code"])
def test_odd_records_are_valid_r4(record):
    kind = record["resourceType"]
    model = getattr(importlib.import_module(f"fhir.resources.R4B.{kind.lower()}"), kind)
    model.model_validate({**record, "subject": {"reference": "Patient/p1"}})


BASE_CASES = ["pv-oa-knee-snomed", "pv-bmes-man-42", "pv-pain-negative-xray", "os-xray-knee-cpt", "sign-ibuprofen-warfarin"]
CASE_BY_ID = {case.id: case for case in CASES}


@pytest.mark.parametrize("odd", sorted(ODD_RECORDS))
@pytest.mark.parametrize("base", BASE_CASES)
def test_odd_record_keeps_the_card_whole(base, odd, knowledge_base, caplog):
    case = CASE_BY_ID[base]
    with_odd = Case(case.id, case.hook, case.about, case.person, [*case.records, ODD_RECORDS[odd]], [*case.orders, *ODD_ORDERS],
                    case.unselected, case.tags)
    with caplog.at_level(logging.ERROR, logger="fhir_content"):
        cards = cards_for(knowledge_base, with_odd)
    assert [r.getMessage() for r in caplog.records] == []
    assert [card["source"]["topic"]["code"] for card in cards] == [c["topic"] for c in read_golden()[base]["cards"]]
    assert all("**Why this card:**" in card["detail"] for card in cards)
