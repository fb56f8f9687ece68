"""CORS: browser clients (the CDS Hooks sandbox) can preflight and read every CDS answer, errors included."""

from __future__ import annotations

import pytest

from support.bodies import patient_view

ORIGIN = "https://sandbox.cds-hooks.org"


def preflight(client, path: str, method: str = "POST", **headers):
    return client.options(
        path,
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization, content-type",
            **headers,
        },
    )


@pytest.fixture
def auth_client(make_app):
    """Auth on: a preflight must still succeed without any token."""
    return make_app(auth_enabled=True).test_client()


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/cds-services", "GET"),
        ("/cds-services/greeter", "POST"),
        ("/cds-services/greeter/feedback", "POST"),
        ("/handouts/bme-basics", "GET"),
    ],
)
def test_preflight_is_answered_without_auth(auth_client, path, method):
    response = preflight(auth_client, path, method)

    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    allowed_headers = {h.strip().lower() for h in response.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type"} <= allowed_headers
    allowed_methods = {m.strip() for m in response.headers["Access-Control-Allow-Methods"].split(",")}
    assert {"GET", "POST", "OPTIONS"} <= allowed_methods
    assert "Access-Control-Allow-Credentials" not in response.headers


def test_private_network_preflight_is_allowed_when_the_browser_asks(auth_client):
    response = preflight(auth_client, "/cds-services/greeter", **{"Access-Control-Request-Private-Network": "true"})

    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Private-Network"] == "true"


def test_private_network_header_is_absent_when_not_asked(auth_client):
    response = preflight(auth_client, "/cds-services/greeter")

    assert "Access-Control-Allow-Private-Network" not in response.headers


def test_hook_answers_and_errors_are_readable_cross_origin(auth_client, client):
    ok = client.post("/cds-services/greeter", json=patient_view(), headers={"Origin": ORIGIN})
    refused = auth_client.post("/cds-services/greeter", json=patient_view(), headers={"Origin": ORIGIN})

    assert ok.status_code == 200 and ok.headers["Access-Control-Allow-Origin"] == "*"
    assert refused.status_code == 401 and refused.headers["Access-Control-Allow-Origin"] == "*"
    assert "WWW-Authenticate" in refused.headers["Access-Control-Expose-Headers"]


def test_operational_endpoints_are_not_cross_origin(client):
    response = client.get("/healthz", headers={"Origin": ORIGIN})

    assert "Access-Control-Allow-Origin" not in response.headers
