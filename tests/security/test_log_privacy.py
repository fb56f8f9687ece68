"""Logs carry no token, patient id or patient name - checked for this suite's riskiest calls, and for the guard itself.

The whole session is watched by the log guard (tests/conftest.py, E8
section). Here: the guard really receives the service's records, it really
finds a JWT or a registered secret (so its silence at the end means
something), and a run of calls that put secrets in every field - token,
patient id, patient name, FHIR access token, feedback comment - including
the paths that log warnings (refused token, failed and refused FHIR fetches,
malformed bodies) leaves none of them in any log line.
"""

from __future__ import annotations

import json
import logging
import threading

from support.log_guard import LOG_GUARD, LogGuard, register_secret
from support.providers import GreeterProvider
from support.store_auth import TokenMinter

PATIENT_ID = "privacy-patient-8c41f2"
PATIENT_NAME = "Quillonia"
FHIR_TOKEN = "privacy-fhir-token-5e90aa"
COMMENT = "privacy-comment-about-Quillonia"
register_secret(PATIENT_ID, PATIENT_NAME, FHIR_TOKEN, COMMENT)
HOOK_URL = "http://localhost/cds-services/greeter"


def test_the_guard_finds_a_jwt_and_registered_secrets_but_not_stub_server_lines(token_minter: TokenMinter):
    guard = LogGuard()
    guard.register_secret("secret-value-123")
    logger = logging.getLogger("e8.privacy.selftest")
    logger.propagate = False  # keep these planted leaks away from the session's guard
    logger.addHandler(guard)
    try:
        logger.warning("calling with %s", token_minter.mint(HOOK_URL))
        logger.warning("patient %s", "secret-value-123")
        logger.warning("nothing to see")
        stub = logging.getLogger("werkzeug")
        stub_thread = threading.Thread(target=lambda: guard.handle(stub.makeRecord(
            "werkzeug", logging.INFO, __file__, 1, "GET /fhir/Patient/secret-value-123", (), None)),
            name="Thread-9 (thread_target)")
        stub_thread.start()
        stub_thread.join()
    finally:
        logger.removeHandler(guard)
    guard.add_output("server stderr", "line one\nBearer secret-value-123\n")

    assert guard.line_count == 5  # three records and two lines of output; the stub FHIR server's line is not ours
    assert [leak.what for leak in guard.leaks()] == ["a JWT", "registered secret 'secret-value-123'",
                                                     "registered secret 'secret-value-123'"]


def test_riskiest_calls_leave_no_secret_in_any_log_line(make_app, token_minter, httpserver, tmp_path):
    fhir = httpserver.url_for("/fhir")
    patient = {"resourceType": "Patient", "id": PATIENT_ID, "name": [{"given": [PATIENT_NAME]}]}
    httpserver.expect_request(f"/fhir/Patient/{PATIENT_ID}").respond_with_json(patient)
    httpserver.expect_request("/fhir/Condition").respond_with_data("server error", status=500)
    issuers = token_minter.write_issuers_file(tmp_path / "issuers.json")
    client = make_app(providers=[GreeterProvider()], fhir_allowlist=(fhir,), auth_enabled=True,
                      trusted_issuers=str(issuers)).test_client()

    def hook(body, token=None):
        headers = {"Authorization": f"Bearer {token or token_minter.mint(HOOK_URL)}"}
        return client.post(HOOK_URL, json=body, headers=headers)

    body = {"hook": "patient-view", "hookInstance": "privacy", "fhirServer": fhir,
            "fhirAuthorization": {"access_token": FHIR_TOKEN},
            "context": {"userId": "Practitioner/p", "patientId": PATIENT_ID}, "prefetch": {"user": None}}
    start = LOG_GUARD.line_count

    answered = hook(body)  # patient fetched with the FHIR token, conditions fetch fails with a 500
    card = answered.get_json()["cards"][0]
    assert answered.status_code == 200 and PATIENT_NAME in card["summary"]
    assert hook(body, token=token_minter.mint("https://elsewhere.example/cds-services/greeter")).status_code == 401
    assert hook({**body, "fhirServer": "https://not-allowed.example/fhir"}).status_code == 412
    assert hook({**body, "fhirServer": f"http://{PATIENT_ID}.example/fhir"}).status_code == 412
    duplicate = json.dumps(body)[:-1] + f', "{PATIENT_ID}": 1, "{PATIENT_ID}": 2}}'
    assert client.post(HOOK_URL, data=duplicate, content_type="application/json",
                       headers={"Authorization": f"Bearer {token_minter.mint(HOOK_URL)}"}).status_code == 400
    comment = {"feedback": [{"card": card["uuid"], "outcome": "overridden", "outcomeTimestamp": "2026-01-30T10:05:31Z",
                             "overrideReason": {"userComment": COMMENT}}]}
    stored = client.post(HOOK_URL + "/feedback", json=comment,
                         headers={"Authorization": f"Bearer {token_minter.mint(HOOK_URL + '/feedback')}"})
    assert stored.status_code == 200

    logged = LOG_GUARD.lines(since=start)
    assert len([line for source, line in logged if source == "cds_hooks.access"]) == 6, logged
    assert any("status=500" in line for _, line in logged)  # the failed fetch was logged, by host and status
    assert any("refused" in line for _, line in logged)  # so was the refused token, by reason
    assert LOG_GUARD.leaks(since=start) == []
