"""What a report says itself: the negation and hedging rules of plugin/report_red_flags.py.

Fail safe: a hedged report ("cannot exclude") is a flag, a clear denial ("no
evidence of osteomyelitis") is not, and a question the report answers with a
denial is not either.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plugin.report_red_flags import derive_facts, flags_in, states_fracture

INFECTION_FLAGS = [
    ("Osteomyelitis cannot be excluded.", "suspected"),
    ("Marrow edema in the calcaneus, concerning for osteomyelitis.", "suspected"),
    ("No definite osteomyelitis.", "suspected"),
    ("No fracture, but septic arthritis is likely.", "suspected"),
    ("Findings consistent with discitis at L4-L5.", "stated"),
    ("INDICATION: r/o osteomyelitis.\nIMPRESSION: Bone marrow edema in the calcaneus.", "suspected"),
]
NO_INFECTION = [
    "No evidence of osteomyelitis.",
    "No fracture, dislocation, or osteomyelitis.",
    "INDICATION: Rule out osteomyelitis.\nIMPRESSION: Marrow edema in the talus. No evidence of osteomyelitis.",
    "Osteomyelitis is not seen.",
    "The previously seen osteomyelitis has resolved.",
    "Bone marrow edema in the medial femoral condyle.",
]
CANCER_FLAGS = [
    "Diffuse marrow replacement of the L2 vertebral body.",
    "Lesion in the femoral neck, suspicious for metastasis.",
    "History of breast cancer.",
    "A neoplasm cannot be excluded.",
    "No interval change in the known sclerotic metastasis.",
]
NO_CANCER = [
    "No suspicious osseous lesion to suggest metastatic disease.",
    "Normal marrow signal. No marrow replacing lesion.",
    "No tumor.",
]


@pytest.mark.parametrize(("text", "status"), INFECTION_FLAGS)
def test_a_report_that_suspects_or_states_infection_is_a_flag(text, status):
    assert flags_in(text)["infection"][0] == status


@pytest.mark.parametrize("text", NO_INFECTION)
def test_a_denied_or_absent_infection_is_no_flag(text):
    assert "infection" not in flags_in(text)


@pytest.mark.parametrize("text", CANCER_FLAGS)
def test_metastasis_tumour_or_marrow_replacement_is_a_cancer_flag(text):
    assert "cancer" in flags_in(text)


@pytest.mark.parametrize("text", NO_CANCER)
def test_a_denied_tumour_is_no_cancer_flag(text):
    assert "cancer" not in flags_in(text)


@pytest.mark.parametrize(("text", "fracture"), [
    ("Nondisplaced fracture of the medial malleolus.", True),
    ("Mild degenerative change. No fracture.", False),
    ("Evaluate for stress fracture. No acute osseous abnormality.", False),
    ("Subtle fracture line cannot be excluded.", False),
])
def test_only_a_stated_fracture_counts_as_seen(text, fracture):
    assert states_fracture({"resourceType": "DiagnosticReport", "conclusion": text}) is fracture


class _View:
    def __init__(self, *reports):
        self._reports = list(reports)

    def resources(self, type_name):
        return self._reports if type_name == "DiagnosticReport" else []


def test_the_fact_names_kind_status_term_date_and_source_and_skips_reports_in_error():
    flagged = {"resourceType": "DiagnosticReport", "id": "r1", "status": "final", "effectiveDateTime": "2026-10-02",
               "conclusion": "Osteomyelitis of the first metatarsal cannot be excluded."}
    in_error = {"resourceType": "DiagnosticReport", "id": "r2", "status": "entered-in-error", "conclusion": "Metastasis."}
    fracture_only = {"resourceType": "DiagnosticReport", "id": "r3", "status": "final", "conclusion": "Fracture of the fibula."}
    assert derive_facts(_View(flagged, in_error, fracture_only)) == {"reportRedFlags": [
        {"kind": "infection", "status": "suspected", "term": "osteomyelitis", "date": "2026-10-02",
         "source": "DiagnosticReport/r1"}]}


report_words = st.sampled_from([
    "no", "not", "osteomyelitis", "metastasis", "tumor", "fracture", "marrow", "replacement", "cannot", "be", "excluded",
    "suspicious", "for", "rule", "out", "or", "and", "but", ",", ";", ".", "?", "\n", "IMPRESSION:", "history", "of",
])


@settings(max_examples=200, deadline=None)
@given(st.lists(report_words, max_size=40).map(" ".join))
def test_any_wording_gives_only_known_kinds_and_statuses(text):
    for kind, (status, term) in flags_in(text).items():
        assert kind in {"infection", "cancer", "fracture"} and status in {"stated", "suspected"} and term
