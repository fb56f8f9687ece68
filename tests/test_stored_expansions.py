"""Stored ICD-10-CM expansions: the service starts without the ICD-10-CM tables, and stale ones never mislead.

A ValueSet may carry its expansion (written by ``python -m
fhir_content.expansions``); the engine reads it only while its fingerprint
matches the compose, and ``validate`` re-expands it to catch any drift.
"""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

import pytest

from fhir_content import KnowledgeBase
from fhir_content.expansions import check_path, names_icd10cm, write_stored_expansions
from fhir_content.loader import ArtifactIndex, read_artifacts
from fhir_content.problems import Problems
from fhir_content.systems import ICD10CM, SNOMED
from fhir_content.terminology import Expander
from fhir_content.validate import validate_path

BASE = "http://example.org/fhir/ValueSet/"


def value_set(id_: str, *includes: dict) -> dict:
    return {
        "resourceType": "ValueSet",
        "id": id_,
        "url": BASE + id_,
        "version": "1.0.0",
        "status": "active",
        "compose": {"include": list(includes)},
    }


def write(directory: Path, *resources: dict) -> Path:
    directory.mkdir(exist_ok=True)
    for resource in resources:
        (directory / f"ValueSet-{resource['id']}.json").write_text(json.dumps(resource, indent=2) + "\n")
    return directory


def read(directory: Path, id_: str) -> dict:
    return json.loads((directory / f"ValueSet-{id_}.json").read_text())


KNEE_OA = {"system": ICD10CM, "filter": [{"property": "concept", "op": "is-a", "value": "M17"}]}
HIP_OA = {"system": ICD10CM, "filter": [{"property": "concept", "op": "is-a", "value": "M16"}]}
HYPERLIPIDEMIA = {"system": SNOMED, "concept": [{"code": "55822004"}]}


@pytest.fixture
def content(tmp_path) -> Path:
    directory = write(
        tmp_path / "content",
        value_set("knee-oa", KNEE_OA),
        value_set("any-oa", {"valueSet": [BASE + "knee-oa"]}, HIP_OA),
        value_set("hl", HYPERLIPIDEMIA),
    )
    write_stored_expansions(directory)
    return directory


def test_the_bme_content_loads_without_importing_the_icd10cm_tables():
    """Every gunicorn worker would otherwise spend ~1.6 s and ~180 MB on them at each start."""
    script = "import sys; from plugin import provider; provider(); print('simple_icd_10_cm' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_the_bme_content_stores_a_current_expansion_of_every_icd10cm_value_set():
    source = files("plugin") / "content"
    problems = Problems()
    unstored = [a.file for a in read_artifacts(source, problems) if a.type == "ValueSet" and names_icd10cm(a) and "expansion" not in a.resource]
    assert unstored == []
    assert check_path(source) == []


def test_only_value_sets_naming_icd10cm_get_a_stored_expansion_and_a_rerun_changes_nothing(content):
    assert "expansion" in read(content, "knee-oa") and "expansion" in read(content, "any-oa")
    assert "expansion" not in read(content, "hl")
    assert write_stored_expansions(content) == []
    assert validate_path(content) == []


def test_a_current_stored_expansion_is_what_the_engine_uses(content):
    stored = read(content, "knee-oa")
    stored["expansion"]["contains"].append({"system": ICD10CM, "code": "M81.0"})
    write(content, stored)
    kb = KnowledgeBase.load(content)
    assert kb.terminology.contains(BASE + "knee-oa", ICD10CM, "M81.0")
    assert [str(p) for p in validate_path(content)] == [
        "ValueSet-knee-oa.json: $.expansion: stored expansion differs from a fresh expansion of the compose: "
        "run python -m fhir_content.expansions on the content directory"
    ]


def test_a_stale_stored_expansion_is_ignored_and_reported(content):
    changed = read(content, "knee-oa")
    changed["compose"]["include"][0]["filter"][0]["value"] = "M17.1"
    write(content, changed)
    kb = KnowledgeBase.load(content)
    assert kb.terminology.contains(BASE + "knee-oa", ICD10CM, "M17.11")
    assert not kb.terminology.contains(BASE + "knee-oa", ICD10CM, "M17.0")
    # The value set that includes it is stale too: its expansion was computed from the old one.
    assert not kb.terminology.contains(BASE + "any-oa", ICD10CM, "M17.0")
    assert {(p.file, p.path) for p in validate_path(content)} == {
        ("ValueSet-knee-oa.json", "$.expansion"),
        ("ValueSet-any-oa.json", "$.expansion"),
    }
    assert write_stored_expansions(content) == ["ValueSet-any-oa.json", "ValueSet-knee-oa.json"]
    assert validate_path(content) == []


def test_validate_still_finds_a_bad_code_behind_a_current_stored_expansion(content):
    """The load trusts a current stored expansion; validate re-expands its compose and reports what is wrong."""
    bad = value_set("bad", {"system": ICD10CM, "concept": [{"code": "M17.99"}]})
    write(content, bad)
    problems = Problems()
    (artifact,) = [a for a in read_artifacts(content, problems) if a.id == "bad"]
    fingerprint = Expander(ArtifactIndex([artifact], problems), problems).fingerprint(artifact)
    write(content, {**bad, "expansion": {"identifier": fingerprint, "timestamp": "2026-01-01T00:00:00Z",
                                         "contains": [{"system": ICD10CM, "code": "M17.99"}]}})
    assert KnowledgeBase.load(content).terminology.contains(BASE + "bad", ICD10CM, "M17.99")
    messages = [str(p) for p in validate_path(content)]
    assert "ValueSet-bad.json: $.compose.include[0].concept[0].code: M17.99 is not an ICD-10-CM code" in messages
