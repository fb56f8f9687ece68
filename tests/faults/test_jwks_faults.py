"""The issuer's JWKS endpoint fails: keys already fetched keep working, unknown keys are a 401, never a 500 or a hang.

The app trusts the test issuer through ``jwks_url`` (a local stub), calls
go through the whole app (hook call with a card, feedback), and the JWKS
endpoint goes down, hangs or trickles. The refetch schedule is the one in
docs/security-and-storage.md: keys expire after ``BME_CDS_JWKS_CACHE_SECONDS``
but are replaced only by a successful fetch; an unknown ``kid`` triggers at
most one refetch per 30 seconds.
"""

from __future__ import annotations

import time

import pytest

from cds_hooks import jwks
from support import tally
from support.bodies import PATIENT, patient_view
from support.providers import GreeterProvider
from support.raw_servers import RawServer, never_answers, trickles
from support.store_auth import TokenMinter, free_port, row_counts
from support.outcomes import error_of

HOOK_URL = "http://localhost/cds-services/greeter"


@pytest.fixture
def quick_jwks_fetch(monkeypatch):
    """Shorter fetch limits, so a hanging or trickling JWKS endpoint costs the test a second, not ten."""
    monkeypatch.setattr(jwks, "FETCH_TIMEOUT_SECONDS", (0.5, 0.5))
    monkeypatch.setattr(jwks, "MAX_FETCH_SECONDS", 1.0)


def app_trusting(make_feedback_app, store_settings, token_minter: TokenMinter, tmp_path, jwks_url: str, **settings):
    issuers = token_minter.write_issuers_file(tmp_path / "issuers.json", jwks_url=jwks_url)
    return make_feedback_app(store_settings.with_overrides(trusted_issuers=str(issuers), **settings), [GreeterProvider()])


def hook_call(client, token: str):
    return client.post(HOOK_URL, json=patient_view(prefetch={"patientToGreet": PATIENT}),
                       headers={"Authorization": f"Bearer {token}"})


def test_known_keys_keep_working_after_the_jwks_endpoint_goes_down(make_feedback_app, store_settings, token_minter,
                                                                   tmp_path, httpserver, store):
    only_es384 = {"keys": [token_minter.public_jwk("ES384")]}  # the RS384 key is not published
    httpserver.expect_request("/jwks").respond_with_json(only_es384)
    client = app_trusting(make_feedback_app, store_settings, token_minter, tmp_path, httpserver.url_for("/jwks"),
                          jwks_cache_seconds=1).test_client()
    assert hook_call(client, token_minter.mint(HOOK_URL)).status_code == 200

    httpserver.clear_all_handlers()
    httpserver.expect_request("/jwks").respond_with_data("down for maintenance", status=503)
    time.sleep(1.1)  # the cached keys have expired; only a successful fetch may replace them

    for _ in range(3):
        assert hook_call(client, token_minter.mint(HOOK_URL)).status_code == 200
    unknown = hook_call(client, token_minter.mint(HOOK_URL, alg="RS384"))
    assert unknown.status_code == 401 and error_of(unknown)["message"] == "unknown signing key"
    assert row_counts(store)["seen_jti"] == 4  # the four accepted calls; the refused one left nothing
    tally.count(tally.FAULTS_SURVIVED)


@pytest.mark.parametrize("behaviour", ["connection refused", "503", "never answers", "trickles", "not JSON", "no keys"])
def test_a_jwks_endpoint_that_fails_from_the_start_gives_401_quickly(
    behaviour, quick_jwks_fetch, make_feedback_app, store_settings, token_minter, tmp_path, httpserver, store
):
    raw = {"never answers": never_answers, "trickles": trickles}.get(behaviour)
    server = RawServer(raw) if raw else None
    if behaviour == "connection refused":
        url = f"http://127.0.0.1:{free_port()}/jwks"
    elif server:
        url = server.url + "/jwks"
    else:
        stub = httpserver.expect_request("/jwks")
        {"503": lambda: stub.respond_with_data("", status=503),
         "not JSON": lambda: stub.respond_with_data("<html>login</html>", content_type="text/html"),
         "no keys": lambda: stub.respond_with_json({"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "test-es384"}]})}[behaviour]()
        url = httpserver.url_for("/jwks")
    try:
        client = app_trusting(make_feedback_app, store_settings, token_minter, tmp_path, url).test_client()
        started = time.monotonic()
        response = hook_call(client, token_minter.mint(HOOK_URL))
        elapsed = time.monotonic() - started
        # The next call within the refresh interval does not try again: no second wait.
        again = hook_call(client, token_minter.mint(HOOK_URL))
    finally:
        if server:
            server.close()

    assert response.status_code == 401 and error_of(response)["message"] == "unknown signing key"
    assert again.status_code == 401
    assert elapsed < 5.0, f"answered after {elapsed:.1f} s"
    assert row_counts(store) == {"issued_cards": 0, "feedback": 0, "seen_jti": 0}
    if server:
        assert server.connections == 1
    tally.count(tally.FAULTS_SURVIVED)
