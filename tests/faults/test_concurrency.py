"""Several workers at once: ``bme-cds serve`` with two gunicorn workers, on SQLite and on PostgreSQL.

1,000 feedback posts from 20 threads, each with its own token, must give
exactly 1,000 feedback rows and 1,000 ``jti`` rows: no lost write, no
"database is locked" (SQLite runs in WAL with a busy timeout and takes the
write lock up front), nothing alarming in the server's log. The same server
holds a chunked body to the size limit and keeps answering while slow
clients sit on half-sent bodies.
"""

from __future__ import annotations

import socket
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from cds_hooks.settings import Settings
from cds_hooks.store import Store
from support import tally
from support.gunicorn import running_server
from support.outcomes import error_of
from support.store_auth import SERVICE_ID, TEST_ISSUER, create_postgres_schema, drop_postgres_schema, feedback_body, row_counts

POSTS = 1000
THREADS = 20
BODY_LIMIT = 64 * 1024
PATH = f"/cds-services/{SERVICE_ID}/feedback"
ALARMING = ("database is locked", "Traceback", " ERROR ", "CRITICAL", "WORKER TIMEOUT")


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def server(request, tmp_path_factory, token_minter):
    """``bme-cds serve --workers 2`` (test services, auth on) on a fresh database; yields (base URL, store, stderr)."""
    directory = tmp_path_factory.mktemp(f"gunicorn-{request.param}")
    if request.param == "sqlite":
        database_url = f"sqlite:///{directory / 'db.sqlite3'}"
    else:
        database_url = create_postgres_schema(request.getfixturevalue("postgres_base_url"))
        request.addfinalizer(lambda: drop_postgres_schema(database_url))
    env = {
        "BME_CDS_TRUSTED_ISSUERS": str(token_minter.write_issuers_file(directory / "issuers.json")),
        "BME_CDS_MAX_BODY_BYTES": str(BODY_LIMIT),
    }
    with running_server(directory, database_url, "--workers", "2", env=env) as (base_url, _, stderr):
        store = Store.from_settings(Settings(database_url=database_url, instance_dir=str(directory / "direct")))
        try:
            yield base_url, store, stderr
        finally:
            store.close()


def issue_cards(store: Store, count: int) -> list[str]:
    """Record ``count`` cards in one transaction, as if hook calls had returned them."""
    cards = [{"uuid": str(uuid.uuid4()), "summary": "Card", "indicator": "info",
              "source": {"label": "Test", "topic": {"system": "http://example.org/topics", "code": "load"}}}
             for _ in range(count)]
    store.record_issued_cards(service_id=SERVICE_ID, tenant=TEST_ISSUER, hook_instance=str(uuid.uuid4()), patient_id="load-test-patient",
                              cards=cards)
    return [card["uuid"] for card in cards]


def test_a_thousand_concurrent_feedback_posts_are_all_stored_exactly_once(server, token_minter):
    base_url, store, stderr = server
    cards = issue_cards(store, POSTS)
    before = row_counts(store)
    url = base_url + PATH

    def post(card: str) -> int:
        headers = {"Authorization": f"Bearer {token_minter.mint(url)}"}
        return requests.post(url, json=feedback_body(card), headers=headers, timeout=60).status_code

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        statuses = list(pool.map(post, cards))

    assert statuses.count(200) == POSTS, {status: statuses.count(status) for status in set(statuses)}
    after = row_counts(store)
    assert after["feedback"] - before["feedback"] == POSTS
    assert after["seen_jti"] - before["seen_jti"] == POSTS
    log = stderr.read_text()
    assert not [word for word in ALARMING if word in log], log[-3000:]


def test_a_chunked_body_over_the_limit_is_413_from_gunicorn(server, token_minter):
    """A body's size is known only as it is read, after the token (a token-less call gets its 401 first)."""
    base_url, _, _ = server
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token_minter.mint(base_url + PATH)}"}

    def chunks():
        for _ in range(4 * BODY_LIMIT // 1024):
            yield b" " * 1024

    response = requests.post(base_url + PATH, data=chunks(), headers=headers, timeout=30)

    assert response.status_code == 413 and error_of(response)["code"] == "content-too-large"
    tally.count(tally.FAULTS_SURVIVED)


def test_slow_clients_on_half_sent_bodies_do_not_stop_other_calls(server, token_minter):
    """Three connections that promise a body and stall hold three threads of eight; the others keep serving."""
    base_url, store, _ = server
    host, port = base_url.removeprefix("http://").split(":")
    stalled = []
    try:
        for _ in range(3):
            sock = socket.create_connection((host, int(port)))
            sock.sendall(f"POST {PATH} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
                         f"Content-Length: 1000\r\n\r\n{{\"feedback\": ".encode())
            stalled.append(sock)
        cards = issue_cards(store, 20)
        url = base_url + PATH
        for card in cards:
            headers = {"Authorization": f"Bearer {token_minter.mint(url)}"}
            assert requests.post(url, json=feedback_body(card), headers=headers, timeout=10).status_code == 200
    finally:
        for sock in stalled:
            sock.close()
    assert requests.get(base_url + "/healthz", timeout=10).status_code == 200
    tally.count(tally.FAULTS_SURVIVED)
