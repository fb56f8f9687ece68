"""FHIRPath in content: what an author gets told at load, and what a request sees at run time."""

from __future__ import annotations

import logging
from datetime import date

import pytest

from fhir_content.systems import ICD10CM, LOINC, SNOMED
from engine_builders import (
    action,
    activity,
    concepts,
    condition,
    dynamic,
    library,
    observation,
    patient,
    plan,
    searchset,
    suggestion,
    value_set,
    vs_url,
)
from fhir_content import ContentLoadError
from fhir_content.environment import age_in_years

HL = vs_url("hl")
HL_VS = value_set("hl", concepts(SNOMED, "55822004"), concepts(ICD10CM, "E78.5"))


def summaries(kb, prefetch, context=None, **kwargs):
    cards = kb.evaluate(
        "plan", context=context or {"patientId": "p1"}, prefetch=prefetch, base_url="https://cds.example.org", **kwargs
    )
    return [c["summary"] for c in cards]


def load_problems(load, *resources):
    with pytest.raises(ContentLoadError) as info:
        load(*resources)
    return [str(p) for p in info.value.problems]


# --- compile-time checks ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("resources(", "FHIRPath syntax error"),
        ("true false", "unexpected text at column 6"),
        ("resoucesIn('Condition', 'x').exists()", "unknown FHIRPath function resoucesIn()"),
        ("resourcesIn('Condition', 'http://example.org/nope').exists()", "resourcesIn(): unresolved value set http://example.org/nope"),
        ("%patient.maritalStatus.inValueSet('http://example.org/nope')", "inValueSet(): unresolved value set"),
        ("resourcesIn('Encounter', '" + HL + "').exists()", "resourcesIn(): Encounter has no coded element"),
        ("resources('Conditon').exists()", "resources(): 'Conditon' is not a FHIR resource type"),
        ("resourcesIn('Condition').exists()", "resourcesIn() takes 2 argument(s)"),
    ],
)
def test_broken_condition_is_reported_with_file_and_path(load, expression, message):
    problems = load_problems(load, HL_VS, plan("plan", action(condition=expression)))
    assert len(problems) == 1
    assert problems[0].startswith("PlanDefinition-plan.json: $.action[0].condition[0].expression.expression: ")
    assert message in problems[0]


def test_broken_library_variable_and_dynamic_value_and_placeholder_are_reported(load):
    problems = load_problems(
        load,
        library("lib", good="true", bad="exists("),
        activity("a", dynamicValue=[dynamic("note[0].text", "'x' +")]),
        plan("plan", action(description="Count: {{ %good.count( }}", action=[suggestion("a")]), library=[f"{library('lib')['url']}"]),
    )
    assert any(p.startswith("Library-lib.json: $.extension[1].valueExpression.expression: FHIRPath") for p in problems)
    assert any(p.startswith("ActivityDefinition-a.json: $.dynamicValue[0].expression.expression: FHIRPath") for p in problems)
    assert any(p.startswith("PlanDefinition-plan.json: $.action[0].description: FHIRPath") for p in problems)


def test_expression_language_must_be_fhirpath(load):
    cql = plan("plan", action(condition=None))
    cql["action"][0]["condition"] = [{"kind": "applicability", "expression": {"language": "text/cql", "expression": "true"}}]
    problems = load_problems(load, cql)
    assert problems == ["PlanDefinition-plan.json: $.action[0].condition[0].expression.language: must be text/fhirpath"]


# --- run time: the functions and the data index ---------------------------------------------


def test_resources_in_matches_either_coding_system(load):
    kb = load(HL_VS, plan("plan", action("Has hyperlipidemia", condition=f"resourcesIn('Condition', '{HL}').exists()")))
    assert summaries(kb, {"c": searchset(condition("c1", ICD10CM, "E785"))}) == ["Has hyperlipidemia"]
    assert summaries(kb, {"c": searchset(condition("c1", SNOMED, "55822004"))}) == ["Has hyperlipidemia"]
    assert summaries(kb, {"c": searchset(condition("c1", SNOMED, "64859006"))}) == []


def test_bundles_are_unpacked_deduplicated_and_operation_outcomes_skipped(load):
    kb = load(plan("plan", action("Two conditions", condition="resources('Condition').count() = 2")))
    c1, c2 = condition("c1", SNOMED, "1"), condition("c2", SNOMED, "2")
    outcome = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "exception"}]}
    prefetch = {"a": searchset(c1, c2), "b": searchset(c1, outcome), "c": outcome, "d": None}
    assert summaries(kb, prefetch) == ["Two conditions"]


def test_in_value_set_on_codings_concepts_and_lists(load):
    kb = load(
        HL_VS,
        plan(
            "plan",
            action("CodeableConcept", condition=f"resources('Condition').code.inValueSet('{HL}')"),
            action("Coding", condition=f"resources('Condition').code.coding.inValueSet('{HL}')"),
            action("Nothing matches", condition=f"resources('Observation').code.inValueSet('{HL}')"),
        ),
    )
    prefetch = {"c": searchset(condition("c1", SNOMED, "64859006"), condition("c2", ICD10CM, "e78.5"))}
    assert summaries(kb, prefetch) == ["CodeableConcept", "Coding"]


def test_where_code_in_filters_a_collection_like_where_in_value_set(load):
    lib = library(
        "lib",
        recorded="resources('Condition') | resources('Observation')",
        fast=f"%recorded.whereCodeIn('{HL}')",
        slow=f"%recorded.where(code.inValueSet('{HL}'))",
    )
    kb = load(
        HL_VS,
        lib,
        plan(
            "plan",
            action("Same result", condition="%fast.count() = 2 and %fast.select(id) = %slow.select(id)"),
            action("Typed navigation still works", condition="%fast.where(clinicalStatus.coding.code contains 'active').count() = 1"),
            library=[lib["url"]],
        ),
    )
    prefetch = {
        "c": searchset(
            condition("c1", ICD10CM, "E785"),
            condition("c2", SNOMED, "64859006"),
            condition("c3", SNOMED, "55822004", active=False),
        ),
        "o": searchset({**observation("o1", "2571-8"), "code": {"coding": [{"system": SNOMED, "code": "64859006"}]}}),
    }
    assert summaries(kb, prefetch) == ["Same result", "Typed navigation still works"]


def test_where_code_in_with_an_unknown_literal_value_set_is_a_load_problem(load):
    problems = load_problems(load, plan("plan", action(condition="resources('Condition').whereCodeIn('http://example.org/nope').exists()")))
    assert problems == [
        "PlanDefinition-plan.json: $.action[0].condition[0].expression.expression: whereCodeIn(): unresolved value set http://example.org/nope"
    ]


def test_environment_variables(load):
    kb = load(
        plan(
            "plan",
            action("patient", condition="%patient.id = 'p1' and %ageYears = 60"),
            action("context", condition="%context.userId = 'Practitioner/9'"),
            action("base url and language", condition="%baseUrl = 'https://cds.example.org' and %language = 'es'"),
            action("draft orders", condition="%draftOrders.count() = 2 and %selections.id = 'sr2'", hook="patient-view"),
        )
    )
    context = {
        "patientId": "p1",
        "userId": "Practitioner/9",
        "selections": ["ServiceRequest/sr2"],
        "draftOrders": searchset(
            {"resourceType": "ServiceRequest", "id": "sr1", "status": "draft", "intent": "order", "subject": {"reference": "Patient/p1"}},
            {"resourceType": "ServiceRequest", "id": "sr2", "status": "draft", "intent": "order", "subject": {"reference": "Patient/p1"}},
        ),
    }
    birthday_passed = date.today().replace(year=date.today().year - 60, month=1, day=1).isoformat()
    result = summaries(kb, {"patient": patient(birth_date=birthday_passed)}, context=context, language="es")
    assert result == ["patient", "context", "base url and language", "draft orders"]


def test_draft_orders_are_not_part_of_the_record(load):
    kb = load(plan("plan", action("Has a service request", condition="resources('ServiceRequest').exists()")))
    context = {
        "patientId": "p1",
        "draftOrders": searchset({"resourceType": "ServiceRequest", "id": "sr1", "status": "draft", "intent": "order"}),
    }
    assert summaries(kb, {}, context=context) == []


@pytest.mark.parametrize(
    ("birth_date", "expected"),
    [("1960-04-02", 64), ("1960-12-31", 63), ("1960", 63), ("1960-03", 64), ("1960-05", 63), ("garbage", None), (None, None)],
)
def test_age_in_years_never_overstates_partial_dates(birth_date, expected):
    assert age_in_years(birth_date, date(2024, 4, 2)) == expected


def test_library_variables_run_in_order_and_later_ones_use_earlier_ones(load):
    lib = library(
        "lib",
        hyperlipidemia=f"resourcesIn('Condition', '{HL}')",
        active=" %hyperlipidemia.where(clinicalStatus.coding.code contains 'active')",
    )
    kb = load(HL_VS, lib, plan("plan", action("Active hyperlipidemia", condition="%active.exists()"), library=[lib["url"]]))
    assert summaries(kb, {"c": searchset(condition("c1", SNOMED, "55822004"))}) == ["Active hyperlipidemia"]
    assert summaries(kb, {"c": searchset(condition("c1", SNOMED, "55822004", active=False))}) == []


def test_derived_facts_become_variables_and_see_the_data_view(load):
    seen = {}

    def facts(view):
        seen["conditions"] = view.resources_in("Condition", HL)
        seen["in_value_set"] = view.in_value_set({"system": SNOMED, "code": "55822004"}, HL)
        seen["patient"] = view.patient
        return {"findings": [{"status": "present", "site": "knee"}]}

    kb = load(HL_VS, plan("plan", action("Knee finding", condition="%findings.where(site = 'knee').exists()")), derived_facts=[facts])
    prefetch = {"p": patient(), "c": searchset(condition("c1", SNOMED, "55822004"))}
    assert summaries(kb, prefetch) == ["Knee finding"]
    assert [c["id"] for c in seen["conditions"]] == ["c1"]
    assert seen["in_value_set"] is True
    assert seen["patient"]["id"] == "p1"


# --- run time: failures never fail the request, and logs carry no patient data -----------------


# Fails for a patient with two names, and fhirpathpy's message quotes both names.
LEAKY = "'A'.startsWith(%patient.name.text.select($this + ''))"


def two_names(patient_id: str = "p1") -> dict:
    """A patient whose name list makes single-value expressions fail (fhirpathpy quotes the values)."""
    resource = patient(patient_id)
    resource["name"] = [{"text": "Alice"}, {"text": "Alicia"}]
    return resource


def test_failing_condition_skips_only_its_card_and_logs_without_patient_data(load, caplog):
    kb = load(plan("plan", action("Broken", condition=LEAKY), action("Fine")))
    with caplog.at_level(logging.ERROR):
        result = summaries(kb, {"p": two_names("pat-7731")}, context={"patientId": "pat-7731"})
    assert result == ["Fine"]
    assert "card skipped" in caplog.text
    assert "PlanDefinition-plan.json $.action[0].condition[0].expression.expression" in caplog.text
    assert "Alice" not in caplog.text and "pat-7731" not in caplog.text


def test_unknown_value_set_at_run_time_skips_the_card(load, caplog):
    lib = library("lib", vs="'http://example.org/not-loaded'")
    kb = load(lib, plan("plan", action("Dynamic URL", condition="resourcesIn('Condition', %vs).exists()"), action("Fine"), library=[lib["url"]]))
    with caplog.at_level(logging.ERROR):
        assert summaries(kb, {}) == ["Fine"]
    assert "unknown value set http://example.org/not-loaded" in caplog.text


def test_failing_library_variable_is_left_undefined_so_dependent_cards_are_skipped(load, caplog):
    lib = library("lib", broken=LEAKY, fine="true")
    kb = load(
        lib,
        plan("plan", action("Depends on broken", condition="%broken"), action("Depends on fine", condition="%fine"), library=[lib["url"]]),
    )
    with caplog.at_level(logging.ERROR):
        assert summaries(kb, {"p": two_names()}) == ["Depends on fine"]
    assert "library variable %broken failed" in caplog.text
    assert "Alice" not in caplog.text


def test_failing_detail_keeps_the_card_without_detail(load):
    kb = load(plan("plan", action("Card", description="Starts with A: {{ " + LEAKY + " }}")))
    cards = kb.evaluate("plan", context={"patientId": "p1"}, prefetch={"p": two_names()}, base_url="https://x.org")
    assert [c["summary"] for c in cards] == ["Card"]
    assert "detail" not in cards[0]


def test_failing_dynamic_value_drops_only_that_suggestion(load, caplog):
    kb = load(
        activity("bad", dynamicValue=[dynamic("reasonCode[0].text", LEAKY)]),
        activity("good"),
        plan("plan", action(action=[suggestion("bad", "Bad"), suggestion("good", "Good")])),
    )
    with caplog.at_level(logging.ERROR):
        cards = kb.evaluate("plan", context={"patientId": "p1"}, prefetch={"p": two_names()}, base_url="https://x.org")
    assert [s["label"] for s in cards[0]["suggestions"]] == ["Good"]
    assert "suggestion dropped" in caplog.text and "Alice" not in caplog.text


def test_observation_values_compare_with_the_r4_model(load):
    tg = value_set("tg", concepts(LOINC, "2571-8"))
    kb = load(
        tg,
        plan(
            "plan",
            action(
                "Very high",
                condition=f"resourcesIn('Observation', '{vs_url('tg')}').value.ofType(Quantity).where(value >= 500).exists()",
            ),
        ),
    )
    assert summaries(kb, {"o": searchset(observation("o1", "2571-8", value=612))}) == ["Very high"]
    assert summaries(kb, {"o": searchset(observation("o1", "2571-8", value=150))}) == []
