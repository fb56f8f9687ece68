"""Shared pytest fixtures. Sections are owned by the helpers named in their banners."""

from __future__ import annotations

# ============================================================================
# A1 section: the protocol layer - an app on a throw-away SQLite database with
# auth off and the test providers of tests/support/providers.py.
# ============================================================================
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest
from flask import Flask

from cds_hooks.app import create_app
from cds_content import ContentProvider
from cds_hooks.runtime import EXTENSION_KEY
from cds_hooks.settings import Settings
from support.providers import GreeterProvider


@pytest.fixture
def make_app(tmp_path) -> Iterator[Callable[..., Flask]]:
    """Build apps: ``make_app(providers=None, **settings)``; auth off and a migrated SQLite file by default."""
    apps: list[Flask] = []

    def make(providers: Sequence[ContentProvider] | None = None, **overrides) -> Flask:
        settings = Settings(
            auth_enabled=False,
            database_url=f"sqlite:///{tmp_path / f'app{len(apps)}.sqlite3'}",
            instance_dir=str(tmp_path / "instance"),
        ).with_overrides(**overrides)
        app = create_app(settings, providers=[GreeterProvider()] if providers is None else providers)
        app.extensions[EXTENSION_KEY].store.migrate()
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions[EXTENSION_KEY].store.close()


@pytest.fixture
def greeter() -> GreeterProvider:
    """The test provider; ``greeter.calls`` records what each hook call handed it."""
    return GreeterProvider()


@pytest.fixture
def client(make_app, greeter):
    """A test client of an app serving the greeter services (auth off)."""
    return make_app(providers=[greeter]).test_client()


# ============================ end of A1 section =============================

# ============================================================================
# A2 section: storage (SQLite and PostgreSQL), auth tokens, feedback app.
# Helpers live in tests/support/store_auth.py.
# ============================================================================
import os
from dataclasses import fields

from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from cds_hooks.store import Store
from support.store_auth import (
    StaticServicesProvider,
    TokenMinter,
    create_postgres_schema,
    drop_postgres_schema,
    empty_tables,
)

POSTGRES_URL_ENV = "BME_CDS_TEST_POSTGRES_URL"
REQUIRE_POSTGRES_ENV = "BME_CDS_REQUIRE_POSTGRES"
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session")
def postgres_base_url() -> str:
    """The PostgreSQL test server; skipped when not configured, a failure when CI requires it."""
    required = os.environ.get(REQUIRE_POSTGRES_ENV) == "1"
    url = os.environ.get(POSTGRES_URL_ENV)
    if not url:
        if required:
            pytest.fail(f"{REQUIRE_POSTGRES_ENV}=1 but {POSTGRES_URL_ENV} is not set")
        pytest.skip(f"{POSTGRES_URL_ENV} not set")
    engine = create_engine(url, connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError as exc:
        if required:
            pytest.fail(f"PostgreSQL at {POSTGRES_URL_ENV} is unreachable: {type(exc.orig).__name__}")
        pytest.skip("PostgreSQL unreachable")
    finally:
        engine.dispose()
    return url


def _new_database_url(backend: str, request: pytest.FixtureRequest, directory) -> str:
    if backend == "sqlite":
        return f"sqlite:///{directory / 'bme-cds.sqlite3'}"
    url = create_postgres_schema(request.getfixturevalue("postgres_base_url"))
    request.addfinalizer(lambda: drop_postgres_schema(url))
    return url


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated database per backend, shared by the session (tables are emptied per test)."""
    url = _new_database_url(request.param, request, tmp_path_factory.mktemp("db"))
    store = Store.from_settings(Settings(database_url=url))
    store.migrate()
    store.close()
    return url


@pytest.fixture(params=BACKENDS)
def fresh_database_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """An empty, unmigrated database per backend (a new SQLite file or PostgreSQL schema)."""
    return _new_database_url(request.param, request, tmp_path)


@pytest.fixture
def store_settings(database_url: str, tmp_path) -> Settings:
    """Settings for the shared test database of one backend, its tables emptied for this test."""
    settings = Settings(database_url=database_url, instance_dir=str(tmp_path / "instance"))
    cleaner = Store.from_settings(settings)
    empty_tables(cleaner)
    cleaner.close()
    return settings


@pytest.fixture
def store(store_settings: Settings):
    """A Store on an empty, migrated database (each backend in turn)."""
    store = Store.from_settings(store_settings)
    yield store
    store.close()


@pytest.fixture(scope="session")
def token_minter() -> TokenMinter:
    return TokenMinter()


@pytest.fixture
def auth_settings(store_settings: Settings, token_minter: TokenMinter, tmp_path) -> Settings:
    """Auth on, trusting only the test issuer (inline JWKS with an ES384 and an RS384 key)."""
    issuers = token_minter.write_issuers_file(tmp_path / "trusted-issuers.json")
    return store_settings.with_overrides(trusted_issuers=str(issuers))


@pytest.fixture
def make_feedback_app(make_app, store):
    """``make_app`` with exactly these settings (this backend's test database), serving the static test services."""

    def make(settings: Settings, providers: Sequence[ContentProvider] | None = None) -> Flask:
        providers = [StaticServicesProvider()] if providers is None else providers
        return make_app(providers, **{f.name: getattr(settings, f.name) for f in fields(Settings)})

    return make


@pytest.fixture
def feedback_client(make_feedback_app, auth_settings):
    """A test client of the app with auth on (test issuer trusted)."""
    return make_feedback_app(auth_settings).test_client()


# ============================ end of A2 section =============================

# ============================================================================
# E8 section: a watch on every log line of the run (no token, patient id or
# name may reach a log), and the counts of the hostile suites. Helpers live in
# tests/support/log_guard.py and tests/support/tally.py.
# ============================================================================
import logging

from support import bodies, tally
from support.log_guard import LOG_GUARD, register_secret

# A run of the hostile suites (security, faults, browser) emits thousands of log
# lines; far fewer means the guard was not attached and its "no leaks" would
# prove nothing. Judged by which suites ran, not how many tests: the engine and
# content suites alone are over a thousand tests that log little.
LOUD_SUITES = frozenset({"security", "faults", "experience"})
LOUD_SUITES_MIN_LOG_LINES = 2000
_LEAKS_KEY = pytest.StashKey[list]()

register_secret(bodies.PATIENT_ID, bodies.PATIENT["name"][0]["family"])


@pytest.fixture(scope="session", autouse=True)
def log_guard():
    """Every record of the session reaches LOG_GUARD (the root logger's handlers see all propagated records)."""
    root = logging.getLogger()
    root.addHandler(LOG_GUARD)
    yield LOG_GUARD
    root.removeHandler(LOG_GUARD)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    problems = [f"{leak.source}: {leak.what} in: {leak.line[:300]}" for leak in LOG_GUARD.leaks()]
    if _ran_loud_suites(session) and LOG_GUARD.line_count < LOUD_SUITES_MIN_LOG_LINES:
        problems.append(
            f"the log guard saw only {LOG_GUARD.line_count} log lines in {session.testscollected} tests; "
            "it is probably not attached, so its check proves nothing"
        )
    session.config.stash[_LEAKS_KEY] = problems
    if problems:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _ran_loud_suites(session: pytest.Session) -> bool:
    tests_dir = Path(__file__).resolve().parent
    suites = {item.path.relative_to(tests_dir).parts[0] for item in session.items if item.path.is_relative_to(tests_dir)}
    return LOUD_SUITES <= suites


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    problems = config.stash.get(_LEAKS_KEY, [])
    terminalreporter.section("log privacy", sep="-")
    terminalreporter.write_line(f"log lines checked: {LOG_GUARD.line_count}; leaks: {len(problems)}")
    for problem in problems:
        terminalreporter.write_line(f"LEAK {problem}", red=True)
    counted = tally.counts()
    if counted:
        terminalreporter.section("hostile suites", sep="-")
        for kind, amount in sorted(counted.items()):
            terminalreporter.write_line(f"{kind}: {amount}")


# ============================ end of E8 section =============================
