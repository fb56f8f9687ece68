"""A FHIR server that is down, slow, broken or hostile: the hook answers 412 within its time budget and stays healthy.

The service runs in a real HTTP server (werkzeug, threaded) and fetches the
one required key its caller left out from a FHIR server that misbehaves.
Missing required data is a 412, not a half-empty answer: a failed, capped or
timed-out fetch gives nothing to the content (optional keys that fail are
left out, as docs/protocol.md says). After each fault the same server
answers a complete call and a call that fetches from a healthy FHIR server,
so one bad upstream cannot wedge a worker.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
import requests
from werkzeug import Response

from support import tally
from support.bodies import PATIENT, PATIENT_ID, patient_view, searchset
from support.log_guard import register_secret
from support.providers import GreeterProvider
from support.raw_servers import RawServer, never_answers, streams, trickles
from support.store_auth import free_port, serving
from support.outcomes import error_of

BUDGET = 2.0
# The answer may come a little after the budget: the last network read is bounded by the read timeout.
SLACK = 2.0
CAP = 1024 * 1024
MAX_PAGES = 5
FHIR_TOKEN = "faults-suite-fhir-token-0b7e"
register_secret(FHIR_TOKEN)
ONLY_THE_PATIENT_MISSING = {"conditions": None, "user": None}


@pytest.fixture
def healthy_fhir(httpserver) -> str:
    httpserver.expect_request(f"/fhir/Patient/{PATIENT_ID}").respond_with_json(PATIENT)
    httpserver.expect_request("/fhir/Condition").respond_with_json(searchset())
    return httpserver.url_for("/fhir")


@contextmanager
def service_allowing(make_app, *fhir_bases: str) -> Iterator[str]:
    app = make_app(
        providers=[GreeterProvider()],
        fhir_allowlist=fhir_bases,
        fhir_connect_timeout=1.0,
        fhir_read_timeout=1.0,
        fhir_time_budget=BUDGET,
        fhir_max_response_bytes=CAP,
        fhir_max_pages=MAX_PAGES,
    )
    with serving(app) as base_url:
        yield base_url


def hook(base_url: str, fhir_server: str | None, prefetch: dict) -> requests.Response:
    fields = {"fhirServer": fhir_server, "fhirAuthorization": {"access_token": FHIR_TOKEN}} if fhir_server else {}
    return requests.post(f"{base_url}/cds-services/greeter", json=patient_view(prefetch=prefetch, **fields), timeout=60)


def assert_412_in_time_then_healthy(base_url: str, fault_base: str, healthy: str, prefetch=ONLY_THE_PATIENT_MISSING):
    started = time.monotonic()
    response = hook(base_url, fault_base, prefetch)
    elapsed = time.monotonic() - started

    assert response.status_code == 412, response.text
    assert error_of(response)["field"] == "prefetch.patientToGreet" or "patientToGreet" in response.text
    assert elapsed < BUDGET + SLACK, f"answered after {elapsed:.1f} s"
    assert hook(base_url, None, {"patientToGreet": PATIENT}).status_code == 200
    assert hook(base_url, healthy, ONLY_THE_PATIENT_MISSING).status_code == 200
    tally.count(tally.FAULTS_SURVIVED)
    return response


# -- raw-socket faults --------------------------------------------------------------------------


def test_fhir_server_down(make_app, healthy_fhir):
    down = f"http://127.0.0.1:{free_port()}/fhir"
    with service_allowing(make_app, down, healthy_fhir) as base_url:
        response = assert_412_in_time_then_healthy(base_url, down, healthy_fhir)
    assert "could not be reached" in error_of(response)["message"]


@pytest.mark.parametrize("behaviour", [never_answers, trickles], ids=["never answers", "trickles forever"])
def test_fhir_server_too_slow(make_app, healthy_fhir, behaviour):
    server = RawServer(behaviour)
    try:
        with service_allowing(make_app, server.url + "/fhir", healthy_fhir) as base_url:
            assert_412_in_time_then_healthy(base_url, server.url + "/fhir", healthy_fhir)
    finally:
        server.close()
    assert server.connections == 1


@pytest.mark.parametrize("declare_length", [False, True], ids=["streamed", "declared"])
def test_a_50_mb_answer_is_cut_at_the_cap_without_reading_it_all(make_app, healthy_fhir, declare_length):
    size = 50 * 1024 * 1024
    server = RawServer(streams(size, declare_length=declare_length))
    try:
        with service_allowing(make_app, server.url + "/fhir", healthy_fhir) as base_url:
            response = assert_412_in_time_then_healthy(base_url, server.url + "/fhir", healthy_fhir)
    finally:
        server.close()
    assert "larger than" in error_of(response)["message"]
    # What the server managed to push: what we read (at most the cap) plus what the socket buffers held.
    assert server.bytes_sent < size // 4, server.bytes_sent


# -- HTTP faults ----------------------------------------------------------------------------------

HTTP_FAULTS: dict[str, tuple[Callable, str]] = {
    "500": (lambda r: r.respond_with_data("oops", status=500), "HTTP 500"),
    "503 with Retry-After": (lambda r: r.respond_with_data("", status=503, headers={"Retry-After": "120"}), "HTTP 503"),
    "401": (lambda r: r.respond_with_json({"resourceType": "OperationOutcome"}, status=401), "HTTP 401"),
    "403": (lambda r: r.respond_with_data("no", status=403), "HTTP 403"),
    "404": (lambda r: r.respond_with_data("", status=404), "HTTP 404"),
    "malformed JSON": (lambda r: r.respond_with_data('{"resourceType": "Patient", ', content_type="application/json"),
                       "invalid JSON"),
    "HTML error page": (lambda r: r.respond_with_data("<html>proxy error</html>", content_type="text/html"), "invalid JSON"),
    "JSON that is not a resource": (lambda r: r.respond_with_json(["Patient"]), "not answer with a FHIR resource"),
    "OperationOutcome with 200": (lambda r: r.respond_with_json({"resourceType": "OperationOutcome", "issue": [
        {"severity": "error", "code": "exception"}]}), "OperationOutcome"),
    "redirect loop": (lambda r: r.respond_with_response(Response(status=302, headers={"Location": f"/fault/fhir/Patient/{PATIENT_ID}"})),
                      "redirected more than"),
    "duplicate keys": (lambda r: r.respond_with_data('{"resourceType": "Patient", "resourceType": "Bundle"}',
                                                     content_type="application/json"), "invalid JSON"),
}


@pytest.mark.parametrize(("respond", "reason"), list(HTTP_FAULTS.values()), ids=list(HTTP_FAULTS))
def test_fhir_server_answers_badly(make_app, httpserver, healthy_fhir, respond, reason):
    respond(httpserver.expect_request(f"/fault/fhir/Patient/{PATIENT_ID}"))
    fault_base = httpserver.url_for("/fault/fhir")
    with service_allowing(make_app, fault_base, healthy_fhir) as base_url:
        response = assert_412_in_time_then_healthy(base_url, fault_base, healthy_fhir)
    assert reason in error_of(response)["message"]


def test_endless_next_links_stop_at_the_page_cap(make_app, httpserver, healthy_fhir):
    """A search whose every page links to another: the order service needs it, so the call is a 412."""
    fault_base = httpserver.url_for("/fault/fhir")

    def page(request):
        number = int(request.args.get("page", "1"))
        return Response(
            json.dumps(searchset({"resourceType": "MedicationRequest", "id": f"m{number}"},
                              next_url=f"{fault_base}/MedicationRequest?page={number + 1}")),
            content_type="application/fhir+json",
        )

    httpserver.expect_request("/fault/fhir/MedicationRequest").respond_with_handler(page)
    body = {"hook": "order-sign", "hookInstance": "endless-pages", "fhirServer": fault_base,
            "context": {"userId": "Practitioner/p", "patientId": PATIENT_ID,
                        "draftOrders": {"resourceType": "Bundle", "entry": []}},
            "prefetch": {"patient": PATIENT}}
    with service_allowing(make_app, fault_base, healthy_fhir) as base_url:
        started = time.monotonic()
        response = requests.post(f"{base_url}/cds-services/order-sign-echo", json=body, timeout=60)
        elapsed = time.monotonic() - started
        assert hook(base_url, healthy_fhir, ONLY_THE_PATIENT_MISSING).status_code == 200

    assert response.status_code == 412 and "more than 5 pages" in error_of(response)["message"]
    assert elapsed < BUDGET + SLACK
    assert sum(1 for request, _ in httpserver.log if request.path.endswith("/MedicationRequest")) == MAX_PAGES
    tally.count(tally.FAULTS_SURVIVED)


def test_a_failing_optional_key_is_left_out_and_the_cards_come_from_what_arrived(make_app, httpserver, healthy_fhir):
    """Documented choice: only required data makes a 412; an optional key that fails is simply absent."""
    httpserver.expect_request("/fault/fhir/Condition").respond_with_data("oops", status=500)
    httpserver.expect_request(f"/fault/fhir/Patient/{PATIENT_ID}").respond_with_json(PATIENT)
    fault_base = httpserver.url_for("/fault/fhir")
    with service_allowing(make_app, fault_base) as base_url:
        response = hook(base_url, fault_base, {"user": None})

    assert response.status_code == 200
    (card,) = response.json()["cards"]
    assert "Ada" in card["summary"] and "detail" not in card  # the greeter lists conditions only when it has them
    tally.count(tally.FAULTS_SURVIVED)
