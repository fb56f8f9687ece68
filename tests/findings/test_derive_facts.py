"""derive_facts on whole FHIR resources: what the content's FHIRPath will see."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from fhir_content.systems import CPT, ICD10CM, LOINC, SNOMED
from findings.fake_view import VALUE_SETS, VS, FakeView
from plugin.findings import BME_FINDING_VALUE_SET, BODY_SITE_VALUE_SETS, IMAGING_VALUE_SETS, MAX_TEXT_CHARS, derive_facts

CONTENT = Path(__file__).resolve().parents[2] / "plugin" / "content"
RAD = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": "RAD"}]}


def report(rid: str, loinc: str | None = None, **fields: Any) -> dict[str, Any]:
    resource: dict[str, Any] = {"resourceType": "DiagnosticReport", "id": rid, "status": "final"}
    if loinc:
        resource["code"] = {"coding": [{"system": LOINC, "code": loinc}]}
    resource.update(fields)
    return resource


def text_form(text: str, content_type: str = "text/plain") -> dict[str, str]:
    return {"contentType": content_type, "data": base64.b64encode(text.encode()).decode()}


def facts(*resources: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    result = derive_facts(FakeView(resources))
    assert set(result) == {"bmeFindings", "imagingResults"}
    for entry in result["bmeFindings"] + result["imagingResults"]:
        assert all(value not in (None, "", [], {}) for value in entry.values()), entry
    return result


def test_mri_conclusion_gives_a_present_finding_and_an_abnormal_result():
    out = facts(report("mri1", "30691-0", effectiveDateTime="2024-03-05T10:00:00Z",
                       conclusion="Bone marrow edema in the medial femoral condyle."))
    assert out["bmeFindings"] == [{
        "status": "present", "site": "femoral-condyle", "joint": "knee", "term": "bone marrow edema",
        "source": "DiagnosticReport/mri1", "date": "2024-03-05",
    }]
    assert out["imagingResults"] == [
        {"modality": "mri", "joint": "knee", "result": "abnormal", "source": "DiagnosticReport/mri1", "date": "2024-03-05"},
    ]


def test_base64_text_report_is_read_and_other_attachment_types_are_not():
    body = "FINDINGS: Small effusion.\nIMPRESSION:\n1. Bone bruise of the lateral tibial plateau.\n2. ACL tear."
    out = facts(report("mri2", "24802-1", presentedForm=[
        text_form("Bone marrow edema in the talus.", "application/pdf"),
        text_form(body, "text/plain; charset=utf-8"),
    ]))
    assert [(f["status"], f["site"], f["term"]) for f in out["bmeFindings"]] == [("present", "tibia", "bone bruise")]
    assert out["imagingResults"][0]["result"] == "abnormal"


def test_oversized_attachment_is_cut_not_refused():
    filler = "Normal marrow signal. " * (MAX_TEXT_CHARS // 10)
    out = facts(report("mri3", "24802-1", presentedForm=[text_form("Bone marrow edema in the patella. " + filler)]))
    assert [f["status"] for f in out["bmeFindings"]] == ["present"]


def test_broken_base64_is_ignored():
    out = facts(report("mri4", "24802-1", presentedForm=[{"contentType": "text/plain", "data": "%%%not base64"}]))
    assert out["bmeFindings"] == []
    assert out["imagingResults"][0]["result"] == "unknown"


def test_coded_conclusion_gives_a_coded_finding():
    out = facts(report("mri5", "30687-8", issued="2024-01-02T08:00:00Z",
                       conclusionCode=[{"coding": [{"system": ICD10CM, "code": "M89.8X6", "display": "Other specified disorders of bone, lower leg"}]}]))
    assert out["bmeFindings"] == [{
        "status": "present", "joint": "hip", "term": "bone marrow edema", "source": "DiagnosticReport/mri5",
        "date": "2024-01-02", "coded": True,
    }]
    assert out["imagingResults"][0]["result"] == "abnormal"


def test_observation_value_string_and_note_are_read():
    observation = {
        "resourceType": "Observation", "id": "o1", "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "24538-1"}], "text": "MRI right ankle"},
        "effectiveDateTime": "2023-11-20",
        "valueString": "Marrow edema in the talar dome.",
        "note": [{"text": "Previously seen edema in the calcaneus has resolved."}],
    }
    out = facts(observation)
    assert out["bmeFindings"] == [
        {"status": "present", "site": "ankle", "joint": "ankle", "laterality": "right", "term": "bone marrow edema",
         "source": "Observation/o1", "date": "2023-11-20"},
        {"status": "negated", "site": "foot", "joint": "foot", "term": "bone marrow edema",
         "source": "Observation/o1", "date": "2023-11-20"},
    ]
    assert out["imagingResults"] == [{"modality": "mri", "joint": "ankle", "laterality": "right", "result": "abnormal",
                                      "source": "Observation/o1", "date": "2023-11-20"}]


def test_negative_knee_xray_is_a_negative_imaging_result():
    out = facts(report("xr1", "28565-0", effectiveDateTime="2024-02-01",
                       code={"coding": [{"system": LOINC, "code": "28565-0"}], "text": "XR knee left 3 views"},
                       conclusion="No fracture or dislocation. Joint spaces are preserved."))
    assert out["imagingResults"] == [{"modality": "xray", "joint": "knee", "laterality": "left", "result": "negative",
                                      "source": "DiagnosticReport/xr1", "date": "2024-02-01"}]
    assert out["bmeFindings"] == []


def test_snomed_normal_conclusion_code_is_negative():
    out = facts(report("xr2", "24762-7", conclusionCode=[{"coding": [{"system": SNOMED, "code": "17621005"}]}]))
    assert out["imagingResults"][0]["result"] == "negative"


def test_mri_without_bme_gives_a_negated_finding_only():
    out = facts(report("mri6", "30691-0", code={"coding": [{"system": LOINC, "code": "30691-0"}], "text": "MRI left knee"},
                       conclusion="No bone marrow edema. Intact menisci."))
    assert [f["status"] for f in out["bmeFindings"]] == ["negated"]
    assert out["bmeFindings"][0]["joint"] == "knee"
    assert out["bmeFindings"][0]["laterality"] == "left"
    assert out["imagingResults"][0]["result"] == "negative"


def test_report_laterality_does_not_spill_onto_another_joint():
    out = facts(report("mri7", "24867-4", code={"coding": [{"system": LOINC, "code": "24867-4"}], "text": "MRI pelvis right"},
                       conclusion="Bone marrow edema in the femoral head. Bone marrow edema in the sacrum."))
    places = {(f["joint"], f.get("laterality")) for f in out["bmeFindings"]}
    assert places == {("hip", None), ("sacroiliac", None)}


def test_repeated_impression_is_one_finding():
    text = "FINDINGS: Bone marrow edema in the talus.\nIMPRESSION: Bone marrow edema in the talus."
    out = facts(report("mri8", "24538-1", conclusion=text))
    assert len(out["bmeFindings"]) == 1


def test_lab_report_mentioning_edema_gives_nothing():
    lab = report("lab1", "58410-2", category=[{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": "LAB"}]}],
                 conclusion="Bone marrow edema cannot be assessed on a blood count; no edema.")
    assert facts(lab) == {"bmeFindings": [], "imagingResults": []}


def test_radiology_category_without_known_code_uses_the_text():
    out = facts(report("r1", category=[RAD], code={"text": "MR LEFT HIP WITHOUT CONTRAST"},
                       conclusion="Transient osteoporosis of the left hip."))
    assert out["imagingResults"] == [{"modality": "mri", "joint": "hip", "laterality": "left",
                                      "result": "abnormal", "source": "DiagnosticReport/r1"}]
    assert out["bmeFindings"][0]["term"] == "transient osteoporosis"


def test_radiology_category_without_any_modality_gives_a_finding_but_no_result():
    out = facts(report("r2", category=[RAD], conclusion="Bone marrow edema in the cuboid."))
    assert out["imagingResults"] == []
    assert [(f["status"], f["joint"]) for f in out["bmeFindings"]] == [("present", "foot")]


def test_lower_extremity_joint_mri_takes_the_joint_from_body_site_text():
    observation = {"resourceType": "Observation", "id": "o2", "status": "final",
                   "code": {"coding": [{"system": CPT, "code": "73721"}]},
                   "bodySite": {"text": "Right ankle"}, "valueString": "No bone bruise."}
    out = facts(observation)
    assert out["imagingResults"] == [{"modality": "mri", "joint": "ankle", "laterality": "right", "result": "negative",
                                      "source": "Observation/o2"}]
    assert out["bmeFindings"] == [{"status": "negated", "joint": "ankle", "laterality": "right",
                                   "term": "bone bruise", "source": "Observation/o2"}]


def test_body_site_value_set_decides_the_joint():
    value_sets = {**VALUE_SETS, f"{VS}body-site-hip": {(SNOMED, "24136001")}}
    observation = {"resourceType": "Observation", "id": "o3", "status": "final",
                   "code": {"coding": [{"system": CPT, "code": "73721"}]},
                   "bodySite": {"coding": [{"system": SNOMED, "code": "24136001"}]}, "valueString": "Normal."}
    out = derive_facts(FakeView([observation], value_sets))
    assert out["imagingResults"][0]["joint"] == "hip"


def test_coded_observation_with_body_site_and_a_false_value():
    present = {"resourceType": "Observation", "id": "c1", "status": "final",
               "code": {"coding": [{"system": LOINC, "code": "30691-0"}]},
               "valueCodeableConcept": {"coding": [{"system": ICD10CM, "code": "M89.8X6"}]},
               "bodySite": {"text": "Left medial femoral condyle"}, "effectiveDateTime": "2024-05-01"}
    absent = {"resourceType": "Observation", "id": "c2", "status": "final",
              "code": {"coding": [{"system": ICD10CM, "code": "M89.8X6"}]}, "valueBoolean": False}
    out = facts(present, absent)
    assert out["bmeFindings"] == [
        {"status": "present", "site": "femoral-condyle", "joint": "knee", "laterality": "left",
         "term": "bone marrow edema", "source": "Observation/c1", "date": "2024-05-01", "coded": True},
        {"status": "negated", "term": "bone marrow edema", "source": "Observation/c2", "coded": True},
    ]


def test_entered_in_error_reports_are_ignored():
    out = facts(report("bad", "30691-0", status="entered-in-error", conclusion="Bone marrow edema in the patella."))
    assert out == {"bmeFindings": [], "imagingResults": []}


def test_partial_dates_are_left_out_and_results_are_newest_first():
    out = facts(
        report("a", "28565-0", effectiveDateTime="2022-06-01", conclusion="Normal."),
        report("b", "28565-0", effectiveDateTime="2023", conclusion="Normal."),
        report("c", "30691-0", effectivePeriod={"start": "2024-01-10T09:00:00Z"}, conclusion="Normal."),
    )
    assert [(r["source"], r.get("date")) for r in out["imagingResults"]] == [
        ("DiagnosticReport/c", "2024-01-10"), ("DiagnosticReport/a", "2022-06-01"), ("DiagnosticReport/b", None),
    ]


def test_resource_without_id_has_no_source():
    out = facts({"resourceType": "DiagnosticReport", "status": "final",
                 "code": {"coding": [{"system": LOINC, "code": "30691-0"}]}, "conclusion": "No bone marrow edema."})
    assert "source" not in out["bmeFindings"][0]
    assert "source" not in out["imagingResults"][0]


@pytest.mark.parametrize("url", sorted({u for u, _, _ in IMAGING_VALUE_SETS} | {u for u, _ in BODY_SITE_VALUE_SETS}
                                       | {BME_FINDING_VALUE_SET}))
def test_every_value_set_used_exists_in_the_content(url):
    urls = {json.loads(p.read_text())["url"] for p in CONTENT.glob("ValueSet-*.json")}
    assert url in urls


def test_whole_mri_report_as_attachment():
    """A full report written for this test: sections, soft-tissue edema, a repeated impression."""
    text = (Path(__file__).with_name("mri-knee-report.txt")).read_text(encoding="utf-8")
    out = facts(report("mri9", "30691-0", code={"coding": [{"system": LOINC, "code": "30691-0"}], "text": "MRI knee left"},
                       effectiveDateTime="2024-04-15", presentedForm=[text_form(text)]))
    place = {"joint": "knee", "laterality": "left", "term": "bone marrow edema",
             "source": "DiagnosticReport/mri9", "date": "2024-04-15"}
    assert out["bmeFindings"] == [
        {"status": "present", "site": "femoral-condyle", **place},
        {"status": "present", "site": "tibia", **place},
    ]
    assert out["imagingResults"] == [{"modality": "mri", "joint": "knee", "laterality": "left", "result": "abnormal",
                                      "source": "DiagnosticReport/mri9", "date": "2024-04-15"}]


def _statuses_by_source(*resources: dict[str, Any]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for finding in facts(*resources)["bmeFindings"]:
        out.setdefault(finding["source"].split("/")[1], []).append(finding["status"])
    return out


OLDER_LEFT_KNEE = report("old", "30691-0", effectiveDateTime="2024-01-10",
                         conclusion="Bone marrow edema in the medial femoral condyle of the left knee.")


@pytest.mark.parametrize("newer_text", [
    "The bone marrow edema in the left knee has resolved.",
    "Bone marrow edema of the left knee is no longer seen.",
    "Left knee: no bone marrow edema.",
    "Interval resolution of the marrow edema in the left medial femoral condyle.",
])
def test_a_newer_report_of_no_bme_at_the_same_joint_and_side_makes_the_older_finding_historical(newer_text):
    newer = report("new", "30691-0", effectiveDateTime="2024-04-10", conclusion=newer_text)
    assert _statuses_by_source(OLDER_LEFT_KNEE, newer) == {"new": ["negated"], "old": ["historical"]}


@pytest.mark.parametrize(("date", "newer_text"), [
    ("2024-04-10", "The bone marrow edema in the right knee has resolved."),  # other side
    ("2024-04-10", "Bone marrow edema in the left hip has resolved."),  # other joint
    ("2024-04-10", "No bone marrow edema in the lateral tibial plateau of the left knee."),  # another bone
    ("2023-10-01", "The bone marrow edema in the left knee has resolved."),  # older than the finding
])
def test_a_negation_elsewhere_or_earlier_leaves_the_finding_present(date, newer_text):
    other = report("other", "30691-0", effectiveDateTime=date, conclusion=newer_text)
    assert _statuses_by_source(OLDER_LEFT_KNEE, other)["old"] == ["present"]


def test_an_undated_finding_is_never_cleared():
    undated = report("undated", "30691-0", conclusion="Bone marrow edema in the medial femoral condyle of the left knee.")
    newer = report("new", "30691-0", effectiveDateTime="2024-04-10", conclusion="Left knee: no bone marrow edema.")
    assert _statuses_by_source(undated, newer)["undated"] == ["present"]


@pytest.mark.parametrize("code", ["28565-0", "36037-0"])  # knee X-ray, knee CT: neither can show BME
def test_only_an_mri_clears_an_older_finding(code):
    newer = report("new", code, effectiveDateTime="2024-04-10", conclusion="Left knee: no bone marrow edema.")
    assert _statuses_by_source(OLDER_LEFT_KNEE, newer)["old"] == ["present"]
