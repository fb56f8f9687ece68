"""SSRF through ``fhirServer``: the caller names the server, so every way to point it elsewhere must fail closed.

Only ``http://localhost:<A>/fhir`` (a pytest-httpserver stub) is on the
allow-list. Each attack names another target - cloud metadata, another
loopback port, another scheme, an IP spelled in decimal, octal, hex or as
IPv6, userinfo, prefix and backslash tricks - or reaches one through the
allowed server (redirects, ``next`` links, template values). Three witnesses
must stay silent: raw TCP listeners on 127.0.0.1, 127.0.0.2 and ::1 where
the forbidden targets point, the outbound FHIR session (every request it
sends is recorded), and, for spellings of the allowed server itself, the
allowed server. The hook answers 412.
"""

from __future__ import annotations

import pytest
import requests
from requests.adapters import HTTPAdapter
from werkzeug import Response

from cds_hooks.hooks import FHIR_CLIENT_KEY
from support import tally
from support.bodies import PATIENT, PATIENT_ID, patient_view, searchset
from support.listeners import SilentListener, ipv6_loopback_available
from support.log_guard import register_secret
from support.providers import GreeterProvider
from support.outcomes import error_of

FHIR_TOKEN = "ssrf-suite-fhir-access-token-61d0"
register_secret(FHIR_TOKEN)


class RecordingAdapter(HTTPAdapter):
    """Transport of the service's outbound FHIR session: notes every request actually sent."""

    def __init__(self, sent: list[str]):
        super().__init__()
        self.sent = sent

    def send(self, request: requests.PreparedRequest, *args, **kwargs) -> requests.Response:
        self.sent.append(request.url)
        return super().send(request, *args, **kwargs)


class Witnesses:
    """The listeners where forbidden targets point, and the record of what the service sent."""

    def __init__(self) -> None:
        self.loopback = SilentListener("127.0.0.1")
        self.other_loopback = SilentListener("127.0.0.2")
        self.ipv6 = SilentListener("::1") if ipv6_loopback_available() else None
        self.sent: list[str] = []

    def connections(self) -> int:
        listeners = [self.loopback, self.other_loopback, *([self.ipv6] if self.ipv6 else [])]
        return sum(listener.connections for listener in listeners)

    def close(self) -> None:
        for listener in (self.loopback, self.other_loopback, self.ipv6):
            if listener:
                listener.close()


@pytest.fixture
def witnesses():
    watching = Witnesses()
    yield watching
    watching.close()


@pytest.fixture
def allowed(httpserver) -> str:
    return httpserver.url_for("/fhir")


@pytest.fixture
def service(make_app, allowed, witnesses):
    """The greeter and order-echo services, allowed to call only the stub at ``allowed``; outbound traffic recorded."""
    app = make_app(providers=[GreeterProvider()], fhir_allowlist=(allowed,))
    session = app.extensions[FHIR_CLIENT_KEY].session
    for scheme in ("http://", "https://"):
        session.mount(scheme, RecordingAdapter(witnesses.sent))
    return app.test_client()


ONLY_THE_PATIENT_MISSING = {"conditions": None, "user": None}


def ask(client, fhir_server: str, service_id: str = "greeter", **fields):
    """A hook call that must fetch one required key from ``fhir_server`` (the others are sent)."""
    if service_id == "greeter":
        fields.setdefault("prefetch", ONLY_THE_PATIENT_MISSING)
        body = patient_view(fhirServer=fhir_server, fhirAuthorization={"access_token": FHIR_TOKEN}, **fields)
    else:
        body = {"hook": "order-sign", "hookInstance": "ssrf", "fhirServer": fhir_server,
                "fhirAuthorization": {"access_token": FHIR_TOKEN},
                "context": {"userId": "Practitioner/p", "patientId": PATIENT_ID,
                            "draftOrders": {"resourceType": "Bundle", "entry": []}},
                "prefetch": {"patient": PATIENT}, **fields}
    return client.post(f"/cds-services/{service_id}", json=body)


def assert_refused_without_traffic(response, witnesses: Witnesses, httpserver, *, allowed_requests: int = 0) -> None:
    assert response.status_code == 412, response.get_json()
    assert error_of(response)["code"] == "precondition-failed"
    assert witnesses.connections() == 0
    assert len(httpserver.log) == allowed_requests
    assert len(witnesses.sent) == allowed_requests
    tally.count(tally.ATTACKS_REFUSED)


# {L}: the 127.0.0.1 listener's port, {L2}: the 127.0.0.2 listener's, {L6}: the ::1 listener's, {A}: the allowed server's.
FORBIDDEN_SERVERS = {
    "cloud metadata": "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "cloud metadata over https": "https://169.254.169.254/latest/meta-data/",
    "cloud metadata by name": "http://metadata.google.internal/computeMetadata/v1/",
    "IPv6 cloud metadata": "http://[fd00:ec2::254]/latest/meta-data/",
    "another loopback port": "http://127.0.0.1:{L}/fhir",
    "another loopback port by name": "http://localhost:{L}/fhir",
    "another loopback address": "http://127.0.0.2:{L2}/fhir",
    "the allowed port on another loopback address": "http://127.0.0.2:{A}/fhir",
    "file scheme": "file:///etc/passwd",
    "file scheme in capitals": "FILE:///etc/passwd",
    "gopher": "gopher://127.0.0.1:{L}/_GET%20/fhir",
    "dict": "dict://127.0.0.1:{L}/info",
    "ftp": "ftp://127.0.0.1:{L}/fhir",
    "IPv6 loopback, other port": "http://[::1]:{L6}/fhir",
    "IPv4-mapped IPv6": "http://[::ffff:127.0.0.1]:{L}/fhir",
    "IPv4-mapped IPv6, long form": "http://[0:0:0:0:0:ffff:7f00:1]:{L}/fhir",
    "decimal IP": "http://2130706433:{L}/fhir",
    "hex dotted IP": "http://0x7f.1:{L}/fhir",
    "hex IP": "http://0x7f000001:{L}/fhir",
    "octal IP": "http://017700000001:{L}/fhir",
    "octal dotted IP": "http://0177.0.0.1:{L}/fhir",
    "short dotted IP": "http://127.1:{L}/fhir",
    "zero address": "http://0.0.0.0:{L}/fhir",
    "zero as a number": "http://0:{L}/fhir",
    "the allowed server as a decimal IP": "http://2130706433:{A}/fhir",
    "the allowed server as 127.0.0.1": "http://127.0.0.1:{A}/fhir",
    "userinfo: allowed@forbidden": "http://localhost:{A}@127.0.0.1:{L}/fhir",
    "userinfo: forbidden@allowed": "http://127.0.0.1:{L}@localhost:{A}/fhir",
    "backslash before @": "http://localhost:{A}\\@127.0.0.1:{L}/fhir",
    "port with a suffix": "http://localhost:{A}.evil.example/fhir",
    "host with a suffix": "http://localhost.evil.example:{A}/fhir",
    "path prefix": "http://localhost:{A}/fhir-evil",
    "path prefix without a separator": "http://localhost:{A}/fhirevil",
    "@ in the path": "http://localhost:{A}/fhir@127.0.0.1:{L}/",
    "dot segments": "http://localhost:{A}/fhir/../admin",
    "encoded dot segments": "http://localhost:{A}/fhir/%2e%2e/admin",
    "dot segment with a path parameter": "http://localhost:{A}/fhir/..;/admin",
    "double-encoded dot segments": "http://localhost:{A}/fhir/%252e%252e/admin",
    "query smuggling a host": "http://localhost:{A}/fhir?x=@127.0.0.1:{L}",
    "fragment smuggling a host": "http://localhost:{A}/fhir#@127.0.0.1:{L}",
    "plain http on another machine": "http://fhir.example.org/fhir",
    "not a URL": "127.0.0.1:{L}",
}


@pytest.mark.parametrize("template", list(FORBIDDEN_SERVERS.values()), ids=list(FORBIDDEN_SERVERS))
def test_a_forbidden_fhir_server_gets_no_request_and_the_hook_answers_412(template, service, witnesses, httpserver):
    if "{L6}" in template and witnesses.ipv6 is None:
        pytest.skip("no IPv6 loopback on this machine")
    fhir_server = template.format(
        L=witnesses.loopback.port,
        L2=witnesses.other_loopback.port,
        L6=witnesses.ipv6.port if witnesses.ipv6 else 0,
        A=httpserver.port,
    )

    assert_refused_without_traffic(ask(service, fhir_server), witnesses, httpserver)


REDIRECTS = {
    "to another loopback port": "http://127.0.0.1:{L}/fhir/Patient/" + PATIENT_ID,
    "to cloud metadata": "http://169.254.169.254/latest/meta-data/",
    "scheme-relative to another host": "//127.0.0.2:{L2}/fhir/Patient/" + PATIENT_ID,
    "to the same server outside the base": "/admin/Patient/" + PATIENT_ID,
    "to the same server with dot segments": "/fhir/../admin",
    "to https on the same host": "https://localhost:{A}/fhir/Patient/" + PATIENT_ID,
    "to a file": "file:///etc/passwd",
}


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize("location", list(REDIRECTS.values()), ids=list(REDIRECTS))
def test_a_redirect_from_the_allowed_server_to_a_forbidden_target_is_not_followed(
    location, status, service, witnesses, httpserver, allowed
):
    target = location.format(L=witnesses.loopback.port, L2=witnesses.other_loopback.port, A=httpserver.port)
    httpserver.expect_request(f"/fhir/Patient/{PATIENT_ID}").respond_with_response(
        Response(status=status, headers={"Location": target})
    )

    response = ask(service, allowed)

    assert_refused_without_traffic(response, witnesses, httpserver, allowed_requests=1)
    assert "redirect" in error_of(response)["message"]


def test_a_next_link_from_the_allowed_server_to_a_forbidden_target_is_not_followed(service, witnesses, httpserver, allowed):
    forbidden = f"http://127.0.0.1:{witnesses.loopback.port}/fhir/MedicationRequest?page=2"
    httpserver.expect_request("/fhir/MedicationRequest").respond_with_json(searchset(next_url=forbidden))

    response = ask(service, allowed, service_id="order-sign-echo")

    assert_refused_without_traffic(response, witnesses, httpserver, allowed_requests=1)
    assert "next link" in error_of(response)["message"]


@pytest.mark.parametrize("path", ["/fhir/..;/admin/MedicationRequest", "/fhir/%252e%252e/admin/MedicationRequest",
                                  "/fhir/x;jsessionid=1/../../admin"])
def test_a_next_link_that_a_server_could_resolve_outside_the_base_is_not_followed(path, service, witnesses, httpserver,
                                                                                   allowed):
    next_url = f"http://localhost:{httpserver.port}{path}?page=2"
    httpserver.expect_request("/fhir/MedicationRequest").respond_with_json(searchset(next_url=next_url))

    response = ask(service, allowed, service_id="order-sign-echo")

    assert_refused_without_traffic(response, witnesses, httpserver, allowed_requests=1)


def test_a_next_link_in_a_bundle_the_client_sent_cannot_point_elsewhere(service, witnesses, httpserver, allowed):
    forbidden = f"http://127.0.0.2:{witnesses.other_loopback.port}/fhir/MedicationRequest?page=2"
    prefetch = {"patient": PATIENT, "medications": searchset(next_url=forbidden)}

    response = ask(service, allowed, service_id="order-sign-echo", prefetch=prefetch)

    assert_refused_without_traffic(response, witnesses, httpserver)


@pytest.mark.parametrize(
    "patient_id",
    ["http://127.0.0.1:{L}/x", "../../../admin", "..", "x/../../admin", "@127.0.0.1:{L}", "x?_format=xml#", "%2e%2e",
     "x\r\nHost: 127.0.0.1:{L}"],
)
def test_context_values_cannot_steer_requests_off_the_allowed_server(patient_id, service, witnesses, httpserver, allowed):
    """Template values are percent-encoded (or refused), so every request stays under the allowed base."""
    patient_id = patient_id.format(L=witnesses.loopback.port)
    body_context = {"userId": "Practitioner/p", "patientId": patient_id}

    response = ask(service, allowed, context=body_context)

    assert response.status_code == 412, response.get_json()  # the stub knows no such patient (or nothing was sent)
    assert witnesses.connections() == 0
    assert all(url.startswith(allowed + "/") for url in witnesses.sent), witnesses.sent
    assert all(request.path.startswith("/fhir/") and ".." not in request.path.split("/") for request, _ in httpserver.log)
    tally.count(tally.ATTACKS_REFUSED)


def test_the_allowed_server_itself_is_used(service, witnesses, httpserver, allowed):
    """The control: the same setup does fetch from the allowed server, with the caller's token."""
    httpserver.expect_request(f"/fhir/Patient/{PATIENT_ID}").respond_with_json(PATIENT)

    response = ask(service, allowed)

    assert response.status_code == 200, response.get_json()
    assert witnesses.sent == [f"{allowed}/Patient/{PATIENT_ID}"]
    assert httpserver.log[0][0].headers["Authorization"] == f"Bearer {FHIR_TOKEN}"
