"""GET /cds-services: every registered service, spec-exact, public."""

from __future__ import annotations

from cds_content import ServiceDefinition
from cds_hooks.response_model import validate_discovery
from support.providers import GREETER, CannedProvider


def test_discovery_lists_every_service_and_passes_the_response_model(client):
    response = client.get("/cds-services")

    assert response.status_code == 200
    validate_discovery(response.json)
    by_id = {service["id"]: service for service in response.json["services"]}
    assert set(by_id) == {"greeter", "order-select-echo", "order-sign-echo"}
    assert by_id["greeter"] == {
        "hook": "patient-view",
        "title": "Patient greeter",
        "description": GREETER.description,
        "id": "greeter",
        "prefetch": dict(GREETER.prefetch),
        "usageRequirements": GREETER.usage_requirements,
        "version": "2.0.1",
        "hookVersion": "1.0",
    }
    assert by_id["order-select-echo"]["hook"] == "order-select"


def test_each_service_names_the_spec_and_hook_definition_versions_it_follows(client):
    services = client.get("/cds-services").json["services"]

    assert {(s["hook"], s["version"], s["hookVersion"]) for s in services} == {
        ("patient-view", "2.0.1", "1.0"),
        ("order-select", "2.0.1", "1.0"),
        ("order-sign", "2.0.1", "1.0"),
    }


def test_a_hook_without_a_published_version_gets_no_hook_version(make_app):
    class EncounterProvider(CannedProvider):
        SERVICE = ServiceDefinition(id="arrival", hook="encounter-start", title="", description="Greets on arrival.")

    (service,) = make_app(providers=[EncounterProvider([])]).test_client().get("/cds-services").json["services"]

    assert service == {"hook": "encounter-start", "description": "Greets on arrival.", "id": "arrival", "version": "2.0.1"}
    validate_discovery({"services": [service]})


def test_empty_optional_fields_are_left_out(make_app):
    client = make_app(providers=[CannedProvider([])]).test_client()

    (service,) = client.get("/cds-services").json["services"]

    assert service == {
        "hook": "patient-view",
        "title": "Canned",
        "description": "Returns fixed cards.",
        "id": "canned",
        "version": "2.0.1",
        "hookVersion": "1.0",
    }


def test_no_services_is_an_empty_list(make_app):
    response = make_app(providers=[]).test_client().get("/cds-services")

    assert response.status_code == 200
    assert response.json == {"services": []}
    validate_discovery(response.json)


def test_discovery_needs_no_token_when_auth_is_on(make_app):
    client = make_app(auth_enabled=True).test_client()

    assert client.get("/cds-services").status_code == 200
    assert client.post("/cds-services/greeter", json={}).status_code == 401


def test_discovery_is_json_with_a_request_id(client):
    response = client.get("/cds-services")

    assert response.mimetype == "application/json"
    assert response.headers["X-Request-ID"]
