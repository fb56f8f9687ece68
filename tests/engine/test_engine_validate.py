"""``validate``: deliberately broken artifacts are reported with their file and JSON path."""

from __future__ import annotations

import json
import shutil

import pytest

from fhir_content.systems import ICD10CM, LOINC
from engine_builders import (
    BASE,
    EXT,
    action,
    activity,
    concepts,
    library,
    plan,
    suggestion,
    value_set,
    write_content,
)
from fhir_content import ContentLoadError, KnowledgeBase
from fhir_content.validate import check, validate_path

from conftest import TEST_CONTENT


def problems_of(tmp_path, *resources) -> list[str]:
    return [str(p) for p in validate_path(write_content(tmp_path / "content", *resources))]


def test_bundled_test_content_is_clean():
    report = check(TEST_CONTENT)
    assert report.problems == []
    assert report.counts == {"ActivityDefinition": 3, "Library": 1, "PlanDefinition": 2, "ValueSet": 3}


def test_problem_str_names_file_path_and_message(tmp_path):
    broken = plan("plan", action(priority="asap"))
    assert problems_of(tmp_path, broken) == [
        "PlanDefinition-plan.json: $.action[0].priority: must be one of routine, urgent, stat (card indicator)"
    ]


def test_invalid_json_and_foreign_resource_types(tmp_path):
    directory = tmp_path / "content"
    directory.mkdir()
    (directory / "broken.json").write_text('{"resourceType": "ValueSet",')
    (directory / "patient.json").write_text(json.dumps({"resourceType": "Patient", "id": "p"}))
    (directory / "notes.txt").write_text("not content")
    problems = [str(p) for p in validate_path(directory)]
    assert problems[0].startswith("broken.json: $: invalid JSON")
    assert problems[1] == "patient.json: $.resourceType: must be one of PlanDefinition, ActivityDefinition, ValueSet, Library"
    assert len(problems) == 2


def test_r4_model_errors_carry_the_json_path(tmp_path):
    broken = plan("plan", action(title=5, prefixx="typo"))
    problems = problems_of(tmp_path, broken)
    assert "PlanDefinition-plan.json: $.action[0].title: not valid FHIR R4: Input should be a valid string" in problems
    assert "PlanDefinition-plan.json: $.action[0].prefixx: not valid FHIR R4: Extra inputs are not permitted" in problems


def test_required_metadata(tmp_path):
    vs = value_set("vs", concepts(LOINC, "2571-8"))
    del vs["version"]
    assert problems_of(tmp_path, vs) == [
        "ValueSet-vs.json: $.version: required (every artifact has id, url, version and status)"
    ]


def test_unresolved_canonical_references(tmp_path):
    problems = problems_of(
        tmp_path,
        value_set("vs", concepts(LOINC, "2571-8"), {"valueSet": [f"{BASE}/ValueSet/missing"]}),
        plan("plan", action(action=[suggestion("missing-activity")]), library=[f"{BASE}/Library/missing"]),
    )
    assert f"ValueSet-vs.json: $.compose.include[1].valueSet[0]: unresolved value set {BASE}/ValueSet/missing" in problems
    assert f"PlanDefinition-plan.json: $.library[0]: unresolved Library {BASE}/Library/missing" in problems
    assert (
        "PlanDefinition-plan.json: $.action[0].action[0].definitionCanonical: must name an ActivityDefinition "
        f"(got {BASE}/ActivityDefinition/missing-activity)"
    ) in problems


def test_versioned_reference_to_a_missing_version(tmp_path):
    problems = problems_of(tmp_path, activity("a"), plan("plan", action(action=[{"title": "x", "definitionCanonical": f"{BASE}/ActivityDefinition/a|9.9.9"}])))
    assert problems == [
        f"PlanDefinition-plan.json: $.action[0].action[0].definitionCanonical: must name an ActivityDefinition (got {BASE}/ActivityDefinition/a|9.9.9)"
    ]


def test_icd10cm_codes_anywhere_must_exist(tmp_path):
    bad_topic = action(code=[{"coding": [{"system": ICD10CM, "code": "M1799", "display": "No such code"}]}])
    problems = problems_of(tmp_path, plan("plan", bad_topic))
    assert problems == ["PlanDefinition-plan.json: $.action[0].code[0].coding[0].code: M1799 is not an ICD-10-CM code"]


def test_card_mapping_needs(tmp_path):
    long_title = "x" * 140
    actions = [
        action(long_title),
        action(selectionBehavior="all"),
        action(code=[{"coding": [{"system": "http://example.org/t", "code": "t"}]}]),
        action(documentation=[{"type": "documentation", "display": "Link only", "url": "handouts/x"}]),
        action(extension=[{"url": EXT + "override-reason", "valueCoding": {"system": "http://example.org/r", "code": "r"}}]),
        action(trigger=[{"type": "data-changed"}]),
    ]
    problems = problems_of(tmp_path, plan("plan", *actions))
    assert problems == [
        "PlanDefinition-plan.json: $.action[5].trigger[0]: needs type named-event and the hook name as name",
        "PlanDefinition-plan.json: $.action[0].title: 140 characters; a card summary must be under 140",
        "PlanDefinition-plan.json: $.action[1].selectionBehavior: must be one of any, at-most-one",
        "PlanDefinition-plan.json: $.action[2].code[0].coding[0]: needs system, code and display (card source.topic)",
        "PlanDefinition-plan.json: $.action[3].documentation: needs a citation with display (card source label)",
        "PlanDefinition-plan.json: $.action[4].extension[0].valueCoding: an override reason needs system, code and display",
    ]


def test_all_actions_of_a_plan_share_one_hook(tmp_path):
    problems = problems_of(tmp_path, plan("plan", action(hook="patient-view"), action(hook="order-sign")))
    assert problems == [
        "PlanDefinition-plan.json: $.action: all top-level actions must share one hook, found order-sign, patient-view"
    ]


def test_suggestion_needs(tmp_path):
    untitled = suggestion("a", type={"coding": [{"code": "fire-event"}]}, action=[{"title": "deeper"}])
    del untitled["title"]
    problems = problems_of(tmp_path, activity("a"), plan("plan", action(action=[untitled])))
    assert problems == [
        "PlanDefinition-plan.json: $.action[0].action[0].title: required: it is the suggestion label",
        "PlanDefinition-plan.json: $.action[0].action[0].type: must be one of create, update, remove",
        "PlanDefinition-plan.json: $.action[0].action[0].action: suggestions cannot nest further actions",
    ]


def test_activity_needs_a_supported_kind_and_code(tmp_path):
    no_code = activity("no-code")
    del no_code["code"]
    problems = problems_of(tmp_path, activity("diet", "NutritionOrder"), no_code, activity("med", "MedicationRequest"))
    assert problems == [
        "ActivityDefinition-diet.json: $.kind: kind must be one of ServiceRequest, Task, MedicationRequest, CommunicationRequest",
        "ActivityDefinition-med.json: $.productCodeableConcept: required for kind MedicationRequest",
        "ActivityDefinition-no-code.json: $.code: required for kind ServiceRequest",
    ]


def test_library_variable_names(tmp_path):
    problems = problems_of(tmp_path, library("lib", patient="true"), library("empty"))
    assert problems == [
        "Library-empty.json: $.extension: no http://hl7.org/fhir/StructureDefinition/variable extensions: the Library defines nothing",
        "Library-lib.json: $.extension[0].valueExpression.name: %patient is defined by the engine; choose another name",
    ]


def test_data_requirements_need_loaded_value_sets(tmp_path):
    broken = action(input=[{"type": "Condition", "codeFilter": [{"path": "code", "valueSet": f"{BASE}/ValueSet/missing"}]}, {"type": "Conditon"}])
    problems = problems_of(tmp_path, plan("plan", broken))
    assert problems == [
        f"PlanDefinition-plan.json: $.action[0].input[0].codeFilter[0].valueSet: needs a loaded value set (got {BASE}/ValueSet/missing)",
        "PlanDefinition-plan.json: $.action[0].input[1].type: 'Conditon' is not a FHIR resource type",
    ]


def test_duplicate_ids_and_canonicals(tmp_path):
    first = value_set("vs", concepts(LOINC, "2571-8"))
    same_canonical = {**value_set("vs2", concepts(LOINC, "2571-8")), "url": first["url"]}
    problems = problems_of(tmp_path, first, same_canonical)
    assert problems == [f"ValueSet-vs2.json: $.url: duplicate canonical {first['url']}|1.0.0 (also in ValueSet-vs.json)"]


def test_load_refuses_content_with_problems(tmp_path):
    directory = write_content(tmp_path / "content", plan("plan", action(priority="asap")))
    with pytest.raises(ContentLoadError) as info:
        KnowledgeBase.load(directory)
    assert [p.path for p in info.value.problems] == ["$.action[0].priority"]
    assert "PlanDefinition-plan.json: $.action[0].priority" in str(info.value)


def test_source_that_is_not_a_directory(tmp_path):
    assert [p.message for p in validate_path(tmp_path / "missing")] == ["content source is not a directory"]


def test_one_broken_file_in_good_content_is_found(tmp_path):
    directory = tmp_path / "content"
    shutil.copytree(TEST_CONTENT, directory)
    lib = json.loads((directory / "library-lipids.json").read_text())
    lib["extension"][1]["valueExpression"]["expression"] = "resourcesIn('Observation', 'http://example.org/engine-test/ValueSet/lipid-pannel')"
    (directory / "library-lipids.json").write_text(json.dumps(lib))
    assert [str(p) for p in validate_path(directory)] == [
        "library-lipids.json: $.extension[1].valueExpression.expression: resourcesIn(): unresolved value set "
        "http://example.org/engine-test/ValueSet/lipid-pannel"
    ]
