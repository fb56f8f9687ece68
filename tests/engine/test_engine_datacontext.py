"""DataView: the read-only request data that FHIRPath functions and derived facts see."""

from __future__ import annotations

import pytest

from fhir_content.systems import ICD10CM, SNOMED
from engine_builders import concepts, condition, observation, patient, searchset, value_set, vs_url
from fhir_content import DataView


@pytest.fixture
def terminology(load):
    return load(value_set("hl", concepts(SNOMED, "55822004"), concepts(ICD10CM, "E78.5"))).terminology


def test_resources_by_type_unpacked_and_deduplicated(terminology):
    c1 = condition("c1", SNOMED, "55822004")
    view = DataView(terminology, {"patientId": "p1"}, {"a": searchset(c1, observation("o1", "2571-8")), "b": c1, "c": None})
    assert [r["id"] for r in view.resources("Condition")] == ["c1"]
    assert [r["id"] for r in view.resources("Observation")] == ["o1"]
    assert view.resources("Procedure") == []


def test_resources_in_and_in_value_set(terminology):
    view = DataView(
        terminology,
        {"patientId": "p1"},
        {"c": searchset(condition("c1", ICD10CM, "E785"), condition("c2", SNOMED, "64859006"))},
    )
    assert [r["id"] for r in view.resources_in("Condition", vs_url("hl"))] == ["c1"]
    assert view.resources_in("Observation", vs_url("hl")) == []
    assert view.in_value_set({"system": ICD10CM, "code": "e78.5"}, vs_url("hl"))
    assert view.in_value_set([{"coding": [{"system": SNOMED, "code": "1"}]}, {"coding": [{"system": SNOMED, "code": "55822004"}]}], vs_url("hl"))
    assert not view.in_value_set({"text": "hyperlipidemia"}, vs_url("hl"))
    assert not view.in_value_set(None, vs_url("hl"))


def test_unknown_value_set_is_a_key_error_at_run_time(terminology):
    view = DataView(terminology, {}, {})
    with pytest.raises(KeyError):
        view.resources_in("Condition", "http://example.org/nope")
    with pytest.raises(KeyError):
        view.in_value_set({"system": SNOMED, "code": "55822004"}, "http://example.org/nope")


def test_patient_is_the_one_named_by_the_context(terminology):
    view = DataView(terminology, {"patientId": "p2"}, {"a": patient("p1"), "b": patient("p2")})
    assert view.patient["id"] == "p2"
    assert DataView(terminology, {"patientId": "p3"}, {"a": patient("p1")}).patient["id"] == "p1"
    assert DataView(terminology, {"patientId": "p3"}, {}).patient is None


def test_draft_orders_and_selections(terminology):
    draft = {"resourceType": "ServiceRequest", "id": "d1", "status": "draft", "intent": "order"}
    other = {"resourceType": "MedicationRequest", "id": "d1", "status": "draft", "intent": "order"}
    context = {"patientId": "p1", "selections": ["ServiceRequest/d1"], "draftOrders": searchset(draft, other)}
    view = DataView(terminology, context, {})
    assert view.draft_orders == [draft, other]
    assert view.selections == [draft]
    assert view.resources("ServiceRequest") == []
