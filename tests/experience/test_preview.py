"""/preview over HTTP: only in demo mode, a locked-down page, and tokens bound to one URL, one use, same origin."""

from __future__ import annotations

import json
import re

import jwt
from markupsafe import escape

from cds_hooks.demo.preview import PREVIEW_TOKEN_SECONDS

from .clinic import PATIENTS, hook_request
from support.outcomes import error_of


def page_data(html: str) -> dict:
    island = re.search(r'<script type="application/json" id="preview-data">(.*?)</script>', html, re.S)
    return json.loads(island.group(1))


def token(client, service_id="bme-patient-view", purpose="hook", **kwargs):
    return client.post("/preview/token", json={"serviceId": service_id, "purpose": purpose}, **kwargs)


def test_preview_is_not_found_outside_demo_mode(make_app, bme):
    client = make_app(providers=[bme]).test_client()
    assert client.get("/preview").status_code == 404
    assert token(client).status_code == 404


def test_page_lists_every_demo_patient_with_their_calls_and_is_locked_down(demo_app):
    response = demo_app().test_client().get("/preview")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for patient in PATIENTS.values():
        assert f">{escape(patient.name)}</option>" in html
    data = page_data(html)
    margaret = next(p for p in data["patients"] if p["id"] == "demo-margaret-chen")
    assert [c["serviceId"] for c in margaret["calls"]] == ["bme-patient-view", "bme-order-sign"]
    assert data["auth"] == "off"
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy


def test_the_page_data_cannot_break_out_of_its_script_element(demo_app):
    html = demo_app().test_client().get("/preview").get_data(as_text=True)
    island = html.split('id="preview-data">', 1)[1].split("</script>", 1)[0]
    assert "<" not in island


def test_a_preview_token_works_once_for_exactly_its_url(demo_app, bme):
    client = demo_app(auth_enabled=True).test_client()
    response = token(client)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    minted = response.get_json()["token"]
    claims = jwt.decode(minted, options={"verify_signature": False})
    assert claims["aud"] == "http://localhost/cds-services/bme-patient-view"
    assert claims["exp"] - claims["iat"] == PREVIEW_TOKEN_SECONDS

    body = hook_request(bme, PATIENTS["demo-margaret-chen"])
    headers = {"Authorization": f"Bearer {minted}"}
    assert client.post("/cds-services/bme-patient-view", json=body, headers=headers).status_code == 200
    replay = client.post("/cds-services/bme-patient-view", json=body, headers=headers)
    assert replay.status_code == 401

    other = token(client).get_json()["token"]
    sign_body = hook_request(bme, PATIENTS["demo-margaret-chen"], "order-sign")
    wrong_url = client.post("/cds-services/bme-order-sign", json=sign_body, headers={"Authorization": f"Bearer {other}"})
    assert wrong_url.status_code == 401


def test_a_feedback_token_is_for_the_feedback_url(demo_app):
    client = demo_app(auth_enabled=True).test_client()
    minted = token(client, purpose="feedback").get_json()["token"]
    claims = jwt.decode(minted, options={"verify_signature": False})
    assert claims["aud"] == "http://localhost/cds-services/bme-patient-view/feedback"


def test_tokens_are_refused_to_other_origins_and_non_json_requests(demo_app):
    client = demo_app(auth_enabled=True).test_client()
    assert token(client, headers={"Origin": "https://evil.example"}).status_code == 403
    assert token(client, headers={"Origin": "http://localhost"}).status_code == 200
    form = client.post("/preview/token", data={"serviceId": "bme-patient-view", "purpose": "hook"})
    assert form.status_code == 415
    assert "Access-Control-Allow-Origin" not in token(client, headers={"Origin": "https://evil.example"}).headers


def test_tokens_are_only_given_to_a_browser_on_this_machine(demo_app):
    client = demo_app(auth_enabled=True).test_client()
    remote = token(client, environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert remote.status_code == 403
    assert "token" not in remote.get_json()
    assert token(client, environ_base={"REMOTE_ADDR": "::1"}).status_code == 200


def test_bad_token_requests_name_the_field(demo_app):
    client = demo_app(auth_enabled=True).test_client()
    assert error_of(token(client, purpose="admin"))["field"] == "purpose"
    assert error_of(token(client, service_id="nope"))["field"] == "serviceId"


def test_no_tokens_when_auth_is_off_or_other_issuers_are_trusted(demo_app, token_minter, tmp_path):
    assert token(demo_app().test_client()).status_code == 409
    issuers = token_minter.write_issuers_file(tmp_path / "issuers.json")
    client = demo_app(auth_enabled=True, trusted_issuers=str(issuers)).test_client()
    assert token(client).status_code == 409
    assert page_data(client.get("/preview").get_data(as_text=True))["auth"] == "unavailable"


def test_the_openapi_document_describes_the_demo_endpoints_only_in_demo_mode(demo_app, make_app, bme):
    demo_paths = demo_app().test_client().get("/openapi.json").get_json()["paths"]
    assert {"/preview", "/preview/token", "/demo-fhir/metadata", "/demo-fhir/{resource_type}",
            "/demo-fhir/{resource_type}/_search", "/demo-fhir/{resource_type}/{resource_id}"} <= set(demo_paths)
    plain_paths = make_app(providers=[bme]).test_client().get("/openapi.json").get_json()["paths"]
    assert not [path for path in plain_paths if path.startswith(("/preview", "/demo-fhir"))]
