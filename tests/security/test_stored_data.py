"""What reaches the database: a keyed hash of the patient id, never the id, the name, a token or a raw jti.

Every column of every table is read back after authenticated hook calls and
feedback, on both databases. The hash is HMAC-SHA256 under the configured
``BME_CDS_PATIENT_HASH_KEY``; rotating the key changes the hash of new rows
while feedback on cards issued under the old key keeps working, as
docs/security-and-storage.md says.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid

from sqlalchemy import select

from cds_hooks.store.schema import Base
from support.bodies import patient_view
from support.log_guard import register_secret
from support.providers import GreeterProvider
from support.store_auth import TEST_ISSUER

PATIENT_ID = "stored-patient-3f9a71"
PATIENT_NAME = "Ottoline"
FHIR_TOKEN = "stored-fhir-token-a41c0e"
register_secret(PATIENT_ID, PATIENT_NAME, FHIR_TOKEN)
HOOK_URL = "http://localhost/cds-services/greeter"


def every_value(store) -> str:
    """All rows of all tables as one text, to search."""
    with store.engine.connect() as connection:
        return "\n".join(
            repr(tuple(row)) for table in Base.metadata.sorted_tables for row in connection.execute(select(table))
        )


def keyed_hash(key: str, patient_id: str) -> str:
    """The stored hash of a patient id sent by the test issuer's EHR (the tenant is part of it)."""
    return hmac.new(key.encode(), f"{TEST_ISSUER}\x00{patient_id}".encode(), hashlib.sha256).hexdigest()


def call_and_give_feedback(client, minter, jti: str) -> str:
    body = patient_view(
        fhirServer="https://fhir.example.org/r4",
        fhirAuthorization={"access_token": FHIR_TOKEN},
        context={"userId": "Practitioner/p", "patientId": PATIENT_ID},
        prefetch={"patientToGreet": {"resourceType": "Patient", "id": PATIENT_ID, "name": [{"given": [PATIENT_NAME]}]}},
    )
    token = minter.mint(HOOK_URL, jti=jti)
    answer = client.post(HOOK_URL, json=body, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.get_json()
    card = answer.get_json()["cards"][0]
    assert PATIENT_NAME in card["summary"]
    feedback = {"feedback": [{"card": card["uuid"], "outcome": "overridden", "outcomeTimestamp": "2026-01-30T10:05:31Z"}]}
    stored = client.post(HOOK_URL + "/feedback", json=feedback,
                         headers={"Authorization": f"Bearer {minter.mint(HOOK_URL + '/feedback')}"})
    assert stored.status_code == 200
    return card["uuid"]


def test_only_a_keyed_hash_of_the_patient_id_is_stored(make_feedback_app, auth_settings, token_minter, store):
    jti = f"stored-jti-{uuid.uuid4()}"
    client = make_feedback_app(auth_settings.with_overrides(patient_hash_key="first-key-9d2e"), [GreeterProvider()]).test_client()

    call_and_give_feedback(client, token_minter, jti)

    stored = every_value(store)
    for secret in (PATIENT_ID, PATIENT_NAME, FHIR_TOKEN, jti, "eyJ"):
        assert secret not in stored
    assert keyed_hash("first-key-9d2e", PATIENT_ID) in stored
    assert hashlib.sha256(PATIENT_ID.encode()).hexdigest() not in stored  # not a plain, reversible hash


def test_a_new_key_changes_new_hashes_and_old_cards_keep_their_feedback(make_feedback_app, auth_settings, token_minter,
                                                                         store):
    old = make_feedback_app(auth_settings.with_overrides(patient_hash_key="old-key-51b7"), [GreeterProvider()]).test_client()
    card_from_old_key = call_and_give_feedback(old, token_minter, f"jti-{uuid.uuid4()}")

    rotated = make_feedback_app(auth_settings.with_overrides(patient_hash_key="new-key-e803"), [GreeterProvider()]).test_client()
    call_and_give_feedback(rotated, token_minter, f"jti-{uuid.uuid4()}")
    late_feedback = {"feedback": [{"card": card_from_old_key, "outcome": "overridden",
                                   "outcomeTimestamp": "2026-01-31T09:00:00Z"}]}
    response = rotated.post(HOOK_URL + "/feedback", json=late_feedback,
                            headers={"Authorization": f"Bearer {token_minter.mint(HOOK_URL + '/feedback')}"})

    assert response.status_code == 200
    stored = every_value(store)
    assert keyed_hash("old-key-51b7", PATIENT_ID) in stored and keyed_hash("new-key-e803", PATIENT_ID) in stored
