"""``/demo-fhir``: the read-only demo FHIR server, and the service's prefetch fallback reading from it."""

from __future__ import annotations

import pytest
import requests
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement

from cds_hooks import prefetch
from support import tally
from support.listeners import SilentListener
from support.store_auth import free_port, serving

from .clinic import PATIENTS, SERVICE_FOR_HOOK, hook_request, topics
from support.outcomes import error_of

FHIR_JSON = "application/fhir+json"


@pytest.fixture
def fhir(demo_app):
    return demo_app().test_client()


def ids(bundle):
    return sorted(entry["resource"]["id"] for entry in bundle.get("entry", []))


def test_capability_statement_says_demo_only(fhir):
    response = fhir.get("/demo-fhir/metadata")
    assert response.status_code == 200
    assert response.mimetype == FHIR_JSON
    statement = response.get_json()
    CapabilityStatement.model_validate(statement)
    assert statement["description"].startswith("DEMO ONLY: synthetic")
    assert statement["fhirVersion"] == "4.0.1"
    served = {resource["type"] for resource in statement["rest"][0]["resource"]}
    assert {"Patient", "Condition", "DiagnosticReport", "Observation", "MedicationRequest"} <= served


def test_read_by_id_and_not_found_as_operation_outcome(fhir):
    patient = fhir.get("/demo-fhir/Patient/demo-margaret-chen").get_json()
    assert patient["name"][0]["family"] == "Chen"
    missing = fhir.get("/demo-fhir/Patient/nobody")
    assert missing.status_code == 404
    assert missing.get_json()["resourceType"] == "OperationOutcome"
    assert fhir.get("/demo-fhir/Practitioner").status_code == 404


def test_patient_list_id_and_name_searches(fhir):
    everyone = fhir.get("/demo-fhir/Patient").get_json()
    Bundle.model_validate(everyone)
    assert everyone["type"] == "searchset" and everyone["total"] == len(PATIENTS)
    assert ids(fhir.get("/demo-fhir/Patient?_id=demo-kevin-walsh,demo-susan-park").get_json()) == ["demo-kevin-walsh", "demo-susan-park"]
    assert ids(fhir.get("/demo-fhir/Patient?name=CHE").get_json()) == ["demo-margaret-chen"]


def test_searches_the_prefetch_templates_use(fhir):
    conditions = fhir.get("/demo-fhir/Condition?patient=demo-margaret-chen").get_json()
    assert [e["resource"]["code"]["coding"][0]["code"] for e in conditions["entry"]] == ["239873007"]
    assert conditions["entry"][0]["fullUrl"] == "http://localhost/demo-fhir/Condition/demo-margaret-chen-1"
    reports = fhir.get("/demo-fhir/DiagnosticReport?patient=Patient/demo-margaret-chen").get_json()
    assert reports["total"] == 1
    egfr = fhir.get("/demo-fhir/Observation?patient=demo-susan-park&code=http://loinc.org|62238-1,http://loinc.org|98979-8").get_json()
    assert egfr["total"] == 2
    assert fhir.get("/demo-fhir/Observation?patient=demo-susan-park&code=http://snomed.info/sct|98979-8").get_json()["total"] == 0
    active = fhir.get("/demo-fhir/MedicationRequest?patient=demo-thomas-becker&status=active").get_json()
    assert active["entry"][0]["resource"]["medicationCodeableConcept"]["coding"][0]["code"] == "855332"
    assert fhir.get("/demo-fhir/MedicationRequest?patient=demo-thomas-becker&status=stopped").get_json()["total"] == 0
    assert fhir.get("/demo-fhir/Condition?patient=demo-kevin-walsh").get_json() == {
        "resourceType": "Bundle", "type": "searchset", "total": 0,
        "link": [{"relation": "self", "url": "http://localhost/demo-fhir/Condition?patient=demo-kevin-walsh"}]}


def test_search_by_post_like_the_sandbox(fhir):
    response = fhir.post("/demo-fhir/Condition/_search", data={"patient": "demo-aisha-rahman"})
    assert response.status_code == 200
    assert ids(response.get_json()) == ["demo-aisha-rahman-1"]


def test_unknown_parameters_are_ignored_and_left_out_of_the_self_link(fhir):
    bundle = fhir.get("/demo-fhir/Condition?patient=demo-aisha-rahman&_sort=date").get_json()
    assert bundle["total"] == 1
    assert bundle["link"][0]["url"].endswith("/Condition?patient=demo-aisha-rahman")


def test_every_demo_prefetch_is_what_the_demo_server_answers(fhir, demo_patients):
    """The ready hook calls and /demo-fhir agree, so a call with or without prefetch sees the same chart."""
    services = {s.id: s for s in fhir.application.extensions["bme_cds"].registry.definitions()}
    for record in demo_patients:
        for call in record.requests:
            tokens = prefetch.token_values(call.body["context"])
            for key, template in services[call.service_id].prefetch.items():
                answer = fhir.get("/demo-fhir/" + prefetch.render(template, tokens)).get_json()
                sent = call.body["prefetch"][key]
                if sent["resourceType"] == "Bundle":
                    assert ids(answer) == ids(sent), (record.id, key)
                else:
                    assert answer == sent


def test_demo_fhir_is_absent_outside_demo_mode(make_app, bme):
    client = make_app(providers=[bme]).test_client()
    assert client.get("/demo-fhir/metadata").status_code == 404


def test_browsers_may_read_the_demo_server_from_another_origin(fhir):
    response = fhir.get("/demo-fhir/Patient", headers={"Origin": "https://sandbox.cds-hooks.org"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize("hook", ["patient-view", "order-sign"])
def test_prefetch_fallback_reads_the_services_own_demo_fhir(demo_app, bme, hook):
    patient = PATIENTS["demo-margaret-chen"]
    with serving(demo_app()) as base:
        body = {**without_prefetch(hook_request(bme, patient, hook)), "fhirServer": f"{base}/demo-fhir"}
        response = requests.post(f"{base}/cds-services/{SERVICE_FOR_HOOK[hook]}", json=body, timeout=30)
    assert response.status_code == 200, response.text
    expected = next(v.expected_topics for v in patient.visits if v.hook == hook)
    assert topics(response.json()["cards"]) == sorted(expected)


def test_the_sandbox_smart_launch_scope_lets_the_fallback_read_what_it_needs(demo_app, bme):
    """A SMART-launched sandbox sends fhirAuthorization with SMART v1 wildcards: the cards are those of an open server."""
    patient = PATIENTS["demo-margaret-chen"]
    authorization = {"access_token": "sandbox-token", "token_type": "Bearer", "expires_in": 3600,
                     "scope": "patient/*.* user/*.* launch openid profile online_access", "subject": "sandbox"}
    with serving(demo_app()) as base:
        body = {**without_prefetch(hook_request(bme, patient)), "fhirServer": f"{base}/demo-fhir",
                "fhirAuthorization": authorization}
        response = requests.post(f"{base}/cds-services/bme-patient-view", json=body, timeout=30)
    assert response.status_code == 200, response.text
    expected = next(v.expected_topics for v in patient.visits if v.hook == "patient-view")
    assert topics(response.json()["cards"]) == sorted(expected)


def test_another_local_port_is_not_allowed_without_the_allow_list(demo_app, bme):
    patient = PATIENTS["demo-margaret-chen"]
    with serving(demo_app()) as base:
        body = {**without_prefetch(hook_request(bme, patient)), "fhirServer": f"http://127.0.0.1:{free_port()}/demo-fhir"}
        response = requests.post(f"{base}/cds-services/bme-patient-view", json=body, timeout=30)
    assert response.status_code == 412
    assert "allow-list" in error_of(response)["message"]


@pytest.mark.parametrize("host", ["127.0.0.2", "localhost"])
def test_another_loopback_address_on_the_same_port_is_not_the_own_demo_server(demo_app, bme, host):
    patient = PATIENTS["demo-margaret-chen"]
    with serving(demo_app()) as base:
        port = int(base.rsplit(":", 1)[1])
        witness = SilentListener("127.0.0.2", port)
        try:
            body = {**without_prefetch(hook_request(bme, patient)), "fhirServer": f"http://{host}:{port}/demo-fhir"}
            response = requests.post(f"{base}/cds-services/bme-patient-view", json=body, timeout=30)
        finally:
            witness.close()
    assert response.status_code == 412
    assert "allow-list" in error_of(response)["message"]
    assert witness.connections == 0
    tally.count(tally.ATTACKS_REFUSED)


def test_outside_demo_mode_the_own_demo_path_is_not_allowed(make_app, bme):
    patient = PATIENTS["demo-margaret-chen"]
    with serving(make_app(providers=[bme])) as base:
        body = {**without_prefetch(hook_request(bme, patient)), "fhirServer": f"{base}/demo-fhir"}
        response = requests.post(f"{base}/cds-services/bme-patient-view", json=body, timeout=30)
    assert response.status_code == 412



def without_prefetch(body):
    return {key: value for key, value in body.items() if key != "prefetch"}
