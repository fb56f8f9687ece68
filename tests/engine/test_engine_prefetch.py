"""Prefetch templates generated from the plan's DataRequirements (what the EHR is asked to send)."""

from __future__ import annotations

from fhir_content.systems import ICD10CM, LOINC, SNOMED
from engine_builders import action, activity, concepts, plan, suggestion, value_set, vs_url
from fhir_content.prefetch import prefetch_key

PATIENT = "{{context.patientId}}"


def requirement(type_: str, *value_sets: str) -> dict:
    result: dict = {"type": type_}
    if value_sets:
        result["codeFilter"] = [{"path": "code", "valueSet": vs_url(v)} for v in value_sets]
    return result


def templates(load, *inputs, extra=()):
    kb = load(
        value_set("hl", concepts(SNOMED, "55822004"), concepts(ICD10CM, "E78.5")),
        value_set("tg", concepts(LOINC, "2571-8")),
        value_set("oa", {"system": ICD10CM, "filter": [{"property": "concept", "op": "is-a", "value": "M15-M19"}]}),
        *extra,
        plan("plan", action(input=list(inputs))),
    )
    [service] = kb.plans()
    return service.prefetch


def test_patient_and_coded_queries(load):
    result = templates(load, requirement("Patient"), requirement("Condition", "hl"), requirement("Observation", "tg"))
    assert result == {
        "conditions": f"Condition?patient={PATIENT}&code=http://hl7.org/fhir/sid/icd-10-cm|E78.5,http://snomed.info/sct|55822004",
        "observations": f"Observation?patient={PATIENT}&code=http://loinc.org|2571-8",
        "patient": f"Patient/{PATIENT}",
    }
    assert list(result) == sorted(result)


def test_more_than_40_codes_asks_for_everything_of_the_type(load):
    assert templates(load, requirement("Condition", "oa")) == {"conditions": f"Condition?patient={PATIENT}"}


def test_requirements_of_one_type_merge(load):
    merged = templates(load, requirement("Condition", "hl"), requirement("Condition", "tg"))
    assert merged == {
        "conditions": f"Condition?patient={PATIENT}&code=http://hl7.org/fhir/sid/icd-10-cm|E78.5,http://loinc.org|2571-8,http://snomed.info/sct|55822004"
    }
    assert templates(load, requirement("Condition", "hl"), requirement("Condition")) == {"conditions": f"Condition?patient={PATIENT}"}
    assert templates(load, requirement("Condition"), requirement("Condition", "hl")) == {"conditions": f"Condition?patient={PATIENT}"}


def test_medication_requests_are_active_only(load):
    assert templates(load, requirement("MedicationRequest")) == {
        "medicationRequests": f"MedicationRequest?patient={PATIENT}&status=active"
    }


def test_nested_action_inputs_count(load):
    kb = load(
        activity("a"),
        plan("plan", action(input=[requirement("Patient")], action=[suggestion("a", input=[requirement("DiagnosticReport")])])),
    )
    assert kb.plans()[0].prefetch == {
        "diagnosticReports": f"DiagnosticReport?patient={PATIENT}",
        "patient": f"Patient/{PATIENT}",
    }


def test_prefetch_keys_are_lower_camel_plurals():
    assert [prefetch_key(t) for t in ("Condition", "DiagnosticReport", "ImagingStudy", "AllergyIntolerance", "Immunization")] == [
        "conditions",
        "diagnosticReports",
        "imagingStudies",
        "allergyIntolerances",
        "immunizations",
    ]


def test_types_whose_code_search_parameter_differs(load):
    vaccines = value_set("flu", concepts("http://hl7.org/fhir/sid/cvx", "141"))
    result = templates(load, requirement("Immunization", "flu"), requirement("ImagingStudy", "tg"), extra=[vaccines])
    assert result == {
        "imagingStudies": f"ImagingStudy?patient={PATIENT}",
        "immunizations": f"Immunization?patient={PATIENT}&vaccine-code=http://hl7.org/fhir/sid/cvx|141",
    }


def test_service_plan_describes_the_service(lipid_kb):
    by_id = {p.id: p for p in lipid_kb.plans()}
    view = by_id["lipid-patient-view"]
    assert (view.hook, view.title) == ("patient-view", "Lipid monitoring reminders (engine test content)")
    assert view.usage.startswith("Call on patient-view")
    assert sorted(view.prefetch) == ["conditions", "observations", "patient"]
    assert by_id["lipid-order-select"].usage is None
