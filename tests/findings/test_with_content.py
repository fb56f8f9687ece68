"""derive_facts through the engine's real DataView and the shipped value sets, and through the HTTP hook.

The fake view in the other tests pins the rules; this checks that the codes
EHRs send (LOINC reports, CPT orders and reports) are recognised by the
content's actual imaging value sets, and that what the reader says reaches
the cards an EHR receives.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from content.golden import PLAN_FOR_HOOK, prefetch_templates, summarize
from fhir_content.datacontext import DataView
from fhir_content.knowledge import KnowledgeBase
from plugin import provider
from cds_content.demo import Case, Person, condition, sct
from plugin.demo.codes import mri
from plugin.findings import derive_facts

CONTENT = Path(__file__).resolve().parents[2] / "plugin" / "content"


@pytest.fixture(scope="module")
def terminology():
    return KnowledgeBase.load(CONTENT).terminology


def _report(rid: str, system: str, code: str, conclusion: str) -> dict:
    return {"resourceType": "DiagnosticReport", "id": rid, "status": "final",
            "code": {"coding": [{"system": system, "code": code}]}, "conclusion": conclusion}


@pytest.mark.parametrize(
    ("system", "code", "modality", "joint"),
    [
        ("http://loinc.org", "30691-0", "mri", "knee"),
        ("http://loinc.org", "30687-8", "mri", "hip"),
        ("http://loinc.org", "36031-3", "mri", "sacroiliac"),
        ("http://loinc.org", "24541-5", "xray", "ankle"),
        ("http://www.ama-assn.org/go/cpt", "73562", "xray", "knee"),
        ("http://loinc.org", "24963-1", "ct", "spine"),
    ],
)
def test_shipped_value_sets_give_modality_and_joint(terminology, system, code, modality, joint):
    view = DataView(terminology, {"patientId": "p1"}, {"reports": {"resourceType": "Bundle", "entry": [
        {"resource": _report("r1", system, code, "No acute osseous abnormality.")}]}})
    assert derive_facts(view)["imagingResults"] == [
        {"modality": modality, "joint": joint, "result": "negative", "source": "DiagnosticReport/r1"},
    ]


def test_lower_extremity_joint_mri_by_cpt_reads_the_joint_from_text(terminology):
    report = _report("r2", "http://www.ama-assn.org/go/cpt", "73721", "Bone marrow edema in the right talus.")
    view = DataView(terminology, {"patientId": "p1"}, {"reports": report})
    facts = derive_facts(view)
    assert facts["imagingResults"] == [
        {"modality": "mri", "joint": "ankle", "result": "abnormal", "source": "DiagnosticReport/r2"},
    ]
    assert facts["bmeFindings"] == [
        {"status": "present", "site": "ankle", "joint": "ankle", "laterality": "right", "term": "bone marrow edema",
         "source": "DiagnosticReport/r2"},
    ]


# The whole service: a normal MRI's usual sentence must not raise the infection warning.


@pytest.fixture(scope="module")
def bme_provider():
    return provider()


def _osteomyelitis_patient(mri_text: str) -> Case:
    return Case("findings-osteomyelitis-mri", "patient-view", "Osteomyelitis on record and a foot MRI.",
                Person("findings-osteo", "Test", "Patient", "female", 60),
                (condition(sct("60168000", "Osteomyelitis"), onset_days=10), mri("foot", mri_text)))


@pytest.mark.parametrize(("mri_text", "cards"), [
    ("IMPRESSION: No fracture, dislocation, bone marrow edema or effusion.", []),
    ("IMPRESSION: NO FRACTURE, DISLOCATION,\nBONE MARROW OEDEMA OR EFFUSION.", []),
    # The same chart with the edema present does get the warning, so the empty list above means something.
    ("IMPRESSION: No fracture or dislocation. Bone marrow edema in the calcaneus.",
     [{"topic": "bme-infection", "indicator": "warning", "suggests": ["handout|bone-infection"]}]),
])
def test_a_negated_list_gives_no_infection_card_through_the_hook(make_app, bme_provider, mri_text, cards):
    http = make_app(providers=[bme_provider]).test_client()
    case = _osteomyelitis_patient(mri_text)
    body = case.hook_request(prefetch_templates(bme_provider.knowledge_base, case.hook))
    response = http.post(f"/cds-services/{PLAN_FOR_HOOK[case.hook]}", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert summarize(response.get_json()["cards"]) == cards
