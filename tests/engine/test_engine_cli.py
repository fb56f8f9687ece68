"""``bme-cds validate`` and ``bme-cds apply`` (the engine's commands)."""

from __future__ import annotations

import json
import shutil

from click.testing import CliRunner

from cds_hooks.cli.content import apply_command, validate_command
from conftest import TEST_CONTENT
from fhir_content.systems import SNOMED
from engine_builders import condition, observation, patient
from engine_scenarios import days_ago


def test_validate_clean_content_exits_0_with_a_summary():
    result = CliRunner().invoke(validate_command, [str(TEST_CONTENT)])
    assert result.exit_code == 0, result.output
    assert "checked 9 artifacts (3 ActivityDefinition, 1 Library, 2 PlanDefinition, 3 ValueSet): 0 problem(s)" in result.output


def test_validate_broken_content_exits_1_naming_file_and_path(tmp_path):
    directory = tmp_path / "content"
    shutil.copytree(TEST_CONTENT, directory)
    plan = json.loads((directory / "plan-lipid-patient-view.json").read_text())
    plan["action"][1]["priority"] = "asap"
    (directory / "plan-lipid-patient-view.json").write_text(json.dumps(plan))
    result = CliRunner().invoke(validate_command, [str(directory)])
    assert result.exit_code == 1
    assert "plan-lipid-patient-view.json: $.action[1].priority: must be one of routine, urgent, stat" in result.output
    assert "1 problem(s)" in result.output


def write_bundle(tmp_path, *resources) -> str:
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps({"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in resources]}))
    return str(path)


def test_apply_prints_the_cards(tmp_path):
    bundle = write_bundle(
        tmp_path, patient(), condition("c1", SNOMED, "55822004"), observation("o1", "2571-8", value=640, date=days_ago(2))
    )
    args = ["lipid-patient-view", "--data", bundle, "--content", str(TEST_CONTENT), "--hook", "patient-view", "--base-url", "https://cds.example.org"]
    result = CliRunner().invoke(apply_command, args)
    assert result.exit_code == 0, result.output
    cards = json.loads(result.output)["cards"]
    assert [c["indicator"] for c in cards] == ["info", "warning"]
    assert cards[0]["links"][0]["url"] == "https://cds.example.org/handouts/blood-lipids?lang=en"
    assert cards[0]["suggestions"][0]["actions"][0]["resource"]["subject"] == {"reference": "Patient/p1"}


def test_apply_refuses_the_wrong_hook_and_unknown_plans(tmp_path):
    bundle = write_bundle(tmp_path, patient())
    wrong_hook = CliRunner().invoke(apply_command, ["lipid-patient-view", "--data", bundle, "--content", str(TEST_CONTENT), "--hook", "order-sign"])
    assert wrong_hook.exit_code == 2 and "answers patient-view, not order-sign" in wrong_hook.output
    unknown = CliRunner().invoke(apply_command, ["nope", "--data", bundle, "--content", str(TEST_CONTENT)])
    assert unknown.exit_code == 1 and "no plan 'nope'" in unknown.output


def test_apply_needs_a_patient(tmp_path):
    bundle = write_bundle(tmp_path, condition("c1", SNOMED, "55822004"))
    result = CliRunner().invoke(apply_command, ["lipid-patient-view", "--data", bundle, "--content", str(TEST_CONTENT)])
    assert result.exit_code == 2 and "no Patient with an id" in result.output


def test_validate_without_path_checks_every_registered_package(monkeypatch, lipid_kb):
    from cds_hooks.cli import content as cli_content
    from cds_content import KnowledgeProvider

    monkeypatch.setattr(cli_content, "load_providers", lambda names=(): [KnowledgeProvider(lipid_kb, languages=("en", "es"))])
    result = CliRunner().invoke(validate_command, [])
    assert result.exit_code == 0, result.output
    assert f"{TEST_CONTENT}: checked 9 artifacts" in result.output


def test_validate_without_path_reports_a_package_that_does_not_load(monkeypatch, tmp_path):
    from cds_hooks.cli import content as cli_content
    from cds_hooks.content import ContentError
    from fhir_content import ContentLoadError, Problem

    def broken(names=()):
        try:
            raise ContentLoadError([Problem("plan.json", "$.action[0].title", "required: it is the card summary")])
        except ContentLoadError as exc:
            raise ContentError("content provider 'x' failed to load") from exc

    monkeypatch.setattr(cli_content, "load_providers", broken)
    result = CliRunner().invoke(validate_command, [])
    assert result.exit_code == 1
    assert "plan.json: $.action[0].title: required: it is the card summary" in result.output
