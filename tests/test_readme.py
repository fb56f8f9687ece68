"""The README is the user's manual: its promises are checked here so they cannot rot.

- the quick start gives exactly two commands, and CI runs the test one;
- every setting and every CLI command is documented;
- the curl session's example request really gives cards.
"""

from __future__ import annotations

import json
import re
from dataclasses import fields
from pathlib import Path

import pytest

from cds_hooks.cli import main
from cds_hooks.settings import ENV_PREFIX, Settings

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _quick_start_commands() -> list[str]:
    section = re.search(r"(?ims)^##\s*quick start.*?(?=^##\s)", README)
    assert section, "README has no 'Quick start' section"
    blocks = re.findall(r"```(?:bash|sh|shell|console)?\n(.*?)```", section.group(0), re.S)
    assert len(blocks) == 1, "the quick start must be one fenced shell block"
    lines = [line.strip() for line in blocks[0].splitlines()]
    return [line for line in lines if line and not line.startswith(("#", "git clone"))]


def test_quick_start_is_exactly_two_commands_and_ci_runs_the_test_one():
    commands = _quick_start_commands()
    assert commands == ["./dev serve", "./dev test"]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert re.search(r"^\s*(exec\s+)?\./dev test\b", ci, re.M), ".ci/run must call the README test command"


@pytest.mark.parametrize("name", [f.name for f in fields(Settings) if f.name != "extra"])
def test_every_setting_is_documented(name):
    assert f"{ENV_PREFIX}{name.upper()}" in README


@pytest.mark.parametrize("command", sorted(main.commands))
def test_every_cli_command_is_documented(command):
    assert f"bme-cds {command}" in README


def test_the_curl_example_request_gives_a_card(make_app):
    from plugin import provider

    body = json.loads((ROOT / "docs" / "examples" / "patient-view-request.json").read_text())
    client = make_app(providers=[provider()]).test_client()
    response = client.post("/cds-services/bme-patient-view", json=body)
    assert response.status_code == 200, response.get_json()
    summaries = [card["summary"] for card in response.get_json()["cards"]]
    assert any("bone marrow edema" in summary.lower() for summary in summaries), summaries
