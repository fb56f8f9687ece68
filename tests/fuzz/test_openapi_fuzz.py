"""schemathesis against the service's own ``/openapi.json``, in-process through the WSGI app.

Every operation (discovery, hook calls, feedback, health, metrics, handouts,
the ``/fhir`` knowledge endpoints) gets schema-valid and schema-violating
requests plus schemathesis's coverage cases (boundary values, undeclared
methods, missing bodies). With auth off the checks are: never a 5xx, only
documented status codes and content types, bodies that match the documented
schemas, schema-violating input refused, 405 with ``Allow`` for undeclared
methods, and an error body on every 4xx. With auth on, the protected
operations must refuse every generated request (no token, or a made-up one)
with 401 - never a 500, never a 400 that would mean the body was looked at
first.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
import schemathesis
from fhir.resources.R4B.operationoutcome import OperationOutcome
from hypothesis import HealthCheck, settings
from schemathesis import checks as generic_checks
from schemathesis.specs.openapi import checks as openapi_checks

from support import tally

MAX_EXAMPLES_OPEN = 100
MAX_EXAMPLES_AUTH = 30
JSON_TYPES = ("application/json", "application/fhir+json")
# Refused before the token is looked at: not JSON (415) or too large (413), as docs/protocol.md orders the checks.
BEFORE_AUTH = {413, 415}


def _config(max_examples: int) -> schemathesis.Config:
    return schemathesis.Config.from_dict(
        {
            "generation": {"mode": "all", "max-examples": max_examples, "with-security-parameters": True},
            "phases": {"examples": {"enabled": False}, "stateful": {"enabled": False}},
        }
    )


@pytest.fixture(scope="module")
def open_api(bme_app):
    return schemathesis.openapi.from_wsgi("/openapi.json", bme_app, config=_config(MAX_EXAMPLES_OPEN))


@pytest.fixture(scope="module")
def auth_api(bme_app_with_auth):
    return schemathesis.openapi.from_wsgi("/openapi.json", bme_app_with_auth, config=_config(MAX_EXAMPLES_AUTH))


def error_bodies_are_json(ctx: Any, response: schemathesis.Response, case: schemathesis.Case) -> bool | None:
    """Every 4xx/5xx is a FHIR OperationOutcome (validated with fhir.resources), except the handout 404 page.

    A person following a dead handout link gets a small HTML page by design
    (docs/handouts.md); every API caller gets JSON it can read.
    """
    if response.status_code < 400:
        return None
    path = urlsplit(response.request.url).path
    if path.startswith("/handouts/") and response.status_code == 404:
        assert response.headers["content-type"][0].startswith("text/html")
        return None
    media_type = response.headers["content-type"][0].split(";")[0].strip()
    assert media_type in JSON_TYPES, f"{response.status_code} answered as {media_type}"
    OperationOutcome.model_validate(response.json())
    return None


def protected_operations_need_a_token(ctx: Any, response: schemathesis.Response, case: schemathesis.Case) -> bool | None:
    """Without a valid token a hook or feedback call is a 401 (or refused earlier as not JSON or too large).

    An undeclared method (the coverage phase sends some) is a 405 before any
    token is looked at; OPTIONS is the CORS preflight, answered without a token.
    """
    if response.request.method == "OPTIONS":
        return None
    if response.request.method != case.operation.method.upper():
        assert response.status_code == 405
    elif case.operation.definition.raw.get("security"):
        assert response.status_code in {401, *BEFORE_AUTH}, f"{case.operation.label} answered {response.status_code}"
        if response.status_code == 401:
            assert response.headers["www-authenticate"][0].startswith("Bearer")
    return None


OPEN_CHECKS = [
    generic_checks.not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_schema_conformance,
    openapi_checks.negative_data_rejection,
    openapi_checks.unsupported_method,
    error_bodies_are_json,
]
AUTH_CHECKS = [generic_checks.not_a_server_error, protected_operations_need_a_token, error_bodies_are_json]

open_schema = schemathesis.pytest.from_fixture("open_api")
auth_schema = schemathesis.pytest.from_fixture("auth_api")
_SETTINGS = settings(deadline=None, suppress_health_check=list(HealthCheck), database=None)


@open_schema.parametrize()
@_SETTINGS
def test_every_operation_with_auth_off(case: schemathesis.Case) -> None:
    case.call_and_validate(checks=OPEN_CHECKS)
    tally.count(tally.FUZZ_CASES)


@auth_schema.parametrize()
@_SETTINGS
def test_every_operation_with_auth_on(case: schemathesis.Case) -> None:
    case.call_and_validate(checks=AUTH_CHECKS)
    tally.count(tally.FUZZ_CASES)


# -- the document itself ------------------------------------------------------------------


def test_the_document_describes_each_service_with_its_prefetch_keys(bme_app, bme_providers):
    document = bme_app.test_client().get("/openapi.json").get_json()

    assert document["openapi"].startswith("3.1")
    for provider in bme_providers:
        for service in provider.services():
            operation = document["paths"][f"/cds-services/{service.id}"]["post"]
            body = operation["requestBody"]["content"]["application/json"]["schema"]
            assert body["properties"]["hook"] == {"const": service.hook}
            assert set(body["properties"]["prefetch"]["properties"]) == set(service.prefetch)
            assert {"200", "400", "412"} <= set(operation["responses"])
            assert f"/cds-services/{service.id}/feedback" in document["paths"]


def test_bearer_auth_is_declared_only_when_the_instance_requires_it(bme_app, bme_app_with_auth):
    open_doc = bme_app.test_client().get("/openapi.json").get_json()
    auth_doc = bme_app_with_auth.test_client().get("/openapi.json").get_json()

    assert "securitySchemes" not in open_doc["components"]
    assert auth_doc["components"]["securitySchemes"]["bearerJWT"]["scheme"] == "bearer"
    hook_paths = [path for path in auth_doc["paths"] if path.startswith("/cds-services/")]
    assert hook_paths and all(auth_doc["paths"][p]["post"]["security"] == [{"bearerJWT": []}] for p in hook_paths)
    assert "security" not in auth_doc["paths"]["/cds-services"]["get"]
