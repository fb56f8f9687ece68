"""What only PostgreSQL deployments do: several hosts on one database, and CI that insists on it.

Every store, auth, feedback and CLI test also runs on PostgreSQL through the
parametrised database fixtures in conftest.py; these are the extra cases.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.pool import NullPool

from cds_hooks.settings import Settings
from cds_hooks.store import JtiClaim, Store
from support.store_auth import create_postgres_schema, drop_postgres_schema

pytestmark = pytest.mark.postgres
TESTS_DIR = Path(__file__).parent


@pytest.fixture
def fresh_postgres_url(postgres_base_url):
    url = create_postgres_schema(postgres_base_url)
    yield url
    drop_postgres_schema(url)


def test_hosts_starting_together_migrate_once_without_errors(fresh_postgres_url, tmp_path):
    hosts = [Store.from_settings(Settings(database_url=fresh_postgres_url, instance_dir=str(tmp_path))) for _ in range(4)]
    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(Store.migrate, hosts))  # raises if any migration failed
        engine = create_engine(fresh_postgres_url)
        assert {"issued_cards", "feedback", "seen_jti"} <= set(inspect(engine).get_table_names())
        engine.dispose()
    finally:
        for host in hosts:
            host.close()


def _run_a_database_test(**env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("BME_CDS_")}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "postgres",
         str(TESTS_DIR / "test_store.py") + "::test_ping_reports_a_reachable_database"],
        cwd=TESTS_DIR.parent, env=environment, capture_output=True, text=True, timeout=120,
    )


def test_ci_fails_rather_than_skips_when_postgres_is_unreachable(postgres_base_url):
    unreachable = "postgresql+psycopg://postgres@127.0.0.1:1/test"
    required = _run_a_database_test(BME_CDS_TEST_POSTGRES_URL=unreachable, BME_CDS_REQUIRE_POSTGRES="1")
    assert required.returncode == 1, required.stdout
    assert "unreachable" in required.stdout

    optional = _run_a_database_test(BME_CDS_TEST_POSTGRES_URL=unreachable)
    assert optional.returncode == 0, optional.stdout
    assert "1 skipped" in optional.stdout


def test_a_healthy_pooled_connection_is_reused_and_a_closed_one_is_replaced(fresh_postgres_url):
    """The checkout liveness check (cds_hooks/store/engine.py) must not reconnect on every call, nor hand out a dead connection."""
    from cds_hooks.store.engine import create_store_engine

    engine = create_store_engine(fresh_postgres_url)
    try:
        backend_pid = text("SELECT pg_backend_pid()")
        with engine.connect() as connection:
            first = connection.execute(backend_pid).scalar_one()
        with engine.connect() as connection:
            assert connection.execute(backend_pid).scalar_one() == first  # reused: no reconnect per checkout
        terminate_backend(fresh_postgres_url, first)
        with engine.connect() as connection:
            assert connection.execute(backend_pid).scalar_one() != first  # the killed one was not handed out
    finally:
        engine.dispose()


def terminate_backend(url: str, pid: int) -> None:
    """Kill one server process, as a restart or an idle timeout would, and wait until its socket is closed."""
    outsider = create_engine(url, poolclass=NullPool)
    with outsider.connect() as other:
        other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        # pg_terminate_backend only signals: wait until the backend has left pg_stat_activity (a fresh
        # snapshot each time, hence the commit), then a moment for its process to exit and close the socket.
        assert wait_until_gone(other, pid)
    time.sleep(0.2)
    outsider.dispose()


def wait_until_gone(connection, pid: int, seconds: float = 10) -> bool:
    alive = text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid")
    deadline = time.monotonic() + seconds
    while connection.execute(alive, {"pid": pid}).scalar_one():
        if time.monotonic() > deadline:
            return False
        connection.commit()
        time.sleep(0.01)
    return True


# -- a hook call's statements run on the engine's pool, whose checkout notices a dropped connection --


@pytest.fixture
def migrated_store(fresh_postgres_url, tmp_path):
    store = Store.from_settings(Settings(database_url=fresh_postgres_url, instance_dir=str(tmp_path)))
    store.migrate()
    yield store
    store.close()


def claim(store: Store) -> bool:
    return store.claim_jti(JtiClaim("https://ehr.example.org", os.urandom(8).hex(), datetime.now(UTC) + timedelta(minutes=5)))


def test_a_claim_after_the_server_dropped_the_pooled_connection_succeeds(migrated_store, fresh_postgres_url):
    assert claim(migrated_store)
    with migrated_store.engine.connect() as connection:  # the one pooled connection the claim used
        backend = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()

    terminate_backend(fresh_postgres_url, backend)

    assert claim(migrated_store)  # not a 503: the dropped connection is noticed before the statement
