"""The read-only FHIR endpoints under /fhir and ``$apply`` over HTTP, through the Flask test client."""

from __future__ import annotations

import json

import pytest
from fhir.resources.R4B import get_fhir_model_class

from cds_content import KnowledgeProvider
from fhir_content.systems import SNOMED
from engine_builders import condition, patient
from engine_scenarios import days_ago

FHIR_JSON = "application/fhir+json"
PLAN_URL = "http://example.org/engine-test/PlanDefinition/lipid-patient-view"


@pytest.fixture
def client(make_app, lipid_kb):
    return make_app(providers=[KnowledgeProvider(lipid_kb, languages=("en", "es"))]).test_client()


def fhir(response, status=200) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == FHIR_JSON
    body = response.get_json(force=True)
    get_fhir_model_class(body["resourceType"]).model_validate(body)
    return body


def parameters(*parameter: dict) -> dict:
    return {"resourceType": "Parameters", "parameter": list(parameter)}


def data_bundle(*resources: dict) -> dict:
    return {"name": "data", "resource": {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in resources]}}


def test_metadata_is_an_r4_capability_statement(client):
    statement = fhir(client.get("/fhir/metadata"))
    assert statement["fhirVersion"] == "4.0.1"
    resources = {r["type"]: r for r in statement["rest"][0]["resource"]}
    assert set(resources) == {"PlanDefinition", "ActivityDefinition", "ValueSet", "Library"}
    assert {p["name"] for p in resources["ValueSet"]["searchParam"]} == {"url", "name", "status", "_id"}
    assert resources["PlanDefinition"]["operation"][0]["name"] == "apply"
    assert resources["ValueSet"]["operation"][0]["name"] == "expand"
    assert statement["implementation"]["url"] == "http://localhost/fhir"


def test_search_returns_a_searchset_bundle(client):
    bundle = fhir(client.get("/fhir/PlanDefinition"))
    assert bundle["type"] == "searchset" and bundle["total"] == 2
    assert {e["resource"]["id"] for e in bundle["entry"]} == {"lipid-patient-view", "lipid-order-select"}
    assert bundle["entry"][0]["fullUrl"].startswith("http://localhost/fhir/PlanDefinition/")


@pytest.mark.parametrize(
    ("query", "ids"),
    [
        (f"url={PLAN_URL}", ["lipid-patient-view"]),
        (f"url={PLAN_URL}|1.0.0", ["lipid-patient-view"]),
        ("name=lipidorder", ["lipid-order-select"]),
        ("status=retired", []),
        ("_id=lipid-order-select", ["lipid-order-select"]),
    ],
)
def test_search_parameters(client, query, ids):
    bundle = fhir(client.get(f"/fhir/PlanDefinition?{query}"))
    assert [e["resource"]["id"] for e in bundle.get("entry", [])] == ids
    assert bundle["total"] == len(ids)
    assert "entry" in bundle or ids == []


def test_unknown_search_parameters_are_ignored_and_left_out_of_the_self_link(client):
    bundle = fhir(client.get("/fhir/ValueSet?_count=5&status=active"))
    assert bundle["total"] == 3
    assert bundle["link"][0]["url"] == "http://localhost/fhir/ValueSet?status=active"


def test_read_and_not_found(client):
    assert fhir(client.get("/fhir/Library/lipids"))["id"] == "lipids"
    outcome = fhir(client.get("/fhir/Library/nope"), 404)
    assert outcome["resourceType"] == "OperationOutcome" and outcome["issue"][0]["code"] == "not-found"
    assert fhir(client.get("/fhir/Patient"), 404)["issue"][0]["code"] == "not-supported"


def test_expand(client):
    expanded = fhir(client.get("/fhir/ValueSet/hyperlipidemia/$expand"))
    codes = {c["code"] for c in expanded["expansion"]["contains"]}
    assert {"55822004", "E78.0", "E78.01", "E78.5"} <= codes and "E78.3" not in codes
    assert fhir(client.get("/fhir/ValueSet/nope/$expand"), 404)["resourceType"] == "OperationOutcome"


def test_plan_apply_over_http_returns_a_request_group(client):
    body = parameters(
        {"name": "subject", "valueReference": {"reference": "Patient/p1"}},
        data_bundle(patient(), condition("c1", SNOMED, "55822004")),
        {"name": "hook", "valueString": "patient-view"},
        {"name": "language", "valueCode": "es"},
    )
    group = fhir(client.post("/fhir/PlanDefinition/lipid-patient-view/$apply", json=body))
    assert group["resourceType"] == "RequestGroup"
    assert group["subject"] == {"reference": "Patient/p1"}
    assert [a["title"] for a in group["action"]] == ["Hyperlipidemia: no lipid panel in the last 12 months"]
    education = next(r for r in group["contained"] if r["resourceType"] == "CommunicationRequest")
    assert education["language"] == "es"


def test_activity_apply_over_http(client):
    body = parameters({"name": "subject", "valueString": "p1"}, data_bundle(patient(), condition("c1", SNOMED, "55822004")))
    request = fhir(client.post("/fhir/ActivityDefinition/order-lipid-panel/$apply", json=body))
    assert (request["resourceType"], request["intent"], request["status"]) == ("ServiceRequest", "proposal", "draft")
    assert request["reasonReference"] == [{"reference": "Condition/c1"}]


def test_apply_with_context_for_order_select(client):
    draft = {"resourceType": "ServiceRequest", "id": "d1", "status": "draft", "intent": "order",
             "code": {"coding": [{"system": "http://loinc.org", "code": "57698-3"}]}}
    recent = {"resourceType": "Observation", "id": "o1", "status": "final",
              "code": {"coding": [{"system": "http://loinc.org", "code": "57698-3"}]}, "effectiveDateTime": days_ago(5)}
    context = {"selections": ["ServiceRequest/d1"], "draftOrders": {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": draft}]}}
    body = parameters(
        {"name": "subject", "valueString": "Patient/p1"},
        data_bundle(recent),
        {"name": "context", "valueString": json.dumps(context)},
    )
    group = fhir(client.post("/fhir/PlanDefinition/lipid-order-select/$apply", json=body))
    assert group["action"][0]["action"][0]["resource"] == {"reference": "ServiceRequest/d1"}


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"resourceType": "Bundle"}, "must be a FHIR Parameters resource"),
        (parameters(), "parameter subject"),
        (parameters({"name": "subject", "valueString": "Practitioner/9"}), "must be Patient/<id>"),
        (parameters({"name": "subject", "valueString": "p1"}, {"name": "data", "resource": {"resourceType": "Patient"}}), "must carry a Bundle"),
        (parameters({"name": "subject", "valueString": "p1"}, {"name": "context", "valueString": "[1]"}), "JSON object"),
        (parameters({"name": "subject", "valueString": "p1"}, {"name": "hook", "valueString": "order-sign"}), "answers patient-view"),
    ],
)
def test_bad_apply_requests_are_400_operation_outcomes(client, body, fragment):
    outcome = fhir(client.post("/fhir/PlanDefinition/lipid-patient-view/$apply", json=body), 400)
    assert fragment in outcome["issue"][0]["diagnostics"]


def test_apply_of_unknown_artifacts_is_404(client):
    body = parameters({"name": "subject", "valueString": "p1"})
    assert fhir(client.post("/fhir/PlanDefinition/nope/$apply", json=body), 404)["issue"][0]["code"] == "not-found"
    assert fhir(client.post("/fhir/ActivityDefinition/nope/$apply", json=body), 404)["issue"][0]["code"] == "not-found"


def test_knowledge_reads_need_no_token_even_with_auth_on(make_app, lipid_kb):
    client = make_app(providers=[KnowledgeProvider(lipid_kb, languages=("en", "es"))], auth_enabled=True).test_client()
    assert client.get("/fhir/PlanDefinition/lipid-patient-view").status_code == 200
    assert client.post("/cds-services/lipid-patient-view", json={}).status_code == 401
