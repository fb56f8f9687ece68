"""Forged, stolen and malformed bearer tokens against hook calls and feedback: each one is a 401 and stores nothing.

One table row per attack. Every row runs against both protected endpoints
(a hook call whose service would return and record a card, and feedback on
a card that was issued) on both databases, and asserts the 401, the
``WWW-Authenticate: Bearer`` header, the reason a client can act on, and that
no issued card, feedback row or ``jti`` was written. Replay goes to a second
app instance sharing the database; ``jku`` goes to a local listener that
must never be contacted.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm

from support import tally
from support.bodies import PATIENT, PATIENT_ID
from support.listeners import SilentListener
from support.providers import GreeterProvider
from support.store_auth import TEST_ISSUER, TokenMinter, feedback_body, issue_card, row_counts
from support.outcomes import error_of

SERVICE = "greeter"
HOOK_URL = f"http://localhost/cds-services/{SERVICE}"  # what the Flask test client calls, so what aud must name
FEEDBACK_URL = f"{HOOK_URL}/feedback"
OTHER_ISSUER = "https://other-ehr.example.com"
OTHER_KID = "other-es384"


@dataclass(frozen=True)
class Target:
    """Everything a row may use to build its token."""

    minter: TokenMinter
    other_issuer_key: ec.EllipticCurvePrivateKey
    url: str  # the URL called, i.e. the aud a valid token would carry
    sibling_url: str  # the other protected endpoint of the same service
    jku: str  # an unlisted key URL where a SilentListener waits


@dataclass(frozen=True)
class Attack:
    make: Callable[[Target], str]
    reason: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(aud: str, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"iss": TEST_ISSUER, "aud": aud, "iat": now, "exp": now + 300, "jti": str(uuid.uuid4()), **overrides}


def hmac_with_public_key(alg: str, encoding: str) -> Callable[[Target], str]:
    """Algorithm confusion: an HMAC "signed" with the issuer's public key (which anyone can download)."""
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384}[alg]

    def make(t: Target) -> str:
        public = t.minter.keys["ES384"].public_key()
        secret = (
            public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            if encoding == "PEM"
            else json.dumps(ECAlgorithm.to_jwk(public, as_dict=True)).encode()
        )
        header = _b64(json.dumps({"alg": alg, "typ": "JWT", "kid": "test-es384"}).encode())
        payload = _b64(json.dumps(_claims(t.url)).encode())
        signature = hmac.new(secret, f"{header}.{payload}".encode(), digest).digest()
        return f"{header}.{payload}.{_b64(signature)}"

    return make


def unsigned(t: Target) -> str:
    return jwt.encode(_claims(t.url), None, algorithm="none", headers={"kid": "test-es384"})


def unsigned_with_es384_header(t: Target) -> str:
    """A valid header and claims with the signature simply cut off."""
    header, payload, _ = t.minter.mint(t.url).split(".")
    return f"{header}.{payload}."


def another_issuers_kid(t: Target) -> str:
    """Our issuer's name, but the kid and key of the other trusted issuer."""
    return jwt.encode(_claims(t.url), t.other_issuer_key, algorithm="ES384", headers={"kid": OTHER_KID, "typ": "JWT"})


def our_kid_for_the_other_issuer(t: Target) -> str:
    """The other issuer's name with our kid: a kid is looked up only among the named issuer's keys."""
    return t.minter.mint(t.url, iss=OTHER_ISSUER)


def _now_plus(seconds: int) -> int:
    return int(time.time()) + seconds


ATTACKS: dict[str, Attack] = {
    "alg none": Attack(unsigned, "algorithm not allowed"),
    "signature stripped": Attack(unsigned_with_es384_header, "invalid"),
    "HS256 keyed with the public key PEM": Attack(hmac_with_public_key("HS256", "PEM"), "algorithm not allowed"),
    "HS384 keyed with the public key PEM": Attack(hmac_with_public_key("HS384", "PEM"), "algorithm not allowed"),
    "HS384 keyed with the public JWK": Attack(hmac_with_public_key("HS384", "JWK"), "algorithm not allowed"),
    "ES384 key not in the JWKS": Attack(
        lambda t: t.minter.mint(t.url, kid="rotated-out", key=ec.generate_private_key(ec.SECP384R1())), "unknown signing key"),
    "RS384 key not in the JWKS": Attack(
        lambda t: t.minter.mint(t.url, alg="RS384", kid="not-ours",
                                key=rsa.generate_private_key(public_exponent=65537, key_size=2048)), "unknown signing key"),
    "foreign key under a trusted kid": Attack(
        lambda t: t.minter.mint(t.url, key=ec.generate_private_key(ec.SECP384R1())), "invalid signature"),
    "kid of another trusted issuer's key": Attack(another_issuers_kid, "unknown signing key"),
    "kid of ours under the other issuer's name": Attack(our_kid_for_the_other_issuer, "unknown signing key"),
    "kid with a path": Attack(lambda t: t.minter.mint(t.url, kid="../../dev-signing-key.pem"), "unknown signing key"),
    "RS384 under the ES384 kid": Attack(lambda t: t.minter.mint(t.url, alg="RS384", kid="test-es384"), "algorithm"),
    "jku to an unlisted URL": Attack(lambda t: t.minter.mint(t.url, headers={"jku": t.jku}), "jku not allowed"),
    "jku to an unlisted URL with an unknown kid": Attack(
        lambda t: t.minter.mint(t.url, kid="only-at-jku", headers={"jku": t.jku}), "jku not allowed"),
    "untrusted iss": Attack(lambda t: t.minter.mint(t.url, iss="https://evil.example"), "untrusted issuer"),
    "aud of the other endpoint": Attack(lambda t: t.minter.mint(t.sibling_url), "aud"),
    "aud of another service": Attack(lambda t: t.minter.mint(t.url.replace(SERVICE, "order-sign-echo")), "aud"),
    "aud a prefix of the URL": Attack(lambda t: t.minter.mint(t.url[:-3]), "aud"),
    "aud the service root": Attack(lambda t: t.minter.mint("http://localhost/cds-services"), "aud"),
    "aud with a suffix": Attack(lambda t: t.minter.mint(t.url + "x"), "aud"),
    "aud with a trailing slash": Attack(lambda t: t.minter.mint(t.url + "/"), "aud"),
    "aud on another host": Attack(lambda t: t.minter.mint(t.url.replace("localhost", "evil.example")), "aud"),
    "aud list without the URL": Attack(lambda t: t.minter.mint([t.url[:-1], t.url + "/"]), "aud"),
    "expired": Attack(lambda t: t.minter.mint(t.url, iat=_now_plus(-600), exp=_now_plus(-120)), "expired"),
    "nbf in the future": Attack(lambda t: t.minter.mint(t.url, nbf=_now_plus(600)), "future"),
    "iat in the future": Attack(lambda t: t.minter.mint(t.url, iat=_now_plus(300), exp=_now_plus(600)), "future"),
    "missing jti": Attack(lambda t: t.minter.mint(t.url, drop=("jti",)), "jti"),
    "empty jti": Attack(lambda t: t.minter.mint(t.url, jti=""), "jti"),
    "jti a number": Attack(lambda t: t.minter.mint(t.url, jti=12345), "invalid token"),
    "missing exp": Attack(lambda t: t.minter.mint(t.url, drop=("exp",)), "exp"),
    "missing iat": Attack(lambda t: t.minter.mint(t.url, drop=("iat",)), "iat"),
    "lifetime of two days": Attack(lambda t: t.minter.mint(t.url, exp=_now_plus(2 * 86400)), "lifetime"),
    "typ of an access token": Attack(lambda t: t.minter.mint(t.url, headers={"typ": "at+jwt"}), "type"),
    "unknown critical header": Attack(lambda t: t.minter.mint(t.url, headers={"crit": ["x-ours"], "x-ours": 1}), "malformed token"),
    "huge token": Attack(lambda t: t.minter.mint(t.url, padding="x" * 9000), "too large"),
    "not a JWT": Attack(lambda t: "not.a.jwt", "malformed"),
}
HEADER_ATTACKS: dict[str, tuple[Callable[[str], str], str]] = {
    "no Authorization": (lambda token: "", "missing bearer token"),
    "Basic credentials": (lambda token: "Basic dXNlcjpwYXNz", "Bearer"),
    "token without the Bearer scheme": (lambda token: token, "Bearer"),
}
QUERY_PARAMETERS = ("access_token", "token")


# -- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def other_issuer_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP384R1())


@pytest.fixture
def jku_listener():
    listener = SilentListener()
    yield listener
    listener.close()


@pytest.fixture
def two_issuer_settings(store_settings, token_minter, other_issuer_key, tmp_path):
    """Auth on, trusting the test issuer and a second issuer with its own key."""
    other_jwk = {**ECAlgorithm.to_jwk(other_issuer_key.public_key(), as_dict=True), "kid": OTHER_KID, "use": "sig",
                 "alg": "ES384"}
    issuers = {"issuers": [{"iss": TEST_ISSUER, "jwks": token_minter.jwks()},
                           {"iss": OTHER_ISSUER, "jwks": {"keys": [other_jwk]}}]}
    path = tmp_path / "two-issuers.json"
    path.write_text(json.dumps(issuers))
    return store_settings.with_overrides(trusted_issuers=str(path))


@pytest.fixture
def protected(make_feedback_app, two_issuer_settings, store):
    """A client of the greeter service (auth on) and a card it issued earlier, for the feedback endpoint."""
    card = issue_card(store, service_id=SERVICE)
    return make_feedback_app(two_issuer_settings, [GreeterProvider()]).test_client(), card


def call(client, endpoint: str, card: str, authorization: str | None, query: str = ""):
    """One hook call (which would return and record a card) or one feedback post about ``card``."""
    headers = {"Authorization": authorization} if authorization else {}
    if endpoint == "hook":
        body = {"hook": "patient-view", "hookInstance": str(uuid.uuid4()),
                "context": {"userId": "Practitioner/example", "patientId": PATIENT_ID},
                "prefetch": {"patientToGreet": PATIENT}}
        return client.post(f"/cds-services/{SERVICE}{query}", json=body, headers=headers)
    return client.post(f"/cds-services/{SERVICE}/feedback{query}", json=feedback_body(card), headers=headers)


def assert_refused_and_nothing_stored(response, store, reason: str) -> None:
    assert response.status_code == 401, response.get_json()
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert reason in error_of(response)["message"]
    assert row_counts(store) == {"issued_cards": 1, "feedback": 0, "seen_jti": 0}
    tally.count(tally.ATTACKS_REFUSED)


def target_for(endpoint: str, minter: TokenMinter, other_issuer_key, listener: SilentListener) -> Target:
    url, sibling = (HOOK_URL, FEEDBACK_URL) if endpoint == "hook" else (FEEDBACK_URL, HOOK_URL)
    return Target(minter, other_issuer_key, url, sibling, f"http://{listener.authority}/jwks.json")


ENDPOINTS = ["hook", "feedback"]


# -- the table -----------------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("attack", list(ATTACKS.values()), ids=list(ATTACKS))
def test_forged_or_malformed_tokens_are_refused_and_store_nothing(
    attack, endpoint, protected, store, token_minter, other_issuer_key, jku_listener
):
    client, card = protected
    token = attack.make(target_for(endpoint, token_minter, other_issuer_key, jku_listener))

    response = call(client, endpoint, card, f"Bearer {token}")

    assert_refused_and_nothing_stored(response, store, attack.reason)
    assert jku_listener.connections == 0


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize(("header", "reason"), list(HEADER_ATTACKS.values()), ids=list(HEADER_ATTACKS))
def test_missing_or_non_bearer_credentials_are_refused(header, reason, endpoint, protected, store, token_minter):
    client, card = protected
    token = token_minter.mint(HOOK_URL if endpoint == "hook" else FEEDBACK_URL)

    assert_refused_and_nothing_stored(call(client, endpoint, card, header(token) or None), store, reason)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("parameter", QUERY_PARAMETERS)
@pytest.mark.parametrize("with_header", [False, True], ids=["query only", "query and a valid header"])
def test_a_token_in_the_query_string_is_refused(parameter, with_header, endpoint, protected, store, token_minter):
    """A token in a URL ends up in proxy and server logs, so it is refused even next to a valid header."""
    client, card = protected
    url = HOOK_URL if endpoint == "hook" else FEEDBACK_URL
    header = f"Bearer {token_minter.mint(url)}" if with_header else None

    response = call(client, endpoint, card, header, query=f"?{parameter}={token_minter.mint(url)}")

    assert_refused_and_nothing_stored(response, store, "URL")


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_a_replayed_token_is_refused_by_another_instance_on_the_same_database(
    endpoint, make_feedback_app, two_issuer_settings, store, token_minter
):
    """Two app instances (two hosts) share one database: a jti accepted by one is refused by the other."""
    card = issue_card(store, service_id=SERVICE)
    first, second = (make_feedback_app(two_issuer_settings, [GreeterProvider()]).test_client() for _ in range(2))
    token = token_minter.mint(HOOK_URL if endpoint == "hook" else FEEDBACK_URL)

    assert call(first, endpoint, card, f"Bearer {token}").status_code == 200
    stored = row_counts(store)
    replay = call(second, endpoint, card, f"Bearer {token}")

    assert replay.status_code == 401 and "already used" in error_of(replay)["message"]
    assert row_counts(store) == stored and stored["seen_jti"] == 1
    tally.count(tally.ATTACKS_REFUSED)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_the_same_setup_accepts_a_valid_token(endpoint, protected, store, token_minter, other_issuer_key):
    """The control: the refusals above are about the tokens, not a broken setup (both issuers work)."""
    client, card = protected
    url = HOOK_URL if endpoint == "hook" else FEEDBACK_URL
    ours = token_minter.mint(url)
    theirs = jwt.encode(_claims(url, iss=OTHER_ISSUER), other_issuer_key, algorithm="ES384",
                        headers={"kid": OTHER_KID, "typ": "JWT"})

    their_card = issue_card(store, service_id=SERVICE, tenant=OTHER_ISSUER)  # feedback comes from the card's own tenant

    assert call(client, endpoint, card, f"Bearer {ours}").status_code == 200
    assert call(client, endpoint, their_card, f"Bearer {theirs}").status_code == 200
    assert row_counts(store)["seen_jti"] == 2
