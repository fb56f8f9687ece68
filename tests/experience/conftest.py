"""Fixtures for the experience tests: the real BME provider, loaded once, and apps built around it."""

from __future__ import annotations

import pytest

from cds_hooks.demo.data import DemoPatientRecord, collect
from cds_content import KnowledgeProvider
from plugin import provider


@pytest.fixture(scope="session")
def bme() -> KnowledgeProvider:
    return provider()


@pytest.fixture(scope="session")
def demo_patients(bme: KnowledgeProvider) -> list[DemoPatientRecord]:
    return collect([bme])


@pytest.fixture
def cli_runner(tmp_path):
    """Run ``bme-cds`` in-process: ``cli_runner(args, **env)`` (env names without the BME_CDS_ prefix)."""
    from click.testing import CliRunner

    from cds_hooks.cli import main

    def run(args: list[str], **env: str):
        environment = {"BME_CDS_INSTANCE_DIR": str(tmp_path / "instance"), **{f"BME_CDS_{k.upper()}": v for k, v in env.items()}}
        return CliRunner().invoke(main, args, env=environment, catch_exceptions=False)

    return run


@pytest.fixture
def demo_app(make_app, bme):
    """``demo_app(**settings)``: the BME service in demo mode (auth off unless overridden) on a fresh SQLite file."""

    def make(**overrides):
        return make_app(providers=[bme], **{"demo": True, **overrides})

    return make


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def browser():
    """Debian's chromium driven by Playwright. Missing chromium fails in CI, and skips loudly elsewhere."""
    import os
    import warnings
    from pathlib import Path

    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} not found: the browser tests need Debian's chromium (`./dev test` installs it)"
        if os.environ.get("CI") or os.environ.get("BME_CDS_REQUIRE_POSTGRES") == "1":
            pytest.fail(message)
        warnings.warn(f"SKIPPING BROWSER TESTS - {message}", stacklevel=1)
        pytest.skip(f"SKIPPING BROWSER TESTS - {message}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()
