"""Malformed or hostile input must not break a hook call: derive_facts and the text reader never raise."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fhir_content.systems import LOINC
from findings.fake_view import FakeView
from plugin.findings import derive_facts
from plugin.report_text import find_mentions

STATUSES = {"present", "uncertain", "negated", "historical"}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)
report_words = st.sampled_from([
    "no", "bone", "marrow", "edema", "oedema", "in", "the", "left", "right", "talus", "femoral", "condyle",
    "possible", "prior", "resolved", "but", "with", ",", ";", ".", "IMPRESSION:", "HISTORY:", "\n", "1.", "?",
    "BME", "L4", "contusion", "subcutaneous", "not", "excluded", "and", "or", "knee", "hip", "sacrum",
])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(report_words, max_size=40).map(" ".join))
def test_find_mentions_never_raises_and_uses_the_vocabulary(text):
    for mention in find_mentions(text):
        assert mention.status in STATUSES


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.fixed_dictionaries({}, optional={
    "id": json_values, "status": json_values, "code": json_values, "category": json_values,
    "conclusion": json_values, "conclusionCode": json_values, "presentedForm": json_values,
    "valueString": json_values, "note": json_values, "bodySite": json_values,
    "effectiveDateTime": json_values, "effectivePeriod": json_values, "issued": json_values,
}))
def test_derive_facts_survives_malformed_resources(fields):
    imaging_code = {"coding": [{"system": LOINC, "code": "30691-0"}]}
    odd_coding = {"coding": [{"system": ["x"], "code": {"y": 1}}, {"system": "http://snomed.info/sct", "code": ["1"]}]}
    resources = [
        {"resourceType": "DiagnosticReport", **fields},
        {"resourceType": "DiagnosticReport", **fields, "code": imaging_code},
        {"resourceType": "Observation", **fields, "code": imaging_code},
        {"resourceType": "DiagnosticReport", **fields, "code": imaging_code, "category": [odd_coding],
         "conclusionCode": [odd_coding]},
    ]
    out = derive_facts(FakeView(resources))
    for entry in out["bmeFindings"] + out["imagingResults"]:
        assert all(value not in (None, "", [], {}) for value in entry.values())
