"""A replayed hook token: a 401 before any other answer, no fetch from the EHR, nothing recorded (both databases).

A hook call claims its token's ``jti`` right after the signature check, before
its body is parsed (:mod:`cds_hooks.auth`). These tests pin down what a client
and an attacker see of that: a token works exactly once, whatever the first
call did, and a replay never gets cards, a 400, an evaluation or an outbound
request.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from support import tally
from support.bodies import PATIENT, patient_view, searchset
from support.providers import CannedProvider, GreeterProvider
from support.store_auth import row_counts
from support.outcomes import error_of

GREETER = "/cds-services/greeter"
CANNED = "/cds-services/canned"
PRACTITIONER = {"resourceType": "Practitioner", "id": "example"}
MALFORMED = {"hook": "patient-view"}  # no hookInstance, no context: a 400 for a fresh token


def complete_call() -> dict:
    """A greeter call with every prefetch key sent: nothing to fetch, so the claim goes with the cards."""
    return patient_view(prefetch={"patientToGreet": PATIENT, "conditions": searchset(), "user": PRACTITIONER})


def post(client, path: str, token: str, body: dict):
    return client.post(path, json=body, headers={"Authorization": f"Bearer {token}"})


def assert_replay_refused(response) -> None:
    assert response.status_code == 401, response.get_json()
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "already used" in error_of(response)["message"]
    tally.count(tally.ATTACKS_REFUSED)


@pytest.fixture
def greeter_app(make_feedback_app, auth_settings):
    return make_feedback_app(auth_settings, [GreeterProvider()])


def test_a_replayed_token_gets_no_cards_and_records_nothing(greeter_app, store, token_minter):
    client, token = greeter_app.test_client(), token_minter.mint(f"http://localhost{GREETER}")
    first = post(client, GREETER, token, complete_call())
    assert first.status_code == 200 and len(first.get_json()["cards"]) == 1

    assert_replay_refused(post(client, GREETER, token, complete_call()))
    assert row_counts(store) == {"issued_cards": 1, "feedback": 0, "seen_jti": 1}


def test_a_replayed_token_with_a_malformed_body_gets_401_not_400(greeter_app, store, token_minter):
    client, token = greeter_app.test_client(), token_minter.mint(f"http://localhost{GREETER}")
    assert post(client, GREETER, token, complete_call()).status_code == 200

    assert_replay_refused(post(client, GREETER, token, MALFORMED))


def test_a_token_whose_call_failed_is_used_up(greeter_app, store, token_minter):
    client, token = greeter_app.test_client(), token_minter.mint(f"http://localhost{GREETER}")
    failed = post(client, GREETER, token, MALFORMED)
    assert failed.status_code == 400 and error_of(failed)["code"] == "bad-request"

    assert_replay_refused(post(client, GREETER, token, complete_call()))
    assert row_counts(store) == {"issued_cards": 0, "feedback": 0, "seen_jti": 1}


def test_a_token_whose_call_had_no_cards_is_used_up(make_feedback_app, auth_settings, store, token_minter):
    client = make_feedback_app(auth_settings, [CannedProvider([])]).test_client()
    token = token_minter.mint(f"http://localhost{CANNED}")
    first = post(client, CANNED, token, patient_view())
    assert first.status_code == 200 and first.get_json() == {"cards": []}

    assert_replay_refused(post(client, CANNED, token, patient_view()))
    assert row_counts(store) == {"issued_cards": 0, "feedback": 0, "seen_jti": 1}


def test_a_replayed_token_fetches_nothing_from_the_ehr(make_feedback_app, auth_settings, httpserver, store, token_minter):
    fhir_base = httpserver.url_for("/fhir")
    httpserver.expect_request("/fhir/Condition").respond_with_json(searchset())
    httpserver.expect_request("/fhir/Practitioner/example").respond_with_json(PRACTITIONER)
    client = make_feedback_app(auth_settings.with_overrides(fhir_allowlist=(fhir_base,)), [GreeterProvider()]).test_client()
    token = token_minter.mint(f"http://localhost{GREETER}")
    fetching = patient_view(fhirServer=fhir_base, fhirAuthorization={"access_token": "ehr-access-token",
                            "token_type": "Bearer", "expires_in": 300, "scope": "user/*.read", "subject": "bme-cds"})
    assert post(client, GREETER, token, fetching).status_code == 200
    assert len(httpserver.log) == 2  # the conditions and the user were fetched for the first use

    assert_replay_refused(post(client, GREETER, token, fetching))
    assert len(httpserver.log) == 2
    assert row_counts(store) == {"issued_cards": 1, "feedback": 0, "seen_jti": 1}


def test_of_concurrent_calls_with_one_token_exactly_one_gets_cards(greeter_app, store, token_minter):
    token = token_minter.mint(f"http://localhost{GREETER}")
    calls = 8
    start = threading.Barrier(calls)

    def call(_: int) -> int:
        client = greeter_app.test_client()
        start.wait()
        return post(client, GREETER, token, complete_call()).status_code

    with ThreadPoolExecutor(max_workers=calls) as pool:
        statuses = list(pool.map(call, range(calls)))

    assert sorted(statuses) == [200] + [401] * (calls - 1)
    assert row_counts(store) == {"issued_cards": 1, "feedback": 0, "seen_jti": 1}
    tally.count(tally.ATTACKS_REFUSED)



def test_a_replayed_token_is_refused_before_its_body_is_evaluated(make_feedback_app, auth_settings, store, token_minter):
    provider = GreeterProvider()
    client = make_feedback_app(auth_settings, [provider]).test_client()
    token = token_minter.mint(f"http://localhost{GREETER}")
    assert post(client, GREETER, token, complete_call()).status_code == 200

    assert_replay_refused(post(client, GREETER, token, complete_call()))
    assert len(provider.calls) == 1
