"""Fixtures for the BME content tests: the real provider (engine + findings + handouts), loaded once."""

from __future__ import annotations

from typing import Any

import pytest

from cds_content import KnowledgeProvider
from fhir_content import KnowledgeBase
from plugin import provider

from .golden import cards_for
from .patients import CASES


@pytest.fixture(scope="session")
def bme_provider() -> KnowledgeProvider:
    return provider()


@pytest.fixture(scope="session")
def knowledge_base(bme_provider: KnowledgeProvider) -> KnowledgeBase:
    return bme_provider.knowledge_base


@pytest.fixture(scope="session")
def cards_by_case(knowledge_base: KnowledgeBase) -> dict[str, list[dict[str, Any]]]:
    """Every golden patient's cards, computed once for all behaviour tests."""
    return {case.id: cards_for(knowledge_base, case) for case in CASES}


@pytest.fixture
def http(make_app, bme_provider):
    """A test client of the service with the BME content, calling it at its public URL."""
    app = make_app(providers=[bme_provider], public_url="https://cds.example.org")
    app.config.update(SERVER_NAME="cds.example.org", PREFERRED_URL_SCHEME="https")  # the URL the test client calls
    return app.test_client()
