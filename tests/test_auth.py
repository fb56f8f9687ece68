"""Bearer JWTs on the feedback endpoint (the same decorator guards hook calls): who gets in, who gets a 401."""

from __future__ import annotations

import base64
import json
import logging
import os
import stat
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cds_hooks.app import create_app
from cds_hooks.auth import NO_AUTH_TENANT, AuthConfigError, Authenticator
from cds_hooks.demo.dev_keys import DEV_ISSUER, load_or_create_dev_key
from cds_hooks.errors import ApiError
from cds_hooks.jwks import RemoteJwks
from cds_hooks.settings import Settings
from cds_hooks.store import Store
from support.outcomes import error_of
from support.store_auth import (
    SERVICE_ID,
    TEST_ISSUER,
    StaticServicesProvider,
    TokenMinter,
    feedback_body,
    free_port,
    issue_card,
    row_counts,
)

PATH = f"/cds-services/{SERVICE_ID}/feedback"
URL = f"http://localhost{PATH}"  # what the Flask test client calls, so what `aud` must say
SANDBOX_ISSUER = "https://sandbox.cds-hooks.org"
SANDBOX_KID = "44823f3d-0b01-4a6c-a80e-b9d3e8a7226f"
SANDBOX_JKU = "https://sandbox.cds-hooks.org/.well-known/jwks.json"


@pytest.fixture
def card(store):
    return issue_card(store)


def post(client, card, token=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.post(PATH, json=feedback_body(card), headers=headers)


def assert_refused(response, store, reason=None):
    assert response.status_code == 401, response.get_json()
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    if reason:
        assert reason in error_of(response)["message"]
    assert row_counts(store) == {"issued_cards": 1, "feedback": 0, "seen_jti": 0}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# Forged, expired, wrongly addressed and replayed tokens, tokens in the URL and missing credentials are
# the attack table in tests/security/test_jwt_attacks.py (hook calls and feedback, both databases).


@pytest.mark.parametrize("alg", ["ES384", "RS384"])
def test_valid_tokens_are_accepted(alg, feedback_client, token_minter, store, card):
    response = post(feedback_client, card, token_minter.mint(URL, alg=alg))
    assert response.status_code == 200, response.get_json()
    assert row_counts(store) == {"issued_cards": 1, "feedback": 1, "seen_jti": 1}


def test_aud_may_be_an_array_containing_the_url(feedback_client, token_minter, store, card):
    token = token_minter.mint(["https://other.example/cds-services", URL])
    assert post(feedback_client, card, token).status_code == 200


def test_iat_slightly_ahead_is_accepted_because_the_sandbox_rounds_it(feedback_client, token_minter, store, card):
    assert post(feedback_client, card, token_minter.mint(URL, iat=int(time.time()) + 1)).status_code == 200


def test_a_replayed_token_is_refused(feedback_client, token_minter, store, card):
    token = token_minter.mint(URL)
    assert post(feedback_client, card, token).status_code == 200
    replay = post(feedback_client, card, token)
    assert replay.status_code == 401
    assert "already used" in error_of(replay)["message"]
    assert row_counts(store)["feedback"] == 1


def test_database_down_fails_closed_with_503(auth_settings, token_minter, card):
    broken = auth_settings.with_overrides(database_url="sqlite:////nonexistent-directory/db.sqlite3")
    response = post(create_app(broken, providers=[StaticServicesProvider()]).test_client(), card, token_minter.mint(URL))
    assert response.status_code == 503
    assert "replay" in error_of(response)["message"]


# -- issuers ----------------------------------------------------------------------------


def test_without_an_issuers_file_the_local_dev_issuer_is_trusted(make_feedback_app, store_settings, token_minter, store):
    card = issue_card(store, tenant=DEV_ISSUER)
    client = make_feedback_app(store_settings).test_client()
    assert_refused(post(client, card, token_minter.mint(URL)), store, "untrusted issuer")

    dev_key = load_or_create_dev_key(store_settings.instance_path)
    assert post(client, card, dev_key.mint_token(URL)).status_code == 200
    key_file = store_settings.instance_path / "dev-signing-key.pem"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600


def test_the_sandbox_issuer_is_trusted_only_when_opted_in(make_feedback_app, auth_settings, token_minter, store, card, caplog):
    # We do not hold the sandbox's private key, so a token under its kid and jku gets as far as the signature.
    token = token_minter.mint(URL, iss=SANDBOX_ISSUER, kid=SANDBOX_KID, headers={"jku": SANDBOX_JKU})
    assert_refused(post(make_feedback_app(auth_settings).test_client(), card, token), store, "untrusted issuer")

    with caplog.at_level(logging.WARNING, logger="cds_hooks.auth"):
        client = make_feedback_app(auth_settings.with_overrides(trust_sandbox=True)).test_client()
    assert "SANDBOX" in caplog.text and "private" in caplog.text
    assert_refused(post(client, card, token), store, "invalid signature")
    # The test issuer stays trusted next to the sandbox.
    assert post(client, card, token_minter.mint(URL)).status_code == 200


def test_auth_off_lets_calls_in_and_warns_at_every_start(make_feedback_app, store_settings, store, caplog):
    card = issue_card(store, tenant=NO_AUTH_TENANT)
    with caplog.at_level(logging.WARNING, logger="cds_hooks.auth"):
        client = make_feedback_app(store_settings.with_overrides(auth_enabled=False)).test_client()
        make_feedback_app(store_settings.with_overrides(auth_enabled=False))
    assert caplog.text.count("AUTHENTICATION IS DISABLED") == 2
    assert post(client, card).status_code == 200


def test_tokens_and_claims_are_never_logged(feedback_client, token_minter, store, card, caplog):
    token = token_minter.mint(URL, jti="jti-that-must-not-be-logged")
    with caplog.at_level(logging.DEBUG):
        post(feedback_client, card, token)
        post(feedback_client, card, token)  # replay: refused and logged as such
    assert "refused" in caplog.text
    assert token not in caplog.text and token.split(".")[1] not in caplog.text
    assert "jti-that-must-not-be-logged" not in caplog.text


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("{not json", "not valid JSON"),
        ({"issuers": []}, "at least one issuer"),
        ({"issuers": [{"iss": "https://a"}]}, "exactly one of jwks or jwks_url"),
        ({"issuers": [{"iss": "https://a", "jwks_url": "http://keys.example/jwks"}]}, "https"),
        ({"issuers": [{"iss": "https://a", "jwks_uri": "https://keys.example/jwks"}]}, "unknown field"),
        ({"issuers": [{"iss": "https://a", "jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "h"}]}}]}, "no usable"),
    ],
)
def test_unusable_issuer_files_stop_startup_with_the_file_named(document, message, store, tmp_path):
    path = tmp_path / "issuers.json"
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    with pytest.raises(AuthConfigError, match=message) as raised:
        Authenticator.from_settings(Settings(trusted_issuers=str(path)), store)
    assert str(path) in str(raised.value)


# -- keys from URLs (jwks_url and allow-listed jku) -----------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def sqlite_settings(tmp_path) -> Settings:
    """JWKS behaviour does not depend on the database backend: one SQLite file is enough."""
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}", instance_dir=str(tmp_path / "inst"))
    store = Store.from_settings(settings)
    store.migrate()
    store.close()
    return settings


def authenticator_for(settings: Settings, minter: TokenMinter, tmp_path, **issuer_fields) -> Authenticator:
    issuers = minter.write_issuers_file(tmp_path / "issuers.json", **issuer_fields)
    return Authenticator.from_settings(settings.with_overrides(trusted_issuers=str(issuers)), Store.from_settings(settings))


def bearer(token: str) -> str:
    return f"Bearer {token}"


def test_keys_from_jwks_url_are_fetched_once_and_cached(httpserver, sqlite_settings, token_minter, tmp_path):
    httpserver.expect_request("/jwks").respond_with_json(token_minter.jwks())
    auth = authenticator_for(sqlite_settings, token_minter, tmp_path, jwks_url=httpserver.url_for("/jwks"))
    assert auth.verify(bearer(token_minter.mint(URL)), URL) == TEST_ISSUER
    assert auth.verify(bearer(token_minter.mint(URL, alg="RS384")), URL) == TEST_ISSUER
    assert len(httpserver.log) == 1


def test_cached_keys_keep_working_when_the_jwks_url_goes_down(httpserver, token_minter):
    httpserver.expect_ordered_request("/jwks").respond_with_json({"keys": [token_minter.public_jwk("ES384")]})
    httpserver.expect_ordered_request("/jwks").respond_with_data("down", status=503)
    httpserver.expect_ordered_request("/jwks").respond_with_data("down", status=503)
    clock = FakeClock()
    source = RemoteJwks(httpserver.url_for("/jwks"), cache_seconds=60, refresh_interval=30, clock=clock)
    assert source.find("test-es384") is not None
    clock.now += 61  # cache expired; the refetch fails
    assert source.find("test-es384") is not None
    clock.now += 30
    assert source.find("test-rs384") is None  # unknown kid while down: no key, and no exception
    assert len(httpserver.log) == 3


def test_jwks_url_down_from_the_start_is_a_401_not_a_crash(sqlite_settings, token_minter, tmp_path):
    auth = authenticator_for(sqlite_settings, token_minter, tmp_path, jwks_url=f"http://127.0.0.1:{free_port()}/jwks")
    with pytest.raises(ApiError) as raised:
        auth.verify(bearer(token_minter.mint(URL)), URL)
    assert (raised.value.status, raised.value.message) == (401, "unknown signing key")


def test_allow_listed_jku_supplies_keys_and_an_unlisted_one_is_never_fetched(
    httpserver, sqlite_settings, token_minter, tmp_path
):
    httpserver.expect_request("/jku").respond_with_json({"keys": [token_minter.public_jwk("RS384")]})
    httpserver.expect_request("/unlisted").respond_with_json(token_minter.jwks())
    only_es = {"keys": [token_minter.public_jwk("ES384")]}
    auth = authenticator_for(
        sqlite_settings, token_minter, tmp_path, jwks=only_es, jku_allowlist=[httpserver.url_for("/jku")]
    )
    listed = token_minter.mint(URL, alg="RS384", headers={"jku": httpserver.url_for("/jku")})
    assert auth.verify(bearer(listed), URL) == TEST_ISSUER

    unlisted = token_minter.mint(URL, alg="RS384", headers={"jku": httpserver.url_for("/unlisted")})
    with pytest.raises(ApiError) as raised:
        auth.verify(bearer(unlisted), URL)
    assert raised.value.status == 401
    assert [request.path for request, _ in httpserver.log] == ["/jku"]


def test_remote_jwks_refreshes_when_the_cache_expires(httpserver, token_minter):
    httpserver.expect_request("/jwks").respond_with_json(token_minter.jwks())
    clock = FakeClock()
    source = RemoteJwks(httpserver.url_for("/jwks"), cache_seconds=3600, clock=clock)
    assert source.find("test-es384") is not None
    clock.now += 3599
    source.find("test-es384")
    assert len(httpserver.log) == 1
    clock.now += 1
    source.find("test-es384")
    assert len(httpserver.log) == 2


def test_unknown_kids_trigger_at_most_one_refresh_per_interval(httpserver, token_minter):
    httpserver.expect_request("/jwks").respond_with_json({"keys": [token_minter.public_jwk("ES384")]})
    clock = FakeClock()
    source = RemoteJwks(httpserver.url_for("/jwks"), cache_seconds=3600, refresh_interval=30, clock=clock)
    source.find("test-es384")
    for _ in range(5):
        assert source.find("bogus-kid") is None
    assert len(httpserver.log) == 1

    # The issuer rotates in a new key; after the interval an unknown kid refetches and finds it.
    httpserver.clear_all_handlers()
    httpserver.expect_request("/jwks").respond_with_json(token_minter.jwks())
    clock.now += 30
    assert source.find("test-rs384") is not None
    assert len(httpserver.log) == 2


@pytest.mark.parametrize(
    "respond",
    [
        lambda r: r.respond_with_data("x" * (300 * 1024), content_type="application/json"),
        lambda r: r.respond_with_data("", status=302, headers={"Location": "https://evil.example/jwks"}),
        lambda r: r.respond_with_data("<html>not json</html>"),
    ],
    ids=["oversized", "redirect", "not json"],
)
def test_unusable_jwks_responses_yield_no_keys(respond, httpserver):
    respond(httpserver.expect_request("/jwks"))
    assert RemoteJwks(httpserver.url_for("/jwks"), cache_seconds=60).find("test-es384") is None


# -- garbage in, 401 out ----------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
# Mostly-valid headers and claims with some fields replaced by arbitrary JSON, so the
# generated tokens get deep into the checks before something is wrong.
header_like = st.fixed_dictionaries(
    {"alg": st.sampled_from(["ES384", "RS384"]) | json_values, "kid": st.just("test-es384") | json_values},
    optional={"typ": st.just("JWT") | json_values, "jku": json_values, "crit": json_values},
)
claims_like = st.fixed_dictionaries(
    {"iss": st.just(TEST_ISSUER) | json_values},
    optional={
        "aud": st.just(URL) | json_values,
        "exp": st.integers(min_value=-(2**70), max_value=2**70) | json_values,
        "iat": st.integers(min_value=-(2**70), max_value=2**70) | json_values,
        "jti": json_values,
    },
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(header=header_like, claims=claims_like, signature=st.binary(max_size=96))
def test_any_malformed_token_is_a_401_never_a_crash(header, claims, signature, sqlite_settings, token_minter, tmp_path):
    auth = authenticator_for(sqlite_settings, token_minter, tmp_path)
    token = ".".join(_b64(json.dumps(part).encode()) for part in (header, claims)) + "." + _b64(signature)
    with pytest.raises(ApiError) as raised:
        auth.verify(bearer(token), URL)
    assert raised.value.status == 401
