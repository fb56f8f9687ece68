"""Smaller edges of token and prefetch handling: every one gets the service's documented answer.

A token larger than gunicorn's default header limit gets the JSON 401, a
token in the query string is refused whatever the letter case, times sent as
strings and claims named twice are refused, and a prefetch value of another
resource type than its template gives is a 412 naming the key.
"""

from __future__ import annotations

import json
import time
import uuid

import jwt
import pytest
import requests

from support.outcomes import error_of
from support import tally
from support.bodies import PATIENT, patient_view, searchset
from support.gunicorn import running_server
from support.providers import GreeterProvider
from support.store_auth import SERVICE_ID, TEST_ISSUER

GREETER = "/cds-services/greeter"
URL = f"http://localhost{GREETER}"
CALL = {"patientToGreet": PATIENT, "conditions": searchset(), "user": {"resourceType": "Practitioner", "id": "example"}}


@pytest.fixture
def client(make_feedback_app, auth_settings):
    return make_feedback_app(auth_settings, [GreeterProvider()]).test_client()


def call(client, token: str, query: str = "", prefetch: dict = CALL):
    return client.post(GREETER + query, json=patient_view(prefetch=prefetch), headers={"Authorization": f"Bearer {token}"})


def assert_refused(response, reason: str) -> None:
    assert response.status_code == 401, response.get_json()
    assert reason in error_of(response)["message"]
    tally.count(tally.ATTACKS_REFUSED)


@pytest.mark.parametrize("query", ["?ACCESS_TOKEN=x", "?Access_Token=x", "?TOKEN=x"])
def test_a_token_in_the_query_string_is_refused_in_any_letter_case(client, token_minter, query):
    assert_refused(call(client, token_minter.mint(URL), query), "tokens in the URL are refused")


@pytest.mark.parametrize("claim", ["exp", "iat"])
def test_a_time_claim_sent_as_a_numeric_string_is_refused(client, token_minter, claim):
    now = int(time.time())
    value = str(now + 300 if claim == "exp" else now)
    assert_refused(call(client, token_minter.mint(URL, **{claim: value})), f"{claim} must be a number")


def test_a_claim_named_twice_is_refused(client, token_minter):
    now = int(time.time())
    claims = json.dumps({"iss": TEST_ISSUER, "aud": URL, "iat": now, "exp": now + 300, "jti": str(uuid.uuid4())})
    payload = claims[:-1] + f', "aud": "https://elsewhere.example/cds-services/greeter", "jti": "{uuid.uuid4()}"}}'
    token = jwt.api_jws.PyJWS().encode(payload.encode(), token_minter.keys["ES384"], algorithm="ES384",
                                       headers={"kid": token_minter.kids["ES384"], "typ": "JWT"})
    assert_refused(call(client, token), "duplicate names")


def test_a_prefetch_value_of_another_type_than_its_template_gives_is_a_412_for_that_key(client, token_minter):
    wrong = {**CALL, "patientToGreet": {"resourceType": "Observation", "status": "final", "code": {"text": "x"}}}
    response = call(client, token_minter.mint(URL), prefetch=wrong)
    assert response.status_code == 412
    assert error_of(response)["field"] == "prefetch.patientToGreet"
    assert "sent a Observation where its template gives a Patient" in error_of(response)["message"]


def test_an_optional_prefetch_value_of_another_type_is_left_out(make_feedback_app, auth_settings, token_minter):
    greeter = GreeterProvider()
    client = make_feedback_app(auth_settings, [greeter]).test_client()
    response = call(client, token_minter.mint(URL), prefetch={**CALL, "conditions": PATIENT})
    assert response.status_code == 200
    assert "conditions" not in greeter.calls[-1].prefetch


@pytest.mark.parametrize("size", [9_000, 20_000])
def test_a_token_over_the_default_header_limit_gets_the_json_401_through_gunicorn(tmp_path, size):
    with running_server(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite3'}") as (base_url, _, _):
        response = requests.get(f"{base_url}/cds-services", timeout=10)
        assert response.status_code == 200
        hook = requests.post(f"{base_url}/cds-services/{SERVICE_ID}", json={},
                             headers={"Authorization": "Bearer " + "x" * size}, timeout=10)
    assert hook.status_code == 401 and hook.headers["Content-Type"] == "application/json"
    assert error_of(hook)["message"] == "token too large"
    tally.count(tally.ATTACKS_REFUSED)
