"""The BME knowledge artifacts themselves: valid FHIR, valid codes, complete metadata, nothing dangling.

These checks read plugin/content as the service ships it (package data), so a
broken or missing artifact fails here before any patient is evaluated.
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Iterator
from importlib.resources import files
from typing import Any

import pytest
import simple_icd_10_cm

from fhir_content.validate import validate_path
from plugin import build_valuesets, findings
from plugin.handouts import bme_handouts

from fhir_content.systems import ICD10CM

CONTENT = files("plugin") / "content"
BASE = "http://bme-cds.org/fhir"
ARTIFACTS = {path.name: json.loads(path.read_text(encoding="utf-8")) for path in CONTENT.iterdir() if path.name.endswith(".json")}
PLANS = [a for a in ARTIFACTS.values() if a["resourceType"] == "PlanDefinition"]
HANDOUT_IDS = set(bme_handouts().handout_ids())


def _walk(value: Any) -> Iterator[Any]:
    yield value
    if isinstance(value, dict):
        for item in value.values():
            yield from _walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item)


def _icd_codes(artifact: dict[str, Any]) -> Iterator[str]:
    """Every ICD-10-CM code in an artifact: Codings, enumerated concepts and is-a filter values."""
    for node in _walk(artifact):
        if not isinstance(node, dict) or node.get("system") != ICD10CM:
            continue
        if "code" in node:
            yield node["code"]
        yield from (concept["code"] for concept in node.get("concept", []))
        yield from (f["value"] for f in node.get("filter", []))


def test_bme_cds_validate_finds_no_problem_in_the_shipped_content():
    assert [str(problem) for problem in validate_path(CONTENT)] == []


def test_content_has_the_three_services_and_their_artifacts():
    assert {plan["id"] for plan in PLANS} == {"bme-patient-view", "bme-order-select", "bme-order-sign"}
    types = {a["resourceType"] for a in ARTIFACTS.values()}
    assert types == {"PlanDefinition", "ActivityDefinition", "ValueSet", "Library"}


@pytest.mark.parametrize("name", sorted(ARTIFACTS))
def test_artifact_has_complete_metadata_and_a_matching_file_name(name):
    artifact = ARTIFACTS[name]
    kind, artifact_id = artifact["resourceType"], artifact["id"]
    assert name == f"{kind}-{artifact_id}.json"
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", artifact_id), "ids are kebab-case"
    assert artifact["url"] == f"{BASE}/{kind}/{artifact_id}"
    assert artifact["version"] == "1.0.0"
    assert artifact["status"] == "active"
    for element in ("name", "title", "publisher", "date", "description"):
        assert artifact.get(element), f"{element} missing"


@pytest.mark.parametrize("name", sorted(ARTIFACTS))
def test_artifact_is_a_valid_r4_resource(name):
    artifact = ARTIFACTS[name]
    kind = artifact["resourceType"]
    model = getattr(importlib.import_module(f"fhir.resources.R4B.{kind.lower()}"), kind)
    model.model_validate(artifact)


def test_every_icd10cm_code_exists():
    codes = {code for artifact in ARTIFACTS.values() for code in _icd_codes(artifact)}
    assert len(codes) > 50
    assert sorted(code for code in codes if not simple_icd_10_cm.is_valid_item(code)) == []


def test_every_value_set_is_used_by_the_content_or_by_the_findings():
    used_by_findings = {url for url, *_ in findings.IMAGING_VALUE_SETS}
    used_by_findings |= {url for url, _ in findings.BODY_SITE_VALUE_SETS} | {findings.BME_FINDING_VALUE_SET}
    text = " ".join(json.dumps(a) for a in ARTIFACTS.values() if a["resourceType"] != "ValueSet")
    include_refs = {
        ref
        for a in ARTIFACTS.values() if a["resourceType"] == "ValueSet"
        for include in a["compose"]["include"] for ref in include.get("valueSet", [])
    }
    unused = [
        a["url"] for a in ARTIFACTS.values()
        if a["resourceType"] == "ValueSet" and a["url"] not in used_by_findings | include_refs and f"'{a['url']}'" not in text
        and f'"{a["url"]}"' not in text
    ]
    assert unused == []


def test_rxnorm_value_sets_match_the_product_lists_they_are_built_from():
    """Drift check: the committed JSON is exactly what plugin/build_valuesets.py writes from the TSVs
    (plus the stored expansion it refreshes, checked by tests/test_stored_expansions.py)."""
    for built in build_valuesets.build():
        committed = ARTIFACTS[f"ValueSet-{built['id']}.json"]
        assert {k: v for k, v in committed.items() if k != "expansion"} == built


def test_nsaid_value_set_holds_every_product_and_ingredient():
    products = build_valuesets.read_products(files("plugin") / "data" / "rxnorm-nsaid-products.tsv")
    codes = {c["code"] for c in ARTIFACTS["ValueSet-nsaid.json"]["compose"]["include"][0]["concept"]}
    assert len(products) == 342
    assert codes == set(products) | set(build_valuesets.NSAID_INGREDIENTS)


def test_anticoagulant_value_set_holds_every_product_and_long_term_use():
    products = build_valuesets.read_products(files("plugin") / "data" / "rxnorm-anticoagulant-products.tsv")
    includes = ARTIFACTS["ValueSet-anticoagulant.json"]["compose"]["include"]
    assert len(products) == 86
    assert set(products) <= {c["code"] for c in includes[0]["concept"]}
    assert {"system": ICD10CM, "code": "Z79.01"} in [{"system": i["system"], "code": c["code"]} for i in includes for c in i["concept"]]


@pytest.mark.parametrize("plan", PLANS, ids=lambda plan: plan["id"])
def test_every_card_has_a_short_summary_and_a_handout_link(plan):
    for action in plan["action"]:
        assert len(action["title"]) < 140
        handouts = [d["url"].removeprefix("handouts/") for d in action["documentation"] if d["type"] == "documentation"]
        assert handouts and set(handouts) <= HANDOUT_IDS, action["title"]


@pytest.mark.parametrize("plan", PLANS, ids=lambda plan: plan["id"])
def test_no_suggestion_removes_or_changes_an_order(plan):
    for action in plan["action"]:
        for sub in action.get("action", []):
            kinds = {c["code"] for c in sub.get("type", {}).get("coding", [])}
            assert kinds <= {"create"}, sub["title"]


def test_activity_definitions_apply_to_valid_r4_resources(knowledge_base):
    activities = [a for a in ARTIFACTS.values() if a["resourceType"] == "ActivityDefinition"]
    for activity in activities:
        resource = knowledge_base.apply_activity(activity["id"], subject="Patient/p1", data=[], base_url="https://cds.example.org")
        kind = resource["resourceType"]
        assert kind == activity["kind"]
        getattr(importlib.import_module(f"fhir.resources.R4B.{kind.lower()}"), kind).model_validate(resource)


def test_handout_requests_point_at_the_served_handout_in_the_request_language(knowledge_base):
    handout_activities = [a["id"] for a in ARTIFACTS.values() if a["id"].startswith("give-handout-")]
    assert handout_activities
    for activity_id in handout_activities:
        handout_id = activity_id.removeprefix("give-handout-")
        assert handout_id in HANDOUT_IDS
        resource = knowledge_base.apply_activity(activity_id, subject="Patient/p1", data=[],
                                                 base_url="https://cds.example.org", language="es")
        attachment = resource["payload"][0]["contentAttachment"]
        assert attachment["url"] == f"https://cds.example.org/handouts/{handout_id}?lang=es"
        assert attachment["language"] == "es"
