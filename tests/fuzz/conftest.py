"""Fixtures for the fuzz suites: the service with its installed BME content, built once per session.

Fuzzing the real content matters: the engine evaluates every generated
prefetch, so a malformed resource that crashes a FHIRPath expression shows up
here as a 500. The content is loaded once and shared by the apps (auth off for
coverage, auth on for the 401 checks). No FHIR allow-list is set, so no
generated ``fhirServer`` is ever contacted.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pytest
from flask import Flask

from cds_hooks.app import create_app
from cds_content import ContentProvider
from cds_hooks.content import load_providers
from cds_hooks.runtime import EXTENSION_KEY
from cds_hooks.settings import Settings
from support.store_auth import TokenMinter


@pytest.fixture(scope="session")
def bme_providers() -> Sequence[ContentProvider]:
    """The installed content providers, exactly as ``bme-cds serve`` loads them."""
    return load_providers()


def _migrated_app(settings: Settings, providers: Sequence[ContentProvider]) -> Flask:
    app = create_app(settings, providers=providers)
    app.extensions[EXTENSION_KEY].store.migrate()
    return app


@pytest.fixture(scope="session")
def bme_app(bme_providers, tmp_path_factory) -> Iterator[Flask]:
    """The service with auth off (so fuzzed bodies reach the parser, prefetch and content engine)."""
    directory = tmp_path_factory.mktemp("fuzz-open")
    settings = Settings(
        auth_enabled=False, database_url=f"sqlite:///{directory / 'db.sqlite3'}", instance_dir=str(directory / "instance")
    )
    app = _migrated_app(settings, bme_providers)
    yield app
    app.extensions[EXTENSION_KEY].store.close()


@pytest.fixture(scope="session")
def bme_app_with_auth(bme_providers, tmp_path_factory, token_minter: TokenMinter) -> Iterator[Flask]:
    """The service with auth on, trusting the test issuer."""
    directory = tmp_path_factory.mktemp("fuzz-auth")
    settings = Settings(
        database_url=f"sqlite:///{directory / 'db.sqlite3'}",
        instance_dir=str(directory / "instance"),
        trusted_issuers=str(token_minter.write_issuers_file(directory / "issuers.json")),
    )
    app = _migrated_app(settings, bme_providers)
    yield app
    app.extensions[EXTENSION_KEY].store.close()


@pytest.fixture(autouse=True)
def _schemathesis_node_id(request: pytest.FixtureRequest) -> None:
    """schemathesis 4's lazy pytest loader renames ``request.node._nodeid``, which pytest 9 no longer sets."""
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid
