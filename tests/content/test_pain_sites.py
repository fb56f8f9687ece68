"""Painful sites paired with the imaging of the same joint and side, recent enough (plugin/pain_sites.py).

Runs on the engine's real DataView and the shipped value sets (pain codes,
side codes), with the findings facts written out as the content sees them.
"""

from __future__ import annotations

from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fhir_content.datacontext import DataView
from fhir_content.systems import ICD10CM
from plugin.pain_sites import derive_facts

TODAY = date(2026, 12, 1)


def _pain(cid: str, code: str, onset: str | None = "2026-11-01", **extra) -> dict:
    resource = {"resourceType": "Condition", "id": cid, "code": {"coding": [{"system": ICD10CM, "code": code}]}, **extra}
    if onset:
        resource["onsetDateTime"] = onset
    return resource


def _sites(knowledge_base, conditions, imaging=(), findings=()):
    view = DataView(knowledge_base.terminology, {"patientId": "p1"}, {"conditions": {"resourceType": "Bundle", "entry": [
        {"resource": c} for c in conditions]}})
    facts = {"imagingResults": list(imaging), "bmeFindings": list(findings)}
    return derive_facts(view, facts, today=TODAY)["painfulSites"]


def _xray(joint, result="negative", day="2026-11-10", **extra):
    return {"modality": "xray", "joint": joint, "result": result, "date": day, **extra}


def test_an_xray_of_the_other_side_does_not_count(knowledge_base):
    sites = _sites(knowledge_base, [_pain("c1", "M25.561")], [_xray("knee", laterality="left")])
    assert sites == [{"condition": "c1", "joint": "knee", "imaging": "none", "laterality": "right"}]


def test_an_xray_of_the_same_side_or_with_no_side_counts(knowledge_base):
    assert _sites(knowledge_base, [_pain("c1", "M25.562")], [_xray("knee", laterality="left")])[0]["imaging"] == "negative"
    assert _sites(knowledge_base, [_pain("c1", "M25.562")], [_xray("knee")])[0]["imaging"] == "negative"


def test_an_xray_from_before_the_six_months_before_the_pain_does_not_count(knowledge_base):
    old = _xray("knee", day="2024-01-05")
    undated = {"modality": "xray", "joint": "knee", "result": "negative"}
    assert _sites(knowledge_base, [_pain("c1", "M25.569")], [old, undated])[0]["imaging"] == "none"
    recent_enough = _xray("knee", day="2026-06-01")
    assert _sites(knowledge_base, [_pain("c1", "M25.569")], [recent_enough])[0]["imaging"] == "negative"


def test_an_mri_or_a_current_finding_of_the_same_side_is_the_mri(knowledge_base):
    mri = {"modality": "mri", "joint": "hip", "result": "abnormal", "date": "2020-01-01", "laterality": "right"}
    assert _sites(knowledge_base, [_pain("c1", "M25.551")], [mri])[0]["imaging"] == "mri"
    assert _sites(knowledge_base, [_pain("c1", "M25.552")], [mri])[0]["imaging"] == "none"
    finding = {"status": "present", "joint": "hip", "term": "bone marrow edema"}
    assert _sites(knowledge_base, [_pain("c1", "M25.552")], [], [finding])[0]["imaging"] == "mri"


def test_side_from_body_site_text_and_bilateral_gives_two_sites(knowledge_base):
    left = _pain("c1", "M25.569", bodySite=[{"text": "Left knee"}])
    both = _pain("c2", "M25.559", bodySite=[{"coding": [{"system": "http://snomed.info/sct", "code": "51440002"}]}])
    sites = _sites(knowledge_base, [left, both])
    assert [(s["condition"], s["joint"], s.get("laterality")) for s in sites] == [
        ("c1", "knee", "left"), ("c2", "hip", "left"), ("c2", "hip", "right")]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.fixed_dictionaries({}, optional={key: json_values for key in (
    "onsetDateTime", "onsetPeriod", "recordedDate", "bodySite", "clinicalStatus")}),
    st.lists(st.fixed_dictionaries({}, optional={key: json_values for key in (
        "modality", "joint", "laterality", "result", "date", "source")}), max_size=3))
def test_malformed_conditions_and_facts_never_break_the_pairing(knowledge_base, fields, imaging):
    condition = {**_pain("c1", "M25.561", onset=None), **fields}
    for site in _sites(knowledge_base, [condition], imaging, imaging):
        assert site["condition"] == "c1" and site["imaging"] in {"mri", "abnormal", "negative", "unknown", "none"}
