"""The example package's own fixtures: its provider, loaded once as the service would load it."""

from __future__ import annotations

import pytest

from cds_content import KnowledgeProvider
from ckd_checkup import provider


@pytest.fixture(scope="session")
def ckd() -> KnowledgeProvider:
    return provider()
