"""The report phrasings of issue 20, one rule at a time (numbered as in the issue).

The held-out table measures the rules as a whole; these pin each behaviour a
clinician would notice, with sentences that are in neither half.
"""

from __future__ import annotations

import pytest

from plugin.report_text import Mention, find_mentions


def statuses(text: str) -> list[str]:
    return [m.status for m in find_mentions(text)]


def places(text: str) -> list[tuple[str, str | None, str | None, str | None]]:
    return [(m.status, m.site, m.joint, m.laterality) for m in find_mentions(text)]


# 1. Negation over lists and clauses --------------------------------------------------------


@pytest.mark.parametrize("text", [
    "No fracture, dislocation, bone marrow edema or effusion.",
    "No fracture, dislocation, effusion, meniscal tear, or bone marrow edema.",
    "No fracture, dislocation, and bone marrow edema.",
    "No fracture, dislocation, bone marrow edema.",
    "There is no fracture, bone marrow edema, or effusion.",
    "No fracture nor bone marrow edema.",
    "Free of fracture, dislocation and marrow edema.",
    "Negative for fracture, effusion, or BME.",
    "Absence of fracture, effusion and bone marrow edema.",
])
def test_a_negation_reaches_every_item_of_its_list(text):
    assert statuses(text) == ["negated"]


def test_a_far_item_of_a_negated_list_keeps_its_place():
    assert places("No fracture, effusion, ligament tear, bone marrow edema, or loose body in the left knee.") == [
        ("negated", "knee", "knee", "left")]


@pytest.mark.parametrize("text", [
    "Marrow edema in the cuboid; no cortical break.",
    "While there is no effusion, the navicular shows marrow edema.",
    "No cortical break, but marrow edema in the cuboid.",
    "No fracture, marrow edema in the navicular.",
    "No effusion, no fracture, marrow edema in the navicular.",
    "No fracture, small joint effusion, bone marrow edema in the navicular.",
    "There is no fracture, and bone marrow edema is seen in the navicular.",
    "Marrow edema in the navicular without fracture, dislocation or effusion.",
])
def test_a_negation_of_another_finding_does_not_reach_the_edema(text):
    assert places(text) == [("present", "foot", "foot", None)]


# 2. Pseudo-negation and change over time -----------------------------------------------------


@pytest.mark.parametrize("text", [
    "Bone marrow edema in the talus has not resolved.",
    "Bone marrow edema in the talus is not significantly changed from the prior study.",
    "Bone marrow edema in the talus persists.",
    "Bone marrow edema in the talus, not present on the prior study, is new.",
    "No interval change in the marrow edema of the talus.",
    "There is no significant interval change in the marrow edema of the talus.",
    "Marrow edema in the talus, seen on the prior MRI, is again present.",
])
def test_a_statement_of_change_means_present_now(text):
    assert places(text) == [("present", "ankle", "ankle", None)]


@pytest.mark.parametrize("text", [
    "Bone marrow edema in the talus is no longer seen.",
    "Bone marrow edema in the talus is no longer evident.",
    "Bone marrow edema in the talus is no longer visible.",
    "Bone marrow edema in the talus has resolved.",
    "Interval resolution of the talar marrow edema.",
])
def test_resolution_means_gone_now(text):
    assert places(text) == [("negated", "ankle", "ankle", None)]


# 3. Named and described patterns -------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "Modic type 1 changes at L4-L5.",
    "Type 1 Modic change at the inferior endplate of L5.",
    "Mixed Modic type 1 and 2 changes at L5-S1.",
    "Low T1 and high T2 signal at the L4 inferior endplate.",
    "Low T1 signal with high STIR signal in the L2 vertebral body.",
    "Romanus lesion at the anterior superior corner of L1.",
])
def test_modic_type_1_and_its_description_are_endplate_marrow_edema(text):
    assert places(text) == [("present", "spine", "spine", None)]


@pytest.mark.parametrize("text", [
    "Modic type 2 changes at L4-L5.", "Modic 2 changes at L4-L5.", "Modic type 3 endplate changes at L5-S1.",
    "Modic type 2/3 changes at L5-S1.", "Osteitis condensans ilii.",
])
def test_modic_types_2_and_3_are_not_edema(text):
    assert find_mentions(text) == []


@pytest.mark.parametrize(("text", "place"), [
    ("STIR hyperintensity in the marrow of the talus.", ("present", "ankle", "ankle", None)),
    ("T2 hyperintensity in the talus.", ("present", "ankle", "ankle", None)),
    ("Increased T2 fat-suppressed signal within the marrow of the medial tibial plateau.", ("present", "tibia", "knee", None)),
    ("Fluid-sensitive hyperintensity in the left femoral head.", ("present", "hip", "hip", "left")),
    ("Marrow edema-like signal in the femoral neck.", ("present", "hip", "hip", None)),
    ("Stress reaction of the navicular with marrow signal change.", ("present", "foot", "foot", None)),
    ("Active sacroiliitis on the right.", ("present", None, "sacroiliac", "right")),
    ("No active sacroiliitis.", ("negated", None, "sacroiliac", None)),
])
def test_signal_descriptions_and_named_patterns_are_bme(text, place):
    assert places(text) == [place]


def test_a_description_takes_the_status_of_the_finding_that_interprets_it():
    assert places("STIR hyperintensity in the patella could reflect marrow edema versus artifact.") == [
        ("uncertain", "knee", "knee", None)]


@pytest.mark.parametrize("text", [
    "Subcutaneous edema over the lateral malleolus.",
    "Periosteal edema along the medial tibia.",
    "Edema in Hoffa's fat pad.",
    "Edema in the flexor hallucis longus tendon sheath.",
    "Edema in the medial malleolus soft tissues.",
    "STIR hyperintensity in the subcutaneous tissues around the ankle.",
    "T2 hyperintensity in the patellar tendon.",
    "Increased signal in the medial femoral condyle cartilage.",
    "Abnormal T2 signal in the L4-L5 disc.",
])
def test_edema_only_in_soft_tissue_next_to_a_bone_is_not_bme(text):
    assert find_mentions(text) == []


# 4. Uncertainty and history ------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "Equivocal bone marrow edema in the talus.",
    "Indeterminate signal in the talus, possibly marrow edema.",
    "The signal in the talus may represent bone marrow edema.",
    "Bone marrow edema in the talus is a consideration.",
    "Bone marrow edema in the talus cannot be excluded.",
    "Questionable bone marrow edema in the talus.",
    "Subtle edema-like signal in the talus of uncertain significance.",
])
def test_hedges_give_an_uncertain_finding(text):
    assert places(text) == [("uncertain", "ankle", "ankle", None)]


@pytest.mark.parametrize("text", [
    "Bone marrow edema was seen in the talus on the prior study.",
    "On the initial MRI, there was bone marrow edema in the talus.",
    "The outside MRI dated 06/2020 showed bone marrow edema in the talus.",
    "Bone marrow edema in the talus (2019).",
])
def test_an_earlier_study_s_finding_is_historical(text):
    assert places(text) == [("historical", "ankle", "ankle", None)]


def test_a_prior_finding_that_has_resolved_is_not_present():
    assert statuses("Bone marrow edema seen on the prior study in the talus has resolved.") == ["negated"]


# 5. Formatting -------------------------------------------------------------------------------


def test_all_capitals_and_wrapped_capital_lines():
    assert statuses("IMPRESSION: NO FRACTURE, DISLOCATION, BONE MARROW EDEMA OR EFFUSION.") == ["negated"]
    assert statuses("NO FRACTURE, DISLOCATION,\nBONE MARROW EDEMA OR EFFUSION.") == ["negated"]
    assert places("IMPRESSION: BONE MARROW EDEMA IN THE LEFT TALUS.") == [("present", "ankle", "ankle", "left")]


def test_numbered_impressions_keep_each_item_apart():
    assert places("FINDINGS:\n1. No fracture.\n2. Bone marrow oedema in the left talus.") == [
        ("present", "ankle", "ankle", "left")]
    assert statuses("IMPRESSION:\n1. No bone marrow oedema.\n2. Small effusion.") == ["negated"]


def test_british_spelling():
    assert find_mentions("Bone marrow oedema in the calcaneum, in keeping with a contusion.") == [
        Mention("present", "bone marrow edema", "foot", "foot")]
    assert statuses("Transient osteoporosis of the hip is favoured.") == ["uncertain"]


def test_a_line_break_inside_a_sentence_does_not_end_it():
    assert places("There is bone marrow\nedema in the talus.") == [("present", "ankle", "ankle", None)]
    assert places("There is no evidence\nof bone marrow edema in the\nleft hip.") == [("negated", "hip", "hip", "left")]
    assert statuses("No fracture, dislocation,\nbone marrow edema or effusion.") == ["negated"]
    # A line that ends a sentence or a header still ends it.
    assert statuses("No fracture.\nBone marrow edema in the talus.") == ["present"]
