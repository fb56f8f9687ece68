"""The content boundary: providers depend on ``cds_content`` only, declare their languages, and are
selected by ``BME_CDS_CONTENT``; the service finds their knowledge through ``KnowledgeSource``."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from cds_content import HookCall, KnowledgeProvider, KnowledgeSource, ServiceDefinition
from cds_hooks.content import ContentError, load_providers
from cds_hooks.settings import Settings
from fhir_content.systems import SNOMED
from engine_builders import condition, patient

ROOT = Path(__file__).resolve().parents[2]


def test_importing_the_interface_and_its_helpers_loads_neither_flask_nor_the_service():
    code = (
        "import sys, cds_content, cds_content.handouts, cds_content.demo\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in {'flask', 'werkzeug', 'cds_hooks', 'plugin'})\n"
        "print(','.join(loaded))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert result.stdout.strip() == ""


@pytest.mark.parametrize("package", ["plugin", "examples/ckd-checkup/ckd_checkup"])
def test_content_packages_never_import_the_service(package):
    imported = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module.split(".")[0])
    assert imported, f"no imports found under {package}"
    assert "cds_hooks" not in imported and "flask" not in imported


class EchoLanguage:
    """A provider in German and French that says which language each call got."""

    languages = ("de", "fr")
    SERVICE = ServiceDefinition(id="echo-language", hook="patient-view", title="Echo", description="Says the language.")

    def services(self) -> list[ServiceDefinition]:
        return [self.SERVICE]

    def evaluate(self, call: HookCall) -> list[dict[str, Any]]:
        topic = {"system": "http://example.org/topics", "code": "language", "display": "Language"}
        return [{"uuid": str(uuid.uuid4()), "summary": f"language {call.language}", "indicator": "info",
                 "source": {"label": "Echo", "topic": topic}}]


@pytest.mark.parametrize(
    ("context", "accept_language", "expected"),
    [
        ({}, None, "de"),  # the provider's first language, not a service default
        ({}, "fr-CH, de;q=0.5", "fr"),
        ({}, "en, es", "de"),  # languages the provider does not declare are never chosen
        ({"userLanguage": "fr"}, "de", "fr"),
        ({"userLanguage": "en"}, None, "de"),
    ],
)
def test_a_call_gets_one_of_the_languages_its_provider_declares(make_app, context, accept_language, expected):
    client = make_app(providers=[EchoLanguage()]).test_client()
    headers = {"Accept-Language": accept_language} if accept_language else {}
    body = {"hook": "patient-view", "hookInstance": str(uuid.uuid4()), "context": {"userId": "Practitioner/1", "patientId": "p1", **context}}
    response = client.post("/cds-services/echo-language", json=body, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert [card["summary"] for card in response.get_json()["cards"]] == [f"language {expected}"]


class KnowledgeOnly:
    """A provider that is a KnowledgeSource without being a KnowledgeProvider: the protocol is what counts."""

    def __init__(self, kb):
        self.knowledge_base = kb
        self.languages = ("es", "en")

    def services(self) -> list[ServiceDefinition]:
        return []

    def evaluate(self, call: HookCall) -> list[dict[str, Any]]:
        return []


def test_fhir_serves_the_knowledge_of_every_knowledge_source_and_only_those(make_app, lipid_kb):
    source = KnowledgeOnly(lipid_kb)
    assert isinstance(source, KnowledgeSource) and not isinstance(EchoLanguage(), KnowledgeSource)
    client = make_app(providers=[source, EchoLanguage()]).test_client()
    bundle = client.get("/fhir/PlanDefinition").get_json()
    assert {e["resource"]["id"] for e in bundle["entry"]} == {"lipid-patient-view", "lipid-order-select"}


def test_apply_without_a_language_uses_the_first_language_the_content_declares(make_app, lipid_kb):
    client = make_app(providers=[KnowledgeProvider(lipid_kb, languages=("es", "en"))]).test_client()
    body = {"resourceType": "Parameters", "parameter": [
        {"name": "subject", "valueString": "Patient/p1"},
        {"name": "data", "resource": {"resourceType": "Bundle", "type": "collection", "entry": [
            {"resource": patient()}, {"resource": condition("c1", SNOMED, "55822004")}]}},
    ]}
    group = client.post("/fhir/PlanDefinition/lipid-patient-view/$apply", json=body).get_json()
    education = next(r for r in group["contained"] if r["resourceType"] == "CommunicationRequest")
    assert education["language"] == "es"


def test_a_provider_must_declare_a_language(lipid_kb):
    with pytest.raises(ValueError, match="at least one language"):
        KnowledgeProvider(lipid_kb, languages=())


def test_the_setting_names_the_content_packages_to_load():
    assert Settings.from_env({"BME_CDS_CONTENT": "bme, ckd-checkup"}).content == ("bme", "ckd-checkup")
    assert Settings.from_env({}).content == ()
    [bme] = load_providers(("bme",))
    assert {s.id for s in bme.services()} == {"bme-patient-view", "bme-order-select", "bme-order-sign"}


def test_a_content_package_that_is_not_installed_stops_startup(make_app):
    with pytest.raises(ContentError, match=r"no-such-topic named in BME_CDS_CONTENT are not installed \(installed: .*bme"):
        load_providers(("bme", "no-such-topic"))


def test_cli_apply_without_a_language_uses_the_packages_first_language(monkeypatch, lipid_kb, tmp_path):
    from click.testing import CliRunner

    from cds_hooks.cli import content as cli_content

    monkeypatch.setattr(cli_content, "load_providers", lambda names=(): [KnowledgeProvider(lipid_kb, languages=("es", "en"))])
    bundle = tmp_path / "bundle.json"
    bundle.write_text(json.dumps({"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": patient()}, {"resource": condition("c1", SNOMED, "55822004")}]}))
    args = ["lipid-patient-view", "--data", str(bundle), "--base-url", "https://cds.example.org"]
    default = CliRunner().invoke(cli_content.apply_command, args)
    chosen = CliRunner().invoke(cli_content.apply_command, [*args, "--language", "en"])
    assert default.exit_code == 0 and chosen.exit_code == 0, default.output + chosen.output
    assert json.loads(default.output)["cards"][0]["links"][0]["url"].endswith("?lang=es")
    assert json.loads(chosen.output)["cards"][0]["links"][0]["url"].endswith("?lang=en")


def test_validate_checks_only_the_packages_the_setting_names(monkeypatch):
    from click.testing import CliRunner

    from cds_hooks.cli import content as cli_content

    monkeypatch.setenv("BME_CDS_CONTENT", "no-such-topic")
    result = CliRunner().invoke(cli_content.validate_command, [])
    assert result.exit_code == 1
    assert "no-such-topic named in BME_CDS_CONTENT are not installed" in result.output
