"""Prefetch: sent data is used, only missing keys are fetched, ``null`` is an answer, 412 when data is out of reach.

The FHIR server is a real local HTTP stub (pytest-httpserver), so the tests
see exactly which requests the service made.
"""

from __future__ import annotations

import time

import pytest
from werkzeug import Response

from cds_hooks.prefetch import render, token_values
from cds_hooks.response_model import validate_cards
from support.store_auth import free_port
from support.bodies import PATIENT, PATIENT_ID, condition, patient_view, searchset
from support.outcomes import error_of

URL = "/cds-services/greeter"
TOKEN = "prefetch-test-access-token"
PRACTITIONER = {"resourceType": "Practitioner", "id": "example"}
OPERATION_OUTCOME = {
    "resourceType": "OperationOutcome",
    "issue": [{"severity": "error", "code": "timeout", "diagnostics": "prefetch timed out"}],
}


@pytest.fixture
def fhir_base(httpserver) -> str:
    return httpserver.url_for("/fhir")


@pytest.fixture
def fhir_client_app(make_app, greeter, fhir_base):
    """The greeter service allowed to call the local FHIR stub."""
    return make_app(providers=[greeter], fhir_allowlist=(fhir_base,)).test_client()


def with_server(fhir_base: str, **fields) -> dict:
    return patient_view(fhirServer=fhir_base, fhirAuthorization={"access_token": TOKEN, "token_type": "Bearer",
                                                                  "expires_in": 300, "scope": "user/*.read",
                                                                  "subject": "bme-cds"}, **fields)


def requested(httpserver) -> list[str]:
    """The path and query of every request the stub received, in order."""
    return [request.full_path.rstrip("?") for request, _ in httpserver.log]


# --- tokens and templates (no HTTP) -----------------------------------------------


def test_tokens_come_from_primitive_root_context_fields_and_the_user_type():
    tokens = token_values({
        "userId": "PractitionerRole/123",
        "patientId": "a b/c",
        "encounterId": "89284",
        "flag": True,
        "count": 3,
        "draftOrders": {"resourceType": "Bundle"},
        "selections": ["MedicationRequest/1"],
        "empty": "",
    })

    assert tokens == {
        "context.userId": "PractitionerRole/123",
        "context.patientId": "a%20b%2Fc",
        "context.encounterId": "89284",
        "context.flag": "true",
        "context.count": "3",
        "userPractitionerRoleId": "123",
    }


@pytest.mark.parametrize(
    ("user_id", "token"),
    [
        ("Practitioner/p1", "userPractitionerId"),
        ("PractitionerRole/r1", "userPractitionerRoleId"),
        ("Patient/pt1", "userPatientId"),
        ("RelatedPerson/rp1", "userRelatedPersonId"),
    ],
)
def test_user_token_follows_the_user_resource_type(user_id, token):
    tokens = token_values({"userId": user_id})

    assert tokens[token] == user_id.split("/")[1]
    assert not {t for t in tokens if t.startswith("user") and t != token}


def test_render_fills_tokens_and_reports_unfillable_ones():
    tokens = token_values({"userId": "Practitioner/abc", "patientId": "123"})

    assert render("Observation?patient={{context.patientId}}&code=4548-4", tokens) == "Observation?patient=123&code=4548-4"
    assert render("{{context.userId}}", tokens) == "Practitioner/abc"
    assert render("Practitioner/{{ userPractitionerId }}", tokens) == "Practitioner/abc"
    assert render("Encounter/{{context.encounterId}}", tokens) is None
    assert render("PractitionerRole/{{userPractitionerRoleId}}", tokens) is None
    assert render("Medication/{{context.medication.id}}", tokens) is None


def test_only_an_exact_reference_keeps_its_slash():
    tokens = token_values({"userId": "Practitioner/abc\n", "patientId": "Patient/1 OR 1=1"})

    assert tokens["context.userId"] == "Practitioner%2Fabc%0A"
    assert tokens["context.patientId"] == "Patient%2F1%20OR%201%3D1"


@pytest.mark.parametrize("value", ["..", ".", "Patient/..", "../Observation"])
def test_values_that_would_change_the_path_are_encoded_or_refused(value):
    rendered = render("Patient/{{context.patientId}}", token_values({"patientId": value}))

    assert rendered is None or (rendered.count("/") == 1 and rendered.split("/")[1] not in (".", ".."))


# --- prefetch sent in full, partly, as null, as OperationOutcome --------------------


def test_complete_prefetch_makes_no_request(fhir_client_app, fhir_base, httpserver):
    body = with_server(fhir_base, prefetch={"patientToGreet": PATIENT, "conditions": searchset(condition("c1")),
                                            "user": PRACTITIONER})

    response = fhir_client_app.post(URL, json=body)

    assert response.status_code == 200
    assert response.json["cards"][0]["detail"] == "Conditions on record: 1"
    assert requested(httpserver) == []


def test_only_the_missing_key_is_fetched_with_the_bearer_token(fhir_client_app, fhir_base, httpserver):
    httpserver.expect_request("/fhir/Condition", query_string={"patient": PATIENT_ID}).respond_with_json(
        searchset(condition("c1"), condition("c2"))
    )
    body = with_server(fhir_base, prefetch={"patientToGreet": PATIENT, "user": PRACTITIONER})

    response = fhir_client_app.post(URL, json=body)

    assert response.status_code == 200
    validate_cards(response.json)
    assert response.json["cards"][0]["detail"] == "Conditions on record: 2"
    assert requested(httpserver) == [f"/fhir/Condition?patient={PATIENT_ID}"]
    (request, _), = httpserver.log
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"


def test_operation_outcome_value_is_fetched_again(fhir_client_app, fhir_base, httpserver, greeter):
    fetched = {**PATIENT, "name": [{"given": ["Fetched"]}]}
    httpserver.expect_request(f"/fhir/Patient/{PATIENT_ID}").respond_with_json(fetched)
    body = with_server(fhir_base, prefetch={"patientToGreet": OPERATION_OUTCOME, "conditions": None, "user": None})

    response = fhir_client_app.post(URL, json=body)

    assert response.status_code == 200
    assert response.json["cards"][0]["summary"] == "Hello, Fetched"
    assert requested(httpserver) == [f"/fhir/Patient/{PATIENT_ID}"]
    assert greeter.calls[-1].prefetch["patientToGreet"] == fetched


def test_null_values_are_answers_never_fetched_and_never_412(fhir_client_app, fhir_base, httpserver, greeter):
    body = with_server(fhir_base, prefetch={"patientToGreet": None, "conditions": None, "user": None})

    response = fhir_client_app.post(URL, json=body)

    assert response.status_code == 200
    assert response.json["cards"][0]["summary"] == "Hello, patient"
    assert "detail" not in response.json["cards"][0]
    assert requested(httpserver) == []
    assert greeter.calls[-1].prefetch == {"patientToGreet": None, "conditions": None, "user": None}


def test_null_for_a_required_key_without_any_fhir_server_is_not_412(client):
    response = client.post(URL, json=patient_view(prefetch={"patientToGreet": None}))

    assert response.status_code == 200


def test_optional_keys_that_cannot_be_had_are_left_out(client, greeter):
    response = client.post(URL, json=patient_view())

    assert response.status_code == 200
    assert set(greeter.calls[-1].prefetch) == {"patientToGreet"}


def test_client_bundle_with_a_next_page_is_completed_from_the_server(fhir_client_app, fhir_base, httpserver, greeter):
    httpserver.expect_request("/fhir", query_string={"_getpages": "p2"}).respond_with_json(
        searchset(condition("c2"), condition("c3"))
    )
    first_page = searchset(condition("c1"), next_url=f"{fhir_base}?_getpages=p2")
    body = with_server(fhir_base, prefetch={"patientToGreet": PATIENT, "conditions": first_page, "user": None})

    response = fhir_client_app.post(URL, json=body)

    assert response.status_code == 200
    assert response.json["cards"][0]["detail"] == "Conditions on record: 3"
    merged = greeter.calls[-1].prefetch["conditions"]
    assert [e["resource"]["id"] for e in merged["entry"]] == ["c1", "c2", "c3"]
    assert "link" not in merged


def test_unfinished_client_bundle_for_a_required_key_without_server_is_412(make_app):
    from cds_content import ServiceDefinition
    from support.providers import CannedProvider

    class Paged(CannedProvider):
        SERVICE = ServiceDefinition("paged", "patient-view", "Paged", "Needs all conditions.",
                                    prefetch={"conditions": "Condition?patient={{context.patientId}}"})

    client = make_app(providers=[Paged([])]).test_client()
    first_page = searchset(condition("c1"), next_url="https://fhir.example.org/fhir?page=2")

    response = client.post("/cds-services/paged", json=patient_view(prefetch={"conditions": first_page}))

    assert response.status_code == 412
    assert error_of(response)["field"] == "prefetch.conditions"


# --- 412: required data out of reach ----------------------------------------------


def test_missing_required_key_without_fhir_server_is_412_naming_it(client):
    response = client.post(URL, json=patient_view(prefetch={}))

    assert response.status_code == 412
    error = error_of(response)
    assert error["code"] == "precondition-failed"
    assert error["field"] == "prefetch.patientToGreet"
    assert "patientToGreet" in error["message"] and "no fhirServer" in error["message"]


def test_fhir_server_down_is_412(make_app, greeter):
    base = f"http://127.0.0.1:{free_port()}/fhir"  # nothing listens there: connection refused
    client = make_app(providers=[greeter], fhir_allowlist=(base,)).test_client()

    response = client.post(URL, json=with_server(base, prefetch={}))

    assert response.status_code == 412
    assert "patientToGreet" in error_of(response)["message"]


def test_slow_fhir_server_is_412_after_the_read_timeout(make_app, greeter, fhir_base, httpserver):
    def slow(_request):
        time.sleep(1.0)
        return Response("{}", content_type="application/json")

    httpserver.expect_request(f"/fhir/Patient/{PATIENT_ID}").respond_with_handler(slow)
    client = make_app(providers=[greeter], fhir_allowlist=(fhir_base,), fhir_read_timeout=0.2).test_client()

    response = client.post(URL, json=with_server(fhir_base, prefetch={"conditions": None, "user": None}))

    assert response.status_code == 412
    assert "could not be reached" in error_of(response)["message"]


def test_fhir_server_not_on_the_allow_list_is_412_without_a_request(make_app, greeter, fhir_base, httpserver):
    client = make_app(providers=[greeter], fhir_allowlist=("https://fhir.example.org/r4",)).test_client()

    response = client.post(URL, json=with_server(fhir_base, prefetch={}))

    assert response.status_code == 412
    assert "allow-list" in error_of(response)["message"]
    assert requested(httpserver) == []


def test_empty_allow_list_means_no_outbound_calls(make_app, greeter, fhir_base, httpserver):
    client = make_app(providers=[greeter]).test_client()

    response = client.post(URL, json=with_server(fhir_base, prefetch={}))

    assert response.status_code == 412
    assert requested(httpserver) == []


def test_plain_http_to_another_machine_is_412(make_app, greeter):
    client = make_app(providers=[greeter], fhir_allowlist=("https://fhir.example.org/r4",)).test_client()

    response = client.post(URL, json=with_server("http://fhir.example.org/r4", prefetch={}))

    assert response.status_code == 412
    assert "https" in error_of(response)["message"]


def test_operation_outcome_from_the_server_is_a_failed_fetch(fhir_client_app, fhir_base, httpserver):
    httpserver.expect_request(f"/fhir/Patient/{PATIENT_ID}").respond_with_json(OPERATION_OUTCOME)

    response = fhir_client_app.post(URL, json=with_server(fhir_base, prefetch={"conditions": None, "user": None}))

    assert response.status_code == 412
    assert "OperationOutcome" in error_of(response)["message"]


def test_server_error_status_is_a_failed_fetch(fhir_client_app, fhir_base, httpserver):
    httpserver.expect_request(f"/fhir/Patient/{PATIENT_ID}").respond_with_json({"resourceType": "Patient"}, status=404)

    response = fhir_client_app.post(URL, json=with_server(fhir_base, prefetch={"conditions": None, "user": None}))

    assert response.status_code == 412
    assert "HTTP 404" in error_of(response)["message"]


def test_a_failed_optional_fetch_does_not_stop_the_call(fhir_client_app, fhir_base, httpserver, greeter):
    httpserver.expect_request("/fhir/Condition").respond_with_json(OPERATION_OUTCOME)
    httpserver.expect_request("/fhir/Practitioner/example").respond_with_json(PRACTITIONER)

    response = fhir_client_app.post(URL, json=with_server(fhir_base, prefetch={"patientToGreet": PATIENT}))

    assert response.status_code == 200
    assert set(greeter.calls[-1].prefetch) == {"patientToGreet", "user"}
    assert sorted(requested(httpserver)) == [f"/fhir/Condition?patient={PATIENT_ID}", "/fhir/Practitioner/example"]
