"""Rules of plugin/report_text.py that the corpus table does not show one by one."""

from __future__ import annotations

import pytest

from plugin.report_text import Mention, conclusion_result, find_mentions, laterality_in, sections, sentences


def test_numbered_impression_is_split_into_items():
    text = "IMPRESSION:\n1. Bone bruise of the lateral femoral condyle. 2. No fracture; small effusion."
    assert sentences(sections(text)[0][1]) == [
        "Bone bruise of the lateral femoral condyle.", "No fracture", "small effusion.",
    ]


def test_a_text_without_a_header_is_one_findings_section():
    text = "History of trauma. Bone marrow edema in the talus.\n\nNo fracture."
    assert sections(text) == [("findings", text)]
    assert sections(" \n") == []


def test_indication_section_ends_at_the_next_header():
    text = "INDICATION: Bone bruise on the outside MRI.\nFINDINGS: Bone marrow edema in the talus."
    assert [m.status for m in find_mentions(text)] == ["historical", "present"]


def test_indication_section_ends_at_a_blank_line():
    text = "HISTORY: prior transient osteoporosis.\n\nBone marrow edema in the left femoral head."
    assert find_mentions(text) == [
        Mention("historical", "transient osteoporosis"),
        Mention("present", "bone marrow edema", "hip", "hip", "left"),
    ]


def test_technique_section_gives_no_finding():
    assert find_mentions("TECHNIQUE: STIR sequences sensitive to bone marrow edema.") == []


def test_terms_are_normalised():
    text = ("Bone bruise in the talus. BML in the MFC. Transient osteoporosis of the hip. "
            "Regional migratory osteoporosis of the foot. BMES of the knee. Marrow oedema in the cuboid.")
    assert [m.term for m in find_mentions(text)] == [
        "bone bruise", "bone marrow lesion", "transient osteoporosis",
        "bone marrow edema syndrome", "bone marrow edema syndrome", "bone marrow edema",
    ]


def test_the_same_finding_in_findings_and_impression_is_reported_twice_here():
    # derive_facts removes the repeat per report; the text reader reports what is written.
    text = "FINDINGS: Bone marrow edema in the talus.\nIMPRESSION: Bone marrow edema in the talus."
    assert len(find_mentions(text)) == 2


@pytest.mark.parametrize(
    ("title", "laterality"),
    [("MRI KNEE LEFT WO CONTRAST", "left"), ("XR hips bilateral", "bilateral"), ("MR ankle", None),
     ("Left and right knee radiographs", "bilateral")],
)
def test_laterality_of_a_title(title, laterality):
    assert laterality_in(title) == laterality


@pytest.mark.parametrize(
    ("conclusion", "result"),
    [
        ("Normal radiographs of the right knee.", "negative"),
        ("No fracture or dislocation. Joint spaces are preserved.", "negative"),
        ("No acute osseous abnormality. If pain persists, MRI without contrast may be helpful.", "negative"),
        ("Unremarkable study.", "negative"),
        ("Mild medial compartment joint space narrowing. No fracture.", "abnormal"),
        ("No fracture, but a moderate joint effusion.", "abnormal"),
        ("Degenerative change, otherwise unremarkable.", "abnormal"),
        ("Three views of the knee show a nondisplaced patellar fracture.", "abnormal"),
        ("Bone marrow edema in the medial femoral condyle.", "abnormal"),
        ("No bone marrow edema.", "negative"),
        ("Three views of the left ankle.", "unknown"),
        ("", "unknown"),
    ],
)
def test_conclusion_result(conclusion, result):
    assert conclusion_result(conclusion) == result
