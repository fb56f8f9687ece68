"""derive_facts through the engine's real DataView and the shipped value sets.

The fake view in the other tests pins the rules; this checks that the codes
EHRs send (LOINC reports, CPT orders and reports) are recognised by the
content's actual imaging value sets.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fhir_content.datacontext import DataView
from fhir_content.knowledge import KnowledgeBase
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
