"""Two EHRs (two trusted issuers) share the service and a patient id, and never see each other's state.

A tenant is a trusted issuer, plus the token's ``tenant`` claim when one is
sent. One tenant's override must not quiet the other's card for the same
patient id, and feedback is accepted only from the tenant the card was
issued to (on SQLite and PostgreSQL).
"""

from __future__ import annotations

import json

import pytest

from support.outcomes import error_of
from support import tally
from support.bodies import PATIENT, patient_view, searchset
from support.providers import GreeterProvider
from support.store_auth import TEST_ISSUER, TokenMinter

GREETER = "/cds-services/greeter"
OTHER_ISSUER = "https://other-ehr.example.com"
URL = f"http://localhost{GREETER}"
CALL = {"patientToGreet": PATIENT, "conditions": searchset(), "user": {"resourceType": "Practitioner", "id": "example"}}


@pytest.fixture
def two_ehrs(make_feedback_app, store_settings, token_minter, tmp_path):
    """The greeter with two trusted issuers; ``mint(issuer, **claims)`` signs a token of either."""
    other = TokenMinter()
    issuers = {"issuers": [{"iss": TEST_ISSUER, "jwks": token_minter.jwks()}, {"iss": OTHER_ISSUER, "jwks": other.jwks()}]}
    path = tmp_path / "two-issuers.json"
    path.write_text(json.dumps(issuers))
    client = make_feedback_app(store_settings.with_overrides(trusted_issuers=str(path)), [GreeterProvider()]).test_client()

    def mint(issuer: str, url: str = URL, **claims) -> dict:
        minter = token_minter if issuer == TEST_ISSUER else other
        return {"Authorization": f"Bearer {minter.mint(url, iss=issuer, **claims)}"}

    return client, mint


def call(client, headers) -> list[dict]:
    response = client.post(GREETER, json=patient_view(prefetch=CALL), headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["cards"]


def override(client, headers, card: dict):
    body = {"feedback": [{"card": card["uuid"], "outcome": "overridden", "outcomeTimestamp": "2026-01-30T10:05:31Z"}]}
    return client.post(f"{GREETER}/feedback", json=body, headers=headers)


def test_one_ehrs_override_does_not_quiet_another_ehrs_card_for_the_same_patient_id(two_ehrs):
    client, mint = two_ehrs
    (card,) = call(client, mint(TEST_ISSUER))
    assert override(client, mint(TEST_ISSUER, f"{URL}/feedback"), card).status_code == 200

    assert len(call(client, mint(OTHER_ISSUER))) == 1
    assert len(call(client, mint(TEST_ISSUER, tenant="second-clinic"))) == 1
    assert call(client, mint(TEST_ISSUER)) == []  # the overriding EHR's own patient stays quiet
    tally.count(tally.ATTACKS_REFUSED)


def test_feedback_is_accepted_only_from_the_tenant_the_card_was_issued_to(two_ehrs):
    client, mint = two_ehrs
    (card,) = call(client, mint(TEST_ISSUER))

    for foreign in (mint(OTHER_ISSUER, f"{URL}/feedback"), mint(TEST_ISSUER, f"{URL}/feedback", tenant="second-clinic")):
        refused = override(client, foreign, card)
        assert refused.status_code == 400 and error_of(refused)["field"] == "feedback[0].card"
        tally.count(tally.ATTACKS_REFUSED)
    assert override(client, mint(TEST_ISSUER, f"{URL}/feedback"), card).status_code == 200


@pytest.mark.parametrize("tenant", ["", "  ", 7, ["a"]])
def test_a_tenant_claim_that_is_not_a_name_is_refused(two_ehrs, tenant):
    client, mint = two_ehrs
    response = client.post(GREETER, json=patient_view(prefetch=CALL), headers=mint(TEST_ISSUER, tenant=tenant))
    assert response.status_code == 401 and "tenant" in error_of(response)["message"]
    tally.count(tally.ATTACKS_REFUSED)
