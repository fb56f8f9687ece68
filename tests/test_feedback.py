"""``POST /cds-services/{id}/feedback`` as an EHR (or the sandbox) uses it, on SQLite and PostgreSQL."""

from __future__ import annotations

import copy
import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from cds_hooks.app import create_app
from cds_hooks.store.schema import Feedback, IssuedCard
from support.outcomes import error_of
from support.providers import CannedProvider
from support.store_auth import (
    OTHER_SERVICE_ID,
    SERVICE_ID,
    StaticServicesProvider,
    feedback_body,
    issue_card,
    row_counts,
    serving,
)

PATH = f"/cds-services/{SERVICE_ID}/feedback"
URL = f"http://localhost{PATH}"
SPEC_EXAMPLES = Path(__file__).parent / "fixtures" / "cds-hooks"


@pytest.fixture
def send(feedback_client, token_minter):
    """POST a body to the test service's feedback endpoint with a fresh valid token."""

    def send(body, path: str = PATH):
        token = token_minter.mint(f"http://localhost{path}")
        return feedback_client.post(path, json=body, headers={"Authorization": f"Bearer {token}"})

    return send


def stored_feedback(store) -> list:
    with store.engine.connect() as connection:
        return connection.execute(
            select(IssuedCard.card_uuid, Feedback.__table__).join(IssuedCard, Feedback.issued_card_id == IssuedCard.id)
        ).all()


def spec_example(name: str, card: str, suggestion: str | None = None) -> dict:
    """A feedback example from the spec with its card (and suggestion) uuid replaced by ones we issued."""
    body = copy.deepcopy(json.loads((SPEC_EXAMPLES / name).read_text()))
    entry = body["feedback"][0]
    entry["card"] = card
    if suggestion:
        entry["acceptedSuggestions"][0]["id"] = suggestion
    return body


def test_accepted_feedback_is_stored(send, store):
    card = issue_card(store, suggestions=("sugg-1", "sugg-2"))
    response = send(spec_example("10-feedback-accepted.json", card, "sugg-2"))
    assert response.status_code == 200
    assert response.get_json() == {"stored": 1}
    [row] = stored_feedback(store)
    assert (row.card_uuid, row.outcome, row.accepted_suggestions) == (card, "accepted", ["sugg-2"])
    assert row.outcome_timestamp.isoformat() == "2021-12-11T10:05:31+00:00"


def test_overridden_feedback_without_a_reason_is_stored(send, store):
    card = issue_card(store)
    assert send(spec_example("11-feedback-overridden.json", card)).status_code == 200
    [row] = stored_feedback(store)
    assert (row.outcome, row.override_reason_code, row.user_comment) == ("overridden", None, None)


def test_sandbox_style_override_reason_without_display_is_accepted(send, store):
    card = issue_card(store)
    assert send(spec_example("12-feedback-overridden-with-reason.json", card)).status_code == 200
    [row] = stored_feedback(store)
    assert (row.override_reason_system, row.override_reason_code) == (
        "https://example.com/cds-hooks/override-reason-system",
        "d7ecf885",
    )
    assert row.override_reason_display is None
    assert row.user_comment == "A comment entered by the clinician."


def test_standard_and_project_override_reasons_are_both_stored(send, store):
    reasons = [
        {"system": "http://terminology.hl7.org/CodeSystem/non-adherence-reason-codes", "code": "risk-benefit-ratio"},
        {"system": "http://bme-cds.org/fhir/CodeSystem/override-reason", "code": "short-course",
         "display": "Short course at the lowest dose"},
    ]
    cards = [issue_card(store) for _ in reasons]
    body = {"feedback": [
        {"card": card, "outcome": "overridden", "overrideReason": {"reason": reason}, "outcomeTimestamp": "2026-01-05T10:00:00Z"}
        for card, reason in zip(cards, reasons)
    ]}
    assert send(body).get_json() == {"stored": 2}
    stored = {row.card_uuid: (row.override_reason_system, row.override_reason_code) for row in stored_feedback(store)}
    assert [stored[card] for card in cards] == [(r["system"], r["code"]) for r in reasons]


def test_several_entries_in_one_body_are_all_stored(send, store):
    cards = [issue_card(store) for _ in range(3)]
    body = {"feedback": [feedback_body(card)["feedback"][0] for card in cards]}
    assert send(body).get_json() == {"stored": 3}
    assert {row.card_uuid for row in stored_feedback(store)} == set(cards)


def test_a_card_this_service_never_issued_is_a_400(send, store):
    response = send(feedback_body("4e0a3a1e-3283-4575-ab82-028d55fe2719"))
    assert response.status_code == 400
    assert error_of(response)["field"] == "feedback[0].card"


def test_a_card_issued_by_another_service_is_a_400(send, store):
    card = issue_card(store, service_id=OTHER_SERVICE_ID)
    assert send(feedback_body(card)).status_code == 400


def test_one_bad_entry_means_nothing_of_the_body_is_stored(send, store):
    good, offered = issue_card(store, suggestions=("sugg-1",)), issue_card(store, suggestions=("sugg-1",))
    body = {
        "feedback": [
            feedback_body(good)["feedback"][0],
            feedback_body(offered, "accepted", acceptedSuggestions=[{"id": "sugg-forged"}])["feedback"][0],
        ]
    }
    response = send(body)
    assert response.status_code == 400
    assert error_of(response)["field"] == "feedback[1].acceptedSuggestions[0].id"
    assert row_counts(store)["feedback"] == 0


def test_unknown_service_is_a_404(send, store):
    card = issue_card(store)
    assert send(feedback_body(card), path="/cds-services/no-such-service/feedback").status_code == 404


def _entry(**changes):
    entry = {"card": "CARD", "outcome": "overridden", "outcomeTimestamp": "2025-01-30T10:05:31Z"}
    entry.update(changes)
    return {k: v for k, v in entry.items() if v is not None}


MALFORMED = {
    "not an object": ([1, 2], None),
    "no feedback array": ({"cards": []}, "feedback"),
    "empty feedback array": ({"feedback": []}, "feedback"),
    "entry not an object": ({"feedback": ["CARD"]}, "feedback[0]"),
    "missing card": ({"feedback": [_entry(card=None)]}, "feedback[0].card"),
    "unknown outcome": ({"feedback": [_entry(outcome="ignored")]}, "feedback[0].outcome"),
    "accepted without suggestions": ({"feedback": [_entry(outcome="accepted")]}, "feedback[0].acceptedSuggestions"),
    "suggestion without id": (
        {"feedback": [_entry(outcome="accepted", acceptedSuggestions=[{}])]},
        "feedback[0].acceptedSuggestions[0].id",
    ),
    "suggestions on an override": (
        {"feedback": [_entry(acceptedSuggestions=[{"id": "s"}])]},
        "feedback[0].acceptedSuggestions",
    ),
    "missing timestamp": ({"feedback": [_entry(outcomeTimestamp=None)]}, "feedback[0].outcomeTimestamp"),
    "timestamp without zone": ({"feedback": [_entry(outcomeTimestamp="2025-01-30T10:05:31")]}, "feedback[0].outcomeTimestamp"),
    "date only": ({"feedback": [_entry(outcomeTimestamp="2025-01-30")]}, "feedback[0].outcomeTimestamp"),
    "timestamp past year 9999 in UTC": ({"feedback": [_entry(outcomeTimestamp="9999-12-31T23:59:59-01:00")]},
                                        "feedback[0].outcomeTimestamp"),
    "timestamp before year 1 in UTC": ({"feedback": [_entry(outcomeTimestamp="0001-01-01T00:00:00+01:00")]},
                                       "feedback[0].outcomeTimestamp"),
    "comment over the limit": ({"feedback": [_entry(overrideReason={"userComment": "x" * 2001})]},
                               "feedback[0].overrideReason.userComment"),
    "empty override reason": ({"feedback": [_entry(overrideReason={})]}, "feedback[0].overrideReason"),
    "reason without code": (
        {"feedback": [_entry(overrideReason={"reason": {"system": "http://x"}})]},
        "feedback[0].overrideReason.reason.code",
    ),
}


@pytest.mark.parametrize(("body", "field"), list(MALFORMED.values()), ids=list(MALFORMED))
def test_malformed_bodies_are_a_400_naming_the_field(body, field, send, store):
    card = issue_card(store)
    body = json.loads(json.dumps(body).replace("CARD", card))
    response = send(body)
    assert response.status_code == 400
    assert error_of(response).get("field") == field
    assert row_counts(store)["feedback"] == 0


def test_more_entries_than_the_limit_is_a_413_storing_nothing(send, store):
    card = issue_card(store)
    response = send({"feedback": [_entry(card=card)] * 101})
    assert response.status_code == 413
    assert error_of(response)["field"] == "feedback"
    assert send({"feedback": [_entry(card=card)] * 100}).status_code == 200


def test_a_body_that_is_not_json_is_a_400(feedback_client, token_minter, store):
    token = token_minter.mint(URL)
    response = feedback_client.post(
        PATH, data="{not json", headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    )
    assert response.status_code == 400


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin-1"])
def test_a_body_that_is_not_sent_as_json_is_a_415(content_type, feedback_client, token_minter, store):
    token = token_minter.mint(URL)
    response = feedback_client.post(
        PATH, data='{"feedback": []}', headers={"Authorization": f"Bearer {token}", "Content-Type": content_type}
    )
    assert response.status_code == 415
    assert error_of(response)["code"] == "unsupported-media-type"
    assert row_counts(store)["feedback"] == 0


def test_database_down_is_a_503_and_nothing_is_written(store_settings, store):
    card = issue_card(store)
    broken = store_settings.with_overrides(auth_enabled=False, database_url="postgresql+psycopg://postgres@127.0.0.1:1/x")
    response = create_app(broken, providers=[StaticServicesProvider()]).test_client().post(PATH, json=feedback_body(card))
    assert response.status_code == 503
    assert "send it again" in error_of(response)["message"]
    assert row_counts(store)["feedback"] == 0


def test_two_hundred_concurrent_posts_are_all_stored(make_feedback_app, auth_settings, token_minter, store):
    cards = [issue_card(store) for _ in range(200)]
    app = make_feedback_app(auth_settings)
    with serving(app) as base_url:
        url = base_url + PATH

        def post(card: str) -> int:
            headers = {"Authorization": f"Bearer {token_minter.mint(url)}"}
            return requests.post(url, json=feedback_body(card), headers=headers, timeout=60).status_code

        with ThreadPoolExecutor(max_workers=32) as pool:
            statuses = list(pool.map(post, cards))
    assert statuses == [200] * 200
    assert row_counts(store)["feedback"] == 200
    assert row_counts(store)["seen_jti"] == 200


def test_feedback_round_trip_on_cards_from_an_authenticated_hook_call(make_feedback_app, auth_settings, token_minter, store):
    card_uuid, suggestion_uuid = str(uuid.uuid4()), str(uuid.uuid4())
    card = {
        "uuid": card_uuid,
        "summary": "Consider an MRI",
        "indicator": "info",
        "source": {"label": "Test", "topic": {"system": "http://example.org/topics", "code": "mri", "display": "MRI"}},
        "selectionBehavior": "at-most-one",
        "suggestions": [
            {
                "uuid": suggestion_uuid,
                "label": "Order an MRI",
                "actions": [
                    {
                        "type": "create",
                        "description": "Propose an MRI",
                        "resource": {"resourceType": "ServiceRequest", "status": "draft", "intent": "proposal",
                                     "subject": {"reference": "Patient/example"}},
                    }
                ],
            }
        ],
    }
    client = make_feedback_app(auth_settings, [CannedProvider([card])]).test_client()
    hook_url = "http://localhost/cds-services/canned"
    hook_body = {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/example", "patientId": "example"},
    }
    answer = client.post(hook_url, json=hook_body, headers={"Authorization": f"Bearer {token_minter.mint(hook_url)}"})
    assert answer.status_code == 200, answer.get_json()
    assert [c["uuid"] for c in answer.get_json()["cards"]] == [card_uuid]

    feedback = feedback_body(card_uuid, "accepted", acceptedSuggestions=[{"id": suggestion_uuid}])
    token = token_minter.mint(hook_url + "/feedback")
    response = client.post(hook_url + "/feedback", json=feedback, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.get_json()
    [row] = stored_feedback(store)
    assert (row.card_uuid, row.accepted_suggestions) == (card_uuid, [suggestion_uuid])
