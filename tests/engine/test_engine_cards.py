"""The card mapping of docs/content-authoring.md, one test per row (RequestGroup action -> CDS Hooks card)."""

from __future__ import annotations

import uuid

import pytest

from fhir_content.systems import SNOMED
from engine_builders import EXT, TOPIC_SYSTEM, action, activity, condition, dynamic, patient, plan, searchset, suggestion

BASE_URL = "https://cds.example.org"


def cards_of(kb, prefetch=None, language="en", context=None):
    return kb.evaluate(
        "plan", context=context or {"patientId": "p1"}, prefetch=prefetch or {}, base_url=BASE_URL, language=language
    )


def only_card(kb, **kwargs):
    [card] = cards_of(kb, **kwargs)
    return card


def reason(code: str, display: str) -> dict:
    return {"url": EXT + "override-reason", "valueCoding": {"system": "http://example.org/reasons", "code": code, "display": display}}


def remove_type() -> dict:
    return {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/action-type", "code": "remove"}]}


def assert_no_empty_values(value, where="card"):
    """CDS Hooks: no null, "", [] or {} anywhere."""
    assert value not in (None, "", [], {}), f"empty value at {where}"
    if isinstance(value, dict):
        for key, item in value.items():
            assert_no_empty_values(item, f"{where}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            assert_no_empty_values(item, f"{where}[{i}]")


def test_each_applicable_top_level_action_is_one_card_with_a_fresh_uuid(load):
    kb = load(plan("plan", action("First"), action("Skipped", condition="false"), action("Second")))
    first, second = cards_of(kb), cards_of(kb)
    assert [c["summary"] for c in first] == ["First", "Second"]
    uuids = {c["uuid"] for c in first + second}
    assert len(uuids) == 4
    assert all(uuid.UUID(u).version == 4 for u in uuids)


def test_description_becomes_detail_with_placeholders_joined(load):
    kb = load(plan("plan", action(description="Conditions: {{ resources('Condition').code.text }}. Count {{ resources('Condition').count() }}.")))
    prefetch = {"c": searchset(condition("c1", SNOMED, "1", text="Osteoporosis"), condition("c2", SNOMED, "2", text="Gout"))}
    assert only_card(kb, prefetch=prefetch)["detail"] == "Conditions: Osteoporosis, Gout. Count 2."


def test_card_evidence_is_appended_as_the_last_line(load):
    evidence = {"url": EXT + "card-evidence", "valueExpression": {"language": "text/fhirpath", "expression": "resources('Condition').code.text"}}
    kb = load(plan("plan", action("With detail", description="Detail.", extension=[evidence]), action("Evidence only", extension=[evidence])))
    prefetch = {"c": searchset(condition("c1", SNOMED, "1", text="Osteoporosis"), condition("c2", SNOMED, "2", text="Gout"))}
    with_detail, evidence_only = cards_of(kb, prefetch=prefetch)
    assert with_detail["detail"] == "Detail.\n\n**Why this card:** Osteoporosis; Gout"
    assert evidence_only["detail"] == "**Why this card:** Osteoporosis; Gout"
    assert "detail" not in only_card(load(plan("plan", action(extension=[evidence]))))


@pytest.mark.parametrize(("priority", "indicator"), [("routine", "info"), ("urgent", "warning"), ("stat", "critical")])
def test_priority_becomes_indicator(load, priority, indicator):
    assert only_card(load(plan("plan", action(priority=priority))))["indicator"] == indicator


def test_first_citation_is_the_source_and_code_is_the_topic(load):
    documentation = [
        {"type": "citation", "display": "Guideline A", "url": "https://example.org/a"},
        {"type": "citation", "display": "Guideline B", "url": "https://example.org/b"},
    ]
    card = only_card(load(plan("plan", action(documentation=documentation))))
    assert card["source"] == {
        "label": "Guideline A",
        "url": "https://example.org/a",
        "topic": {"system": TOPIC_SYSTEM, "code": "topic-a", "display": "Topic A"},
    }


def test_documentation_links_are_absolute_and_carry_the_language(load):
    documentation = [
        {"type": "citation", "display": "Source"},
        {"type": "documentation", "display": "Handout", "url": "handouts/bme-basics"},
        {"type": "documentation", "display": "With query", "url": "/handouts/x?print=1"},
        {"type": "documentation", "display": "Elsewhere", "url": "https://example.org/page"},
    ]
    card = only_card(load(plan("plan", action(documentation=documentation))), language="es")
    assert card["links"] == [
        {"label": "Handout", "url": "https://cds.example.org/handouts/bme-basics?lang=es", "type": "absolute"},
        {"label": "With query", "url": "https://cds.example.org/handouts/x?print=1&lang=es", "type": "absolute"},
        {"label": "Elsewhere", "url": "https://example.org/page", "type": "absolute"},
    ]
    assert "url" not in card["source"]


def test_nested_actions_become_suggestions_with_applied_resources(load):
    kb = load(
        activity("order"),
        plan("plan", action(action=[suggestion("order", "Order a lipid panel", description="Adds the order"), suggestion("order", "No description")])),
    )
    card = only_card(kb)
    first, second = card["suggestions"]
    assert first["label"] == "Order a lipid panel"
    uuid.UUID(first["uuid"])
    assert first["uuid"] != second["uuid"]
    [first_action] = first["actions"]
    assert first_action["type"] == "create"
    assert first_action["description"] == "Adds the order"
    assert first_action["resource"]["resourceType"] == "ServiceRequest"
    assert first_action["resource"]["subject"] == {"reference": "Patient/p1"}
    assert "id" not in first_action["resource"]  # the EHR assigns ids to created resources
    assert second["actions"][0]["description"] == "No description"


def test_nested_action_types_map_to_create_update_delete(load):
    kb = load(
        activity("order"),
        activity("existing", dynamicValue=[dynamic("id", "%selections.first().id")]),
        plan(
            "plan",
            action(
                hook="order-select",
                action=[
                    suggestion("order", "Create"),
                    suggestion("existing", "Update", type={"coding": [{"code": "update"}]}),
                    suggestion("existing", "Remove", type=remove_type()),
                ],
            ),
        ),
    )
    context = {
        "patientId": "p1",
        "selections": ["ServiceRequest/sr-9"],
        "draftOrders": searchset({"resourceType": "ServiceRequest", "id": "sr-9", "status": "draft", "intent": "order"}),
    }
    create, update, delete = (s["actions"][0] for s in only_card(kb, context=context)["suggestions"])
    assert create["type"] == "create"
    assert (update["type"], update["resource"]["id"]) == ("update", "sr-9")
    assert delete == {"type": "delete", "description": "Remove", "resourceId": "ServiceRequest/sr-9"}


def test_is_recommended_from_extension_else_from_priority(load):
    def recommended(value: bool) -> list:
        return [{"url": EXT + "is-recommended", "valueBoolean": value}]

    kb = load(
        activity("order"),
        plan(
            "plan",
            action(
                action=[
                    suggestion("order", "ext true", extension=recommended(True)),
                    suggestion("order", "ext false wins over stat", priority="stat", extension=recommended(False)),
                    suggestion("order", "urgent", priority="urgent"),
                    suggestion("order", "routine", priority="routine"),
                    suggestion("order", "nothing"),
                ]
            ),
        ),
    )
    values = {s["label"]: s.get("isRecommended") for s in only_card(kb)["suggestions"]}
    assert values == {"ext true": True, "ext false wins over stat": False, "urgent": True, "routine": None, "nothing": None}


def test_suggestion_conditions_filter_suggestions_but_keep_the_card(load):
    kb = load(
        activity("order"),
        plan(
            "plan",
            action(
                action=[
                    suggestion("order", "Only for women", condition=[{"kind": "applicability", "expression": {"language": "text/fhirpath", "expression": "%patient.gender = 'female'"}}]),
                    suggestion("order", "Always"),
                ]
            ),
            action(
                "All suggestions fail",
                action=[suggestion("order", "Never", condition=[{"kind": "applicability", "expression": {"language": "text/fhirpath", "expression": "false"}}])],
            ),
        ),
    )
    female = {**patient(), "gender": "female"}
    male = {**patient(), "gender": "male"}
    assert [s["label"] for s in cards_of(kb, {"p": female})[0]["suggestions"]] == ["Only for women", "Always"]
    first, no_suggestions = cards_of(kb, {"p": male})
    assert [s["label"] for s in first["suggestions"]] == ["Always"]
    assert "suggestions" not in no_suggestions and "selectionBehavior" not in no_suggestions


def test_selection_behavior_defaults_to_any_and_is_only_present_with_suggestions(load):
    kb = load(
        activity("order"),
        plan(
            "plan",
            action("default", action=[suggestion("order")]),
            action("at most one", selectionBehavior="at-most-one", action=[suggestion("order")]),
            action("no suggestions", selectionBehavior="at-most-one"),
        ),
    )
    default, at_most_one, none = cards_of(kb)
    assert default["selectionBehavior"] == "any"
    assert at_most_one["selectionBehavior"] == "at-most-one"
    assert "selectionBehavior" not in none


def test_override_reasons_from_action_and_plan_without_duplicates(load):
    kb = load(
        plan(
            "plan",
            action("Card", extension=[reason("declined", "Patient declined"), reason("done", "Already done")]),
            action("Plan reasons only"),
            extension=[reason("declined", "Patient declined"), reason("na", "Not applicable")],
        )
    )
    card, plan_only = cards_of(kb)
    assert [r["code"] for r in card["overrideReasons"]] == ["declined", "done", "na"]
    assert all(r["display"] for r in card["overrideReasons"])
    assert [r["code"] for r in plan_only["overrideReasons"]] == ["declined", "na"]


def test_cards_never_hold_empty_values(lipid_kb):
    prefetch = {
        "patient": patient(birth_date=None),
        "conditions": searchset(condition("c1", SNOMED, "55822004")),
        "observations": None,
    }
    cards = lipid_kb.evaluate("lipid-patient-view", context={"patientId": "p1"}, prefetch=prefetch, base_url=BASE_URL)
    assert cards
    for card in cards:
        assert_no_empty_values(card)
        assert len(card["summary"]) < 140
