"""Fixtures for the engine tests: load artifacts from a temporary directory, or the bundled test content."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from engine_builders import write_content
from fhir_content import KnowledgeBase

TEST_CONTENT = Path(__file__).parent / "content"


@pytest.fixture
def load(tmp_path) -> Callable[..., KnowledgeBase]:
    """``load(*resources, derived_facts=())``: write the artifacts to a fresh directory and load them."""
    counter = iter(range(1000))

    def _load(*resources: dict, derived_facts=()) -> KnowledgeBase:
        directory = write_content(tmp_path / f"content{next(counter)}", *resources)
        return KnowledgeBase.load(directory, derived_facts=derived_facts)

    return _load


@pytest.fixture(scope="session")
def lipid_kb() -> KnowledgeBase:
    """The engine's own small test topic (lipid monitoring), in tests/engine/content."""
    return KnowledgeBase.load(TEST_CONTENT)
