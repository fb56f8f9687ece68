"""``$apply``: ActivityDefinition -> draft request, PlanDefinition -> RequestGroup, all valid FHIR R4."""

from __future__ import annotations

import pytest
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.requestgroup import RequestGroup

from fhir_content.systems import SNOMED
from engine_builders import BASE, RXNORM_CODE, action, activity, condition, dynamic, patient, plan, suggestion
from fhir_content import ContentLoadError, UnknownArtifact


def valid(resource: dict) -> dict:
    """Validate with the R4B model of the resource's type and return it."""
    get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    return resource


@pytest.mark.parametrize(
    ("kind", "subject_element", "code_element"),
    [
        ("ServiceRequest", "subject", "code"),
        ("Task", "for", "code"),
        ("CommunicationRequest", "subject", "category"),
        ("MedicationRequest", "subject", "medicationCodeableConcept"),
    ],
)
def test_activity_apply_gives_a_valid_draft_proposal_for_each_kind(load, kind, subject_element, code_element):
    extra = {"productCodeableConcept": RXNORM_CODE} if kind == "MedicationRequest" else {}
    kb = load(activity("a", kind, **extra))
    resource = valid(kb.apply_activity("a", subject="Patient/p1", data=[]))
    assert resource["resourceType"] == kind
    assert resource["status"] == "draft"
    assert resource.get("intent") == (None if kind == "CommunicationRequest" else "proposal")
    assert resource[subject_element] == {"reference": "Patient/p1"}
    expected_code = RXNORM_CODE if kind == "MedicationRequest" else activity("a")["code"]
    assert resource[code_element] == ([expected_code] if kind == "CommunicationRequest" else expected_code)


def test_dynamic_values_with_dotted_paths_and_indexes(load):
    kb = load(
        activity(
            "a",
            "CommunicationRequest",
            dynamicValue=[
                dynamic("payload[0].contentString", "'Hello ' + %patient.name.first().text"),
                dynamic("language", "%language"),
                dynamic("reasonCode", "resources('Condition').code"),
                dynamic("note[0].text", "'Age ' + %ageYears.toString()"),
            ],
        )
    )
    data = [patient(name="Alice Example", birth_date="1950-01-01"), condition("c1", SNOMED, "55822004")]
    resource = valid(kb.apply_activity("a", subject="p1", data=data, language="es"))
    assert resource["payload"] == [{"contentString": "Hello Alice Example"}]
    assert resource["language"] == "es"
    assert resource["reasonCode"] == [{"coding": [{"system": SNOMED, "code": "55822004"}]}]
    assert resource["note"][0]["text"].startswith("Age ")
    assert resource["subject"] == {"reference": "Patient/p1"}


def test_empty_dynamic_value_writes_nothing(load):
    kb = load(
        activity(
            "a",
            dynamicValue=[
                dynamic("reasonReference[0].reference", "resources('Condition').first().select('Condition/' + id)"),
                dynamic("patientInstruction", "''"),
            ],
        )
    )
    resource = valid(kb.apply_activity("a", subject="p1", data=[]))
    assert "reasonReference" not in resource and "patientInstruction" not in resource


def test_misspelled_dynamic_value_path_is_a_load_problem(load):
    with pytest.raises(ContentLoadError) as info:
        load(activity("a", "CommunicationRequest", dynamicValue=[dynamic("payload[0].contentStrng", "'x'")]))
    assert [str(p) for p in info.value.problems] == [
        "ActivityDefinition-a.json: $.dynamicValue[0].path: CommunicationRequest has no element "
        "'payload[0].contentStrng' (in CommunicationRequest)"
    ]


def test_unknown_activity_or_plan_is_unknown_artifact(load):
    kb = load(activity("a"), plan())
    with pytest.raises(UnknownArtifact):
        kb.apply_activity("nope", subject="p1", data=[])
    with pytest.raises(KeyError):
        kb.apply_plan("nope", subject="p1", data=[])


def test_plan_apply_gives_a_valid_request_group_with_contained_resources(load):
    kb = load(
        activity("order"),
        activity("educate", "CommunicationRequest", code="311401005"),
        plan(
            "plan",
            action(
                "Applies",
                description="Detail",
                selectionBehavior="at-most-one",
                action=[suggestion("order", "Order"), suggestion("educate", "Educate", description="Talk")],
            ),
            action("Does not apply", condition="false"),
        ),
    )
    group = valid(kb.apply_plan("plan", subject="Patient/p1", data=[patient()]))
    assert (group["status"], group["intent"], group["subject"]) == ("draft", "proposal", {"reference": "Patient/p1"})
    assert group["instantiatesCanonical"] == [f"{BASE}/PlanDefinition/plan|1.0.0"]
    [card_action] = group["action"]
    assert card_action["title"] == "Applies" and card_action["selectionBehavior"] == "at-most-one"
    contained = {f"#{r['id']}": r for r in group["contained"]}
    kinds = [contained[n["resource"]["reference"]]["resourceType"] for n in card_action["action"]]
    assert kinds == ["ServiceRequest", "CommunicationRequest"]
    RequestGroup.model_validate(group)


def test_remove_suggestion_references_the_existing_resource(load):
    kb = load(
        activity("cancel", dynamicValue=[dynamic("id", "%selections.first().id")]),
        plan(
            "plan",
            action(
                hook="order-select",
                action=[suggestion("cancel", "Remove", type={"coding": [{"code": "remove"}]})],
            ),
        ),
    )
    context = {
        "selections": ["ServiceRequest/draft-1"],
        "draftOrders": {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": {"resourceType": "ServiceRequest", "id": "draft-1", "status": "draft", "intent": "order"}}],
        },
    }
    group = valid(kb.apply_plan("plan", subject="p1", data=[], context=context))
    assert group["action"][0]["action"][0]["resource"] == {"reference": "ServiceRequest/draft-1"}
    assert "contained" not in group


def test_remove_without_an_id_drops_the_suggestion(load):
    kb = load(
        activity("cancel", dynamicValue=[dynamic("id", "%selections.first().id")]),
        plan("plan", action(action=[suggestion("cancel", "Remove", type={"coding": [{"code": "remove"}]})])),
    )
    group = valid(kb.apply_plan("plan", subject="p1", data=[]))
    assert "action" not in group["action"][0]
