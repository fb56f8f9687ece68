"""PostgreSQL goes away and comes back: 503s that lose nothing, and recovery without a restart.

The app reaches PostgreSQL through a local TCP proxy the test controls
(127.0.0.1:<proxy> -> the test server), in its own schema. Stopping the
proxy drops every pooled connection and refuses new ones, as a database
restart or a network cut would; starting it again on the same port brings
the database back. The counts are read over a direct connection. What the
service does meanwhile is the table in docs/reliability.md.
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy.engine import make_url

from cds_hooks.app import create_app
from cds_hooks.runtime import EXTENSION_KEY
from cds_hooks.settings import Settings
from cds_hooks.store import Store
from support import tally
from support.bodies import PATIENT, patient_view
from support.providers import GreeterProvider
from support.raw_servers import TcpProxy
from support.store_auth import create_postgres_schema, drop_postgres_schema, row_counts
from support.outcomes import error_of

HOOK_URL = "http://localhost/cds-services/greeter"
FEEDBACK_URL = f"{HOOK_URL}/feedback"


@pytest.fixture
def schema_url(postgres_base_url):
    url = create_postgres_schema(postgres_base_url)
    store = Store.from_settings(Settings(database_url=url))
    store.migrate()
    store.close()
    yield url
    drop_postgres_schema(url)


@pytest.fixture
def direct_store(schema_url, tmp_path):
    store = Store.from_settings(Settings(database_url=schema_url, instance_dir=str(tmp_path / "direct")))
    yield store
    store.close()


@pytest.fixture
def proxy(schema_url):
    url = make_url(schema_url)
    tcp_proxy = TcpProxy((url.host or "127.0.0.1", url.port or 5432))
    tcp_proxy.start()
    yield tcp_proxy
    tcp_proxy.stop()


@pytest.fixture
def through_proxy(make_app, schema_url, proxy, token_minter, tmp_path):
    """``through_proxy(auth=True)``: a greeter app whose database connections all pass through the proxy."""
    proxied = make_url(schema_url).set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    issuers = token_minter.write_issuers_file(tmp_path / "issuers.json")

    def build(auth: bool = True):
        # Suppression off: the same greeting is issued again after it was overridden, and must be shown.
        return make_app(providers=[GreeterProvider()], database_url=proxied, auth_enabled=auth,
                        trusted_issuers=str(issuers), suppression_enabled=False).test_client()

    return build


def hook_call(client, minter=None):
    headers = {"Authorization": f"Bearer {minter.mint(HOOK_URL)}"} if minter else {}
    return client.post(HOOK_URL, json=patient_view(prefetch={"patientToGreet": PATIENT}), headers=headers)


def feedback(client, card_uuids, minter=None):
    headers = {"Authorization": f"Bearer {minter.mint(FEEDBACK_URL)}"} if minter else {}
    entries = [{"card": card, "outcome": "overridden", "outcomeTimestamp": "2026-01-30T10:05:31Z",
                "overrideReason": {"userComment": "not relevant today"}} for card in card_uuids]
    return client.post(FEEDBACK_URL, json={"feedback": entries}, headers=headers)


def issued_card(client, minter) -> str:
    response = hook_call(client, minter)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["cards"][0]["uuid"]


def test_database_down_503s_lose_nothing_and_the_service_recovers_by_itself(
    through_proxy, proxy, direct_store, token_minter
):
    client, open_client = through_proxy(auth=True), through_proxy(auth=False)
    card = issued_card(client, token_minter)
    assert feedback(client, [card], token_minter).status_code == 200
    before = row_counts(direct_store)

    proxy.stop()

    health = client.get("/healthz")
    assert health.status_code == 503 and error_of(health)["code"] == "unavailable"
    refused_call = hook_call(client, token_minter)
    assert refused_call.status_code == 503 and error_of(refused_call)["code"] == "unavailable"
    refused_feedback = feedback(client, [card], token_minter)  # refused at the replay check, before the body
    assert refused_feedback.status_code == 503 and error_of(refused_feedback)["code"] == "unavailable"
    assert client.get("/cds-services").status_code == 200  # discovery needs no database
    unrecorded = hook_call(open_client)  # auth off: cards still come, unrecorded (and feedback on them is refused later)
    assert unrecorded.status_code == 200 and unrecorded.get_json()["cards"]
    unstored = feedback(open_client, [card])
    assert unstored.status_code == 503 and "send it again" in error_of(unstored)["message"]
    assert row_counts(direct_store) == before

    proxy.start()  # same port: the pooled connections are dead, the checkout check notices and reconnects

    assert client.get("/healthz").status_code == 200
    second = issued_card(client, token_minter)
    assert feedback(client, [card, second], token_minter).status_code == 200
    after = row_counts(direct_store)
    assert after["feedback"] == before["feedback"] + 2
    assert feedback(open_client, [unrecorded.get_json()["cards"][0]["uuid"]]).status_code == 400  # never recorded
    tally.count(tally.FAULTS_SURVIVED)


def test_a_database_restart_between_two_requests_is_invisible_to_the_next_caller(
    through_proxy, proxy, direct_store, token_minter
):
    """Every pooled connection died while nobody was calling: the checkout check finds out before a request uses one."""
    client = through_proxy(auth=True)
    for _ in range(3):  # a few pooled connections
        issued_card(client, token_minter)

    proxy.stop()
    proxy.start()

    assert client.get("/healthz").status_code == 200
    card = issued_card(client, token_minter)
    assert feedback(client, [card], token_minter).status_code == 200
    tally.count(tally.FAULTS_SURVIVED)


def test_a_connection_cut_before_commit_stores_none_of_the_feedback_and_a_resend_stores_it_once(
    through_proxy, proxy, direct_store, token_minter
):
    client = through_proxy(auth=True)
    cards = [issued_card(client, token_minter) for _ in range(3)]
    proxy.cut_before(b"INSERT INTO feedback", b"COMMIT")

    cut = feedback(client, cards, token_minter)

    assert proxy.cuts == 1
    assert cut.status_code == 503, cut.get_json()
    assert row_counts(direct_store)["feedback"] == 0
    resent = feedback(client, cards, token_minter)  # the client sends it again, with a new token
    assert resent.status_code == 200 and resent.get_json() == {"stored": 3}
    assert row_counts(direct_store)["feedback"] == 3
    tally.count(tally.FAULTS_SURVIVED)


def test_a_database_that_is_down_at_startup_is_reported_and_then_used_once_it_is_up(
    make_app, schema_url, proxy, token_minter, tmp_path, direct_store
):
    """A worker may start before the database: it must not need a restart once the database answers."""
    proxied = make_url(schema_url).set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    proxy.stop()

    app = create_app(Settings(database_url=proxied, instance_dir=str(tmp_path / "late"),
                              trusted_issuers=str(token_minter.write_issuers_file(tmp_path / "late-issuers.json"))),
                     providers=[GreeterProvider()])
    client = app.test_client()
    assert client.get("/healthz").status_code == 503
    assert hook_call(client, token_minter).status_code == 503

    proxy.start()

    assert client.get("/healthz").status_code == 200
    assert hook_call(client, token_minter).status_code == 200
    app.extensions[EXTENSION_KEY].store.close()
    tally.count(tally.FAULTS_SURVIVED)


def test_an_unknown_card_is_still_a_400_not_a_503(through_proxy, token_minter):
    """The control: with the database up, the errors above are about the database, not the requests."""
    client = through_proxy(auth=True)
    assert feedback(client, [str(uuid.uuid4())], token_minter).status_code == 400
