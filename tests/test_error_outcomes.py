"""Every error answer is a FHIR R4 OperationOutcome (CDS Hooks 3.0) with the HTTP status callers already read."""

from __future__ import annotations

import pytest

from support.bodies import patient_view
from support.outcomes import error_of

URL = "/cds-services/greeter"


def test_a_412_names_the_missing_prefetch_key_in_expression(client):
    response = client.post(URL, json=patient_view(prefetch={}))

    assert response.status_code == 412 and response.mimetype == "application/json"
    error = error_of(response)
    assert error["issue"] == "processing"
    assert error["expression"] == ["prefetch.patientToGreet"]
    assert error["message"].startswith("required prefetch data missing")


def test_a_401_is_a_security_issue_with_a_bearer_challenge(make_app):
    response = make_app(auth_enabled=True).test_client().post(URL, json=patient_view())

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert error_of(response) | {"message": ""} == {
        "message": "", "code": "unauthorized", "issue": "security", "field": None, "expression": [],
    }


@pytest.mark.parametrize(
    ("method", "path", "status", "issue"),
    [
        ("POST", "/cds-services/nobody", 404, "not-found"),
        ("POST", "/cds-services/nobody/feedback", 404, "not-found"),
        ("GET", URL, 405, "not-supported"),
        ("GET", "/no-such-page", 404, "not-found"),
    ],
)
def test_routing_errors_are_outcomes_too(client, method, path, status, issue):
    response = client.open(path, method=method, json={})

    assert response.status_code == status
    assert error_of(response)["issue"] == issue


def test_fhir_errors_are_fhir_json_outcomes(client):
    response = client.get("/fhir/PlanDefinition/none")

    assert response.status_code == 404 and response.mimetype == "application/fhir+json"
    assert error_of(response) | {"message": ""} == {
        "message": "", "code": "not-found", "issue": "not-found", "field": None, "expression": [],
    }
