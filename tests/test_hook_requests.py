"""POST /cds-services/{id}: status codes in their documented order, 400s that name the field, never a 500."""

from __future__ import annotations

import json
import logging

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cds_hooks import card_output
from cds_hooks.response_model import ValidationError, first_problem, validate_cards
from cds_hooks.runtime import EXTENSION_KEY
from cds_hooks.store import StoreUnavailable
from cds_hooks.strict_json import MAX_NESTING, InvalidJson, parse_json
from support.bodies import ORDER_PREFETCH, PATIENT_ID, patient_view, wrap_context
from support.store_auth import serving
from support.providers import CannedProvider
from support.outcomes import error_of

URL = "/cds-services/greeter"


def post_raw(client, body: bytes, content_type: str = "application/json", url: str = URL, **kwargs):
    return client.post(url, data=body, content_type=content_type, **kwargs)


# --- the happy path ---------------------------------------------------------------


def test_patient_view_call_returns_valid_cards_built_from_prefetch(client, greeter):
    response = client.post(URL, json=patient_view())

    assert response.status_code == 200
    validate_cards(response.json)
    (card,) = response.json["cards"]
    assert card["summary"] == "Hello, Ada"
    assert card["links"][0]["url"] == "http://localhost/handouts/greeting?lang=en"
    call = greeter.calls[-1]
    assert call.service_id == "greeter" and call.hook == "patient-view"
    assert call.context["patientId"] == PATIENT_ID


def test_base_url_comes_from_public_url_setting(make_app, greeter):
    client = make_app(providers=[greeter], public_url="https://cds.example.org/").test_client()

    response = client.post(URL, json=patient_view(), base_url="https://cds.example.org")

    assert response.json["cards"][0]["links"][0]["url"].startswith("https://cds.example.org/handouts/")


@pytest.mark.parametrize(
    ("accept_language", "context_language", "greeting"),
    [
        (None, None, "Hello"),
        ("es-MX,en;q=0.5", None, "Hola"),
        ("fr, es;q=0.8, en;q=0.5", None, "Hola"),
        ("es", "en-US", "Hello"),
        ("en", "es-419", "Hola"),
        ("de", None, "Hello"),
    ],
)
def test_card_language_follows_context_then_accept_language(client, accept_language, context_language, greeting):
    body = patient_view()
    if context_language:
        body["context"]["userLanguage"] = context_language
    headers = {"Accept-Language": accept_language} if accept_language else {}

    response = client.post(URL, json=body, headers=headers)

    assert response.json["cards"][0]["summary"].startswith(greeting)


def test_order_sign_cards_get_uuids_and_selection_behavior_the_provider_left_out(client):
    body = wrap_context("15-context-order-sign-r4.json", "order-sign", prefetch=ORDER_PREFETCH)

    response = client.post("/cds-services/order-sign-echo", json=body)

    assert response.status_code == 200
    validate_cards(response.json)
    cards = response.json["cards"]
    assert len(cards) == 2
    uuids = {card["uuid"] for card in cards} | {s["uuid"] for card in cards for s in card["suggestions"]}
    assert len(uuids) == 4
    assert all(card["selectionBehavior"] == "any" for card in cards)


def test_uuids_a_provider_gives_are_kept_and_only_missing_ones_are_made():
    """Feedback names a card by the uuid the provider chose, so the service must never replace it."""
    source = {"label": "Test", "topic": {"code": "t", "system": "https://example.org", "display": "T"}}
    given_card = {"uuid": "card-1", "summary": "Given", "indicator": "info", "source": source,
                  "suggestions": [{"label": "Keep", "uuid": "suggestion-1"}, {"label": "New"}]}  # fmt: skip
    bare_card = {"summary": "Bare", "indicator": "info", "source": source}

    cards = card_output.hook_response([given_card, bare_card])["cards"]

    assert cards[0]["uuid"] == "card-1"
    assert cards[0]["suggestions"][0]["uuid"] == "suggestion-1"
    made = {cards[0]["suggestions"][1]["uuid"], cards[1]["uuid"]}
    assert len(made) == 2 and not made & {"card-1", "suggestion-1"}


def test_issued_cards_are_recorded_so_feedback_on_them_is_accepted(client):
    card_uuid = client.post(URL, json=patient_view()).json["cards"][0]["uuid"]

    feedback = {"feedback": [{"card": card_uuid, "outcome": "overridden", "outcomeTimestamp": "2025-01-30T10:00:00Z"}]}
    response = client.post(f"{URL}/feedback", json=feedback)

    assert response.status_code == 200, response.json


def test_no_cards_is_an_empty_array(make_app):
    client = make_app(providers=[CannedProvider([])]).test_client()

    response = client.post("/cds-services/canned", json=patient_view(prefetch={}))

    assert response.status_code == 200
    assert response.json == {"cards": []}


def test_an_answer_is_compact_sorted_json_and_keeps_non_ascii_text_exact(make_app):
    """Cards in any language reach the EHR unchanged: UTF-8 text, keys in one order, parseable by any JSON client."""
    card = {"uuid": "u1", "summary": "Edema óseo ≥ 2 cm — ver 🦴", "indicator": "info", "source": {"label": "Prueba"}}
    client = make_app(providers=[CannedProvider([card])]).test_client()

    response = client.post("/cds-services/canned", json=patient_view())

    assert response.status_code == 200 and response.mimetype == "application/json"
    expected = json.dumps({"cards": [card]}, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"
    assert response.get_data() == expected.encode("utf-8")
    assert response.json["cards"][0]["summary"] == card["summary"]


# --- what the service repairs or refuses in a provider's output ---------------------


def _reference_prune(value):
    """What prune means, written plainly: the same value with every null and empty value gone, or None."""
    if isinstance(value, dict):
        kept = {k: v for k, v in ((k, _reference_prune(v)) for k, v in value.items()) if v is not None}
        return kept or None
    if isinstance(value, list):
        kept = [v for v in map(_reference_prune, value) if v is not None]
        return kept or None
    return None if value is None or value == "" else value


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.sampled_from(["", "x", "0"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(["a", "b", "c"]), inner, max_size=3),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES)
def test_prune_removes_every_null_and_empty_value_and_nothing_else(value):
    assert card_output.prune(value) == _reference_prune(value)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"summary": "x" * 140}, "cards.0.summary"),
        ({"indicator": "urgent"}, "cards.0.indicator"),
        ({"source": {"label": "L", "url": "ftp://example.org"}}, "cards.0.source.url"),
        ({"suggestions": [{"label": "S", "actions": [{"type": "create", "description": "d"}]}], "selectionBehavior": "any"}, "cards.0.suggestions.0.actions.0"),
    ],
)
def test_an_answer_without_empty_values_is_still_checked_for_everything_else(change, field):
    card = {"summary": "Fine", "indicator": "info", "source": {"label": "L"}, **change}
    with pytest.raises(ValidationError) as caught:
        validate_cards({"cards": [card]})
    assert first_problem(caught.value)[0] == field


def test_empty_values_in_provider_cards_are_pruned(make_app):
    card = {
        "uuid": "c1",
        "summary": "Pruned",
        "indicator": "info",
        "detail": "",
        "source": {"label": "Test", "url": None, "topic": {}},
        "links": [],
        "suggestions": [{"label": "Do", "actions": [{"type": "create", "description": "x",
                                                      "resource": {"resourceType": "Task", "note": []}}]}],
        "selectionBehavior": "at-most-one",
    }
    client = make_app(providers=[CannedProvider([card])]).test_client()

    response = client.post("/cds-services/canned", json=patient_view())

    assert response.status_code == 200
    validate_cards(response.json)
    (sent,) = response.json["cards"]
    assert "detail" not in sent and "links" not in sent and sent["source"] == {"label": "Test"}
    assert sent["suggestions"][0]["actions"][0]["resource"] == {"resourceType": "Task"}


@pytest.mark.parametrize(
    ("cards", "problem"),
    [
        ([{"summary": "x" * 140, "indicator": "info", "source": {"label": "T"}}], "cards.0.summary"),
        ([{"summary": "Bad indicator", "indicator": "hard-stop", "source": {"label": "T"}}], "cards.0.indicator"),
        ([{"summary": "No source", "indicator": "info"}], "cards.0.source"),
        ({"cards": []}, "list of cards"),
    ],
)
def test_invalid_provider_cards_fail_loudly_instead_of_being_cut(make_app, caplog, cards, problem):
    client = make_app(providers=[CannedProvider(cards)]).test_client()

    with caplog.at_level(logging.ERROR, logger="cds_hooks"):
        response = client.post("/cds-services/canned", json=patient_view())

    assert response.status_code == 500
    assert error_of(response)["code"] == "content-error"
    assert problem in caplog.text


def test_cards_still_returned_when_store_is_down_and_auth_is_off(make_app, greeter, monkeypatch, caplog):
    app = make_app(providers=[greeter])

    def refuse(**_cards):
        raise StoreUnavailable("database down")

    monkeypatch.setattr(app.extensions[EXTENSION_KEY].store, "record_issued_cards", refuse)
    with caplog.at_level(logging.WARNING, logger="cds_hooks"):
        response = app.test_client().post(URL, json=patient_view())

    assert response.status_code == 200
    assert len(response.json["cards"]) == 1
    assert "not recorded" in caplog.text
    assert PATIENT_ID not in caplog.text


def test_store_down_with_auth_on_is_503_not_lost_cards(make_app, greeter, monkeypatch, token_minter, tmp_path):
    issuers = token_minter.write_issuers_file(tmp_path / "issuers.json")
    app = make_app(providers=[greeter], auth_enabled=True, trusted_issuers=str(issuers))
    token = token_minter.mint("http://localhost" + URL)

    def refuse(**_cards):
        raise StoreUnavailable("database down")

    monkeypatch.setattr(app.extensions[EXTENSION_KEY].store, "record_issued_cards", refuse)
    response = app.test_client().post(URL, json=patient_view(), headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 503


# --- status codes and their order -------------------------------------------------


def test_unknown_service_is_404_before_anything_else(make_app):
    client = make_app(auth_enabled=True, max_body_bytes=10).test_client()

    response = post_raw(client, b"x" * 100, content_type="text/plain", url="/cds-services/no-such-service")

    assert response.status_code == 404
    assert error_of(response)["code"] == "not-found"


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin-1", ""])
def test_non_json_content_type_is_415(client, content_type):
    response = post_raw(client, json.dumps(patient_view()).encode(), content_type=content_type)

    assert response.status_code == 415
    assert error_of(response)["issue"] == "not-supported"


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "application/json;charset=UTF-8", "Application/JSON"])
def test_json_with_utf8_charset_is_accepted(client, content_type):
    response = post_raw(client, json.dumps(patient_view()).encode(), content_type=content_type)

    assert response.status_code == 200


def test_415_comes_before_413(make_app):
    client = make_app(max_body_bytes=100).test_client()

    response = post_raw(client, b"x" * 1000, content_type="text/plain")

    assert response.status_code == 415


def test_body_over_the_limit_is_413_before_auth(make_app):
    client = make_app(auth_enabled=True, max_body_bytes=1000).test_client()
    body = json.dumps(patient_view(extension={"com.example.padding": "x" * 2000})).encode()

    response = post_raw(client, body)

    assert response.status_code == 413
    assert error_of(response)["message"] == "request body larger than 1000 bytes"


@pytest.mark.parametrize(("spare", "status"), [(0, 200), (-1, 413)])
def test_the_body_limit_is_inclusive(make_app, spare, status):
    body = json.dumps(patient_view()).encode()
    client = make_app(max_body_bytes=len(body) + spare).test_client()

    assert post_raw(client, body).status_code == status


def _chunked(body: bytes):
    """A generator body: requests sends it with Transfer-Encoding: chunked and no Content-Length."""
    for start in range(0, len(body), 512):
        yield body[start : start + 512]


@pytest.mark.parametrize(("padding", "status"), [(5000, 413), (10, 200)])
def test_chunked_body_is_held_to_the_limit(make_app, padding, status):
    app = make_app(max_body_bytes=1000)
    body = json.dumps(patient_view(extension={"com.example.padding": "x" * padding})).encode()

    with serving(app) as base:
        response = requests.post(base + URL, data=_chunked(body), headers={"Content-Type": "application/json"},
                                 timeout=10)

    assert response.status_code == status
    if status == 413:
        assert error_of(response)["code"] == "content-too-large"


def test_missing_token_is_401_when_auth_is_on(make_app, token_minter, tmp_path):
    issuers = token_minter.write_issuers_file(tmp_path / "issuers.json")
    client = make_app(auth_enabled=True, trusted_issuers=str(issuers)).test_client()

    assert client.post(URL, json=patient_view()).status_code == 401
    # auth comes before body validation: a malformed body without a token is still 401
    assert post_raw(client, b"{not json").status_code == 401
    token = token_minter.mint("http://localhost" + URL)
    assert client.post(URL, json=patient_view(), headers={"Authorization": f"Bearer {token}"}).status_code == 200


# --- 400: the body, field by field ------------------------------------------------


def _without(body: dict, *path: str) -> dict:
    target = body
    for name in path[:-1]:
        target = target[name]
    del target[path[-1]]
    return body


def _with(body: dict, value, *path: str) -> dict:
    target = body
    for name in path[:-1]:
        target = target[name]
    target[path[-1]] = value
    return body


ORDER_SELECT_URL = "/cds-services/order-select-echo"


def _order_select() -> dict:
    return wrap_context("14-context-order-select-r4.json", "order-select", prefetch=ORDER_PREFETCH)


FIELD_CASES = [
    (lambda: _without(patient_view(), "hook"), URL, "hook"),
    (lambda: _with(patient_view(), "order-sign", "hook"), URL, "hook"),
    (lambda: _with(patient_view(), 7, "hook"), URL, "hook"),
    (lambda: _without(patient_view(), "hookInstance"), URL, "hookInstance"),
    (lambda: _with(patient_view(), "", "hookInstance"), URL, "hookInstance"),
    (lambda: _with(patient_view(), ["x"], "hookInstance"), URL, "hookInstance"),
    (lambda: _without(patient_view(), "context"), URL, "context"),
    (lambda: _with(patient_view(), ["userId"], "context"), URL, "context"),
    (lambda: _without(patient_view(), "context", "patientId"), URL, "context.patientId"),
    (lambda: _with(patient_view(), 1288992, "context", "patientId"), URL, "context.patientId"),
    (lambda: _with(patient_view(), " ", "context", "patientId"), URL, "context.patientId"),
    (lambda: _without(patient_view(), "context", "userId"), URL, "context.userId"),
    (lambda: _with(patient_view(), {"id": "e1"}, "context", "encounterId"), URL, "context.encounterId"),
    (lambda: _without(_order_select(), "context", "selections"), ORDER_SELECT_URL, "context.selections"),
    (lambda: _with(_order_select(), [], "context", "selections"), ORDER_SELECT_URL, "context.selections"),
    (lambda: _with(_order_select(), ["MedicationRequest/1", 2], "context", "selections"), ORDER_SELECT_URL,
     "context.selections"),
    (lambda: _with(_order_select(), "MedicationRequest/1", "context", "selections"), ORDER_SELECT_URL,
     "context.selections"),
    (lambda: _without(_order_select(), "context", "draftOrders"), ORDER_SELECT_URL, "context.draftOrders"),
    (lambda: _with(_order_select(), {"resourceType": "Patient"}, "context", "draftOrders"), ORDER_SELECT_URL,
     "context.draftOrders"),
    (lambda: _with(_order_select(), [], "context", "draftOrders"), ORDER_SELECT_URL, "context.draftOrders"),
    (lambda: patient_view(fhirServer=42), URL, "fhirServer"),
    (lambda: patient_view(fhirAuthorization={"access_token": "t"}), URL, "fhirServer"),
    (lambda: patient_view(fhirServer="https://f.example.org", fhirAuthorization="t"), URL, "fhirAuthorization"),
    (lambda: patient_view(fhirServer="https://f.example.org", fhirAuthorization={"token_type": "Bearer"}), URL,
     "fhirAuthorization.access_token"),
    (lambda: patient_view(prefetch=[]), URL, "prefetch"),
    (lambda: patient_view(prefetch={"patientToGreet": "Patient/1"}), URL, "prefetch.patientToGreet"),
    (lambda: patient_view(prefetch={"patientToGreet": {"id": "no-type"}}), URL, "prefetch.patientToGreet"),
    (lambda: patient_view(extension="com.example"), URL, "extension"),
]


@pytest.mark.parametrize(("make_body", "url", "field"), FIELD_CASES)
def test_bad_field_is_400_naming_it(client, make_body, url, field):
    response = client.post(url, json=make_body())

    assert response.status_code == 400
    assert error_of(response)["field"] == field
    assert error_of(response)["code"] == "bad-request"


def _nested(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


def _valid_with(raw_fragment: str) -> bytes:
    """A valid patient-view body whose extension holds ``raw_fragment`` verbatim."""
    body = json.dumps(patient_view(extension={"com.example.x": "PLACEHOLDER"}))
    return body.replace('"PLACEHOLDER"', raw_fragment).encode()


BAD_BODIES = {
    "empty": b"",
    "whitespace": b"  \n",
    "truncated": b'{"hook": "patient-view"',
    "trailing garbage": json.dumps(patient_view()).encode() + b" {}",
    "top-level array": b"[]",
    "top-level string": b'"patient-view"',
    "top-level null": b"null",
    "top-level number": b"42",
    "NaN": _valid_with("NaN"),
    "Infinity": _valid_with("-Infinity"),
    "float overflow": _valid_with("1e999"),
    "huge integer": _valid_with("1" * 5000),
    "duplicate key": b'{"hook": "patient-view", "hook": "order-sign"}',
    "duplicate nested key": _valid_with('{"k": 1, "k": 2}'),
    "duplicate key, whitespace before the colons": _valid_with('{"k" :1, "k"\r\n\t:2}'),
    "duplicate key among strings holding quote-colon": _valid_with('{"k": "a\\":", "k": "\\" : b"}'),
    "deep array nesting": b"[" * 100_000 + b"]" * 100_000,
    "deep object nesting": _nested(50_000).encode(),
    "nesting over the limit": _valid_with(_nested(MAX_NESTING + 1)),
    "invalid UTF-8": b'{"hook": "patient-view\xff\xfe"}',
    "UTF-16 body": json.dumps(patient_view()).encode("utf-16"),
    "lone surrogate": json.dumps(patient_view()).replace(PATIENT_ID, "\\ud800").encode(),
    "byte order mark": b"\xef\xbb\xbf" + json.dumps(patient_view()).encode(),
    "single quotes": b"{'hook': 'patient-view'}",
    "control character": _valid_with('"a\x01b"'),
}


@pytest.mark.parametrize("name", BAD_BODIES)
def test_malformed_bodies_are_400_never_500(client, name):
    response = post_raw(client, BAD_BODIES[name])

    assert response.status_code == 400, name
    assert error_of(response)["code"] == "bad-request"


def test_unicode_and_surrogate_pairs_are_fine(client):
    body = patient_view()
    body["context"]["encounterId"] = "visite-é-患者-\U0001f600"
    raw = json.dumps(body, ensure_ascii=True).encode()  # the emoji travels as an escaped surrogate pair

    response = post_raw(client, raw)

    assert response.status_code == 200


def test_strings_holding_quote_colon_are_not_mistaken_for_duplicate_keys(client):
    """Escaped quotes before colons look like extra key separators to the fast duplicate check: a slow recheck clears them."""
    response = post_raw(client, _valid_with('{"a": "say \\":\\" or \\" :\\"", "b": ["\\":"], "c" : {"d"\n:"\\\\"}}'))

    assert response.status_code == 200


def test_nesting_up_to_the_limit_is_accepted(client):
    response = post_raw(client, _valid_with(_nested(MAX_NESTING - 5)))

    assert response.status_code == 200


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        ("[" * MAX_NESTING + "]" * MAX_NESTING, True),
        ("[" * (MAX_NESTING + 1) + "]" * (MAX_NESTING + 1), False),
        (_nested(MAX_NESTING), True),
        (_nested(MAX_NESTING + 1), False),
    ],
)
def test_the_nesting_limit_is_exact(value, accepted):
    if accepted:
        assert parse_json(value.encode()) is not None
    else:
        with pytest.raises(InvalidJson, match=f"nested deeper than {MAX_NESTING}"):
            parse_json(value.encode())


@pytest.mark.parametrize("number", ["1e999", "-1e400", "1.8e308", "1" * 400 + ".0"])
def test_floats_too_large_for_a_double_are_refused_wherever_they_sit(client, number):
    for fragment in (number, f'[1, {{"a": [{number}]}}]'):
        response = post_raw(client, _valid_with(fragment))

        assert response.status_code == 400, fragment
        assert "too large" in error_of(response)["message"]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
FIELDS = ["hook", "hookInstance", "context", "fhirServer", "fhirAuthorization", "prefetch", "extension"]
CONTEXT_FIELDS = ["userId", "patientId", "encounterId", "userLanguage", "selections", "draftOrders"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    top=st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=3),
    context=st.dictionaries(st.sampled_from(CONTEXT_FIELDS), json_values, max_size=3),
    service=st.sampled_from(["greeter", "order-select-echo", "order-sign-echo"]),
)
def test_random_field_values_give_a_client_error_never_a_500(client, top, context, service):
    body = patient_view(**top)
    if isinstance(body.get("context"), dict):
        body["context"] = {**body["context"], **context}

    response = client.post(f"/cds-services/{service}", json=body)

    assert response.status_code in (200, 400, 412), response.json
    if response.status_code == 200:
        validate_cards(response.json)

