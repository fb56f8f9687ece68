"""The outbound FHIR client: allow-list, https rule, paging, size cap, redirects, time budget, quiet logs."""

from __future__ import annotations

import logging
import time

import pytest
from werkzeug import Response

from cds_hooks.fhir_client import (
    BaseUrl,
    Deadline,
    FhirClient,
    FhirFetchFailed,
    FhirResponseTooLarge,
    FhirServerNotAllowed,
    FhirTimeBudgetExceeded,
    FhirTooManyPages,
)
from cds_hooks.settings import Settings
from support.bodies import condition, searchset

TOKEN = "fhir-client-secret-token"
PATIENT_QUERY = "Condition?patient=sentinel-patient-4711"


@pytest.fixture
def base(httpserver) -> str:
    return httpserver.url_for("/fhir")


def server_for(base: str, *, budget: float = 5.0, **settings):
    client = FhirClient(Settings(fhir_allowlist=(base,), **settings))
    return client.server(base, access_token=TOKEN, deadline=Deadline(budget))


def paths(httpserver) -> list[str]:
    return [request.full_path.rstrip("?") for request, _ in httpserver.log]


# --- where requests may go ----------------------------------------------------------


@pytest.mark.parametrize(
    ("allowed", "fhir_server", "ok"),
    [
        ("https://fhir.example.org/r4", "https://fhir.example.org/r4", True),
        ("https://fhir.example.org/r4", "https://fhir.example.org/r4/", True),
        ("https://fhir.example.org/r4", "https://FHIR.example.org:443/r4", True),
        ("https://fhir.example.org/r4", "https://fhir.example.org/r4/tenant-a", True),
        ("https://fhir.example.org/", "https://fhir.example.org/any/path", True),
        ("https://fhir.example.org/r4", "https://fhir.example.org/r4b", False),
        ("https://fhir.example.org/r4", "https://fhir.example.org", False),
        ("https://fhir.example.org/r4", "https://fhir.example.org:8443/r4", False),
        ("https://fhir.example.org/r4", "https://fhir.example.org.evil.test/r4", False),
        ("https://fhir.example.org/r4", "https://user:pw@fhir.example.org/r4", False),
        ("https://fhir.example.org/r4", "https://fhir.example.org/r4/../admin", False),
        ("https://fhir.example.org/r4", "https://fhir.example.org/r4/%2e%2E/admin", False),
        ("https://fhir.example.org/r4", "https://fhir.example.org/r4?x=1", False),
        ("https://fhir.example.org/r4", "ftp://fhir.example.org/r4", False),
        ("https://fhir.example.org/r4", "http://fhir.example.org/r4", False),
        ("https://fhir.example.org/r4", "not a url", False),
    ],
)
def test_allow_list_matches_by_scheme_host_port_and_path_segments(allowed, fhir_server, ok):
    client = FhirClient(Settings(fhir_allowlist=(allowed,)))

    if ok:
        client.server(fhir_server, access_token=None, deadline=Deadline(1))
    else:
        with pytest.raises(FhirServerNotAllowed):
            client.server(fhir_server, access_token=None, deadline=Deadline(1))


def test_empty_allow_list_allows_nothing():
    client = FhirClient(Settings())

    with pytest.raises(FhirServerNotAllowed, match="allow-list"):
        client.server("https://fhir.example.org/r4", access_token=None, deadline=Deadline(1))


@pytest.mark.parametrize("url", ["http://localhost:8080/fhir", "http://127.0.0.1/fhir", "http://127.8.9.10/fhir",
                                 "http://[::1]:8080/fhir"])
def test_plain_http_is_allowed_on_this_machine(url):
    client = FhirClient(Settings(fhir_allowlist=(url,)))

    client.server(url, access_token=None, deadline=Deadline(1))


@pytest.mark.parametrize("entry", ["http://fhir.example.org/r4", "http://10.0.0.5/fhir", "ftp://fhir.example.org",
                                   "https://"])
def test_allow_list_entries_that_could_never_be_used_safely_stop_startup(entry):
    with pytest.raises(ValueError, match="BME_CDS_FHIR_ALLOWLIST"):
        FhirClient(Settings(fhir_allowlist=(entry,)))


def test_base_url_equality_ignores_default_port_and_trailing_slash():
    assert BaseUrl.parse("https://Fhir.Example.org:443/r4/") == BaseUrl.parse("https://fhir.example.org/r4")


# --- reading ------------------------------------------------------------------------


def test_read_sends_the_bearer_token_and_returns_the_resource(base, httpserver):
    httpserver.expect_request("/fhir/Patient/p1").respond_with_json({"resourceType": "Patient", "id": "p1"})

    resource = server_for(base).read("Patient/p1")

    assert resource == {"resourceType": "Patient", "id": "p1"}
    (request, _), = httpserver.log
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert "fhir+json" in request.headers["Accept"]


def test_no_token_means_no_authorization_header(base, httpserver):
    httpserver.expect_request("/fhir/Patient/p1").respond_with_json({"resourceType": "Patient", "id": "p1"})
    client = FhirClient(Settings(fhir_allowlist=(base,)))

    client.server(base, access_token=None, deadline=Deadline(5)).read("Patient/p1")

    (request, _), = httpserver.log
    assert "Authorization" not in request.headers


@pytest.mark.parametrize("relative", ["/Patient/p1", "https://elsewhere.example.org/Patient/p1", "../Patient/p1",
                                      "Patient/../../admin"])
def test_urls_that_leave_the_server_are_refused_before_any_request(base, httpserver, relative):
    with pytest.raises(FhirServerNotAllowed):
        server_for(base).read(relative)
    assert httpserver.log == []


@pytest.mark.parametrize(
    ("respond", "message"),
    [
        (lambda r: r.respond_with_json({"resourceType": "OperationOutcome", "issue": [{"severity": "error",
                                                                                       "code": "not-found"}]}),
         "OperationOutcome"),
        (lambda r: r.respond_with_json({"resourceType": "Patient"}, status=404), "HTTP 404"),
        (lambda r: r.respond_with_json({"resourceType": "Patient"}, status=500), "HTTP 500"),
        (lambda r: r.respond_with_data("<html>login</html>", content_type="text/html"), "invalid JSON"),
        (lambda r: r.respond_with_json(["not", "a", "resource"]), "not answer with a FHIR resource"),
        (lambda r: r.respond_with_data('{"resourceType": "Patient", "id": 1e999}'), "invalid JSON"),
    ],
)
def test_unusable_answers_are_failed_fetches(base, httpserver, respond, message):
    respond(httpserver.expect_request("/fhir/Patient/p1"))

    with pytest.raises(FhirFetchFailed, match=message):
        server_for(base).read("Patient/p1")


# --- paging -------------------------------------------------------------------------


def _pages(httpserver, base: str, count: int) -> None:
    for number in range(1, count + 1):
        next_url = f"{base}?_getpages=x&page={number + 1}" if number < count else None
        page = searchset(condition(f"c{number}a"), condition(f"c{number}b"), next_url=next_url)
        if number == 1:
            httpserver.expect_request("/fhir/Condition").respond_with_json(page)
        else:
            httpserver.expect_request("/fhir", query_string={"_getpages": "x", "page": str(number)}).respond_with_json(page)


def test_next_pages_are_followed_and_merged(base, httpserver):
    _pages(httpserver, base, 3)

    bundle = server_for(base).read(PATIENT_QUERY)

    assert [e["resource"]["id"] for e in bundle["entry"]] == ["c1a", "c1b", "c2a", "c2b", "c3a", "c3b"]
    assert "link" not in bundle
    assert bundle["type"] == "searchset"
    assert len(httpserver.log) == 3


def test_paging_stops_at_the_page_cap_and_fails_rather_than_return_part(base, httpserver):
    _pages(httpserver, base, 4)

    with pytest.raises(FhirTooManyPages):
        server_for(base, fhir_max_pages=2).read(PATIENT_QUERY)
    assert len(httpserver.log) == 2


def test_a_next_link_to_another_host_is_refused(base, httpserver):
    elsewhere = base.replace("localhost", "127.0.0.1")
    httpserver.expect_request("/fhir/Condition").respond_with_json(
        searchset(condition("c1"), next_url=f"{elsewhere}?page=2")
    )

    with pytest.raises(FhirServerNotAllowed, match="next link"):
        server_for(base).read(PATIENT_QUERY)
    assert len(httpserver.log) == 1


def test_a_relative_next_link_is_resolved_against_the_page(base, httpserver):
    httpserver.expect_oneshot_request("/fhir/Condition").respond_with_json(searchset(condition("c1"), next_url="?page=2"))
    httpserver.expect_request("/fhir/Condition", query_string={"page": "2"}).respond_with_json(searchset(condition("c2")))

    bundle = server_for(base).read("Condition")

    assert [e["resource"]["id"] for e in bundle["entry"]] == ["c1", "c2"]


# --- size cap -----------------------------------------------------------------------


def test_a_declared_oversize_response_is_refused(base, httpserver):
    httpserver.expect_request("/fhir/Patient/p1").respond_with_json({"resourceType": "Patient", "text": "x" * 5000})

    with pytest.raises(FhirResponseTooLarge):
        server_for(base, fhir_max_response_bytes=1000).read("Patient/p1")


def test_a_streamed_response_is_cut_off_at_the_cap_without_reading_it_all(base, httpserver):
    sent = []

    def endless(_request):
        def body():
            yield b'{"resourceType": "Patient", "text": "'
            for _ in range(10_000):  # ~10 MB if read to the end
                sent.append(1)
                yield b"x" * 1024
            yield b'"}'

        return Response(body(), content_type="application/json")  # chunked: no Content-Length

    httpserver.expect_request("/fhir/Patient/p1").respond_with_handler(endless)

    with pytest.raises(FhirResponseTooLarge):
        server_for(base, fhir_max_response_bytes=64 * 1024).read("Patient/p1")
    assert len(sent) < 10_000


def test_the_cap_covers_all_pages_of_one_fetch(base, httpserver):
    padding = "x" * 600
    httpserver.expect_request("/fhir/Condition").respond_with_json(
        {**searchset(condition("c1"), next_url=f"{base}?page=2"), "id": padding}
    )
    httpserver.expect_request("/fhir", query_string={"page": "2"}).respond_with_json(
        {**searchset(condition("c2")), "id": padding}
    )

    with pytest.raises(FhirResponseTooLarge):
        server_for(base, fhir_max_response_bytes=1000).read("Condition")


# --- redirects ------------------------------------------------------------------------


def test_a_redirect_within_the_server_is_followed(base, httpserver):
    httpserver.expect_request("/fhir/Patient/old").respond_with_response(
        Response(status=301, headers={"Location": "/fhir/Patient/new"})
    )
    httpserver.expect_request("/fhir/Patient/new").respond_with_json({"resourceType": "Patient", "id": "new"})

    assert server_for(base).read("Patient/old")["id"] == "new"


@pytest.mark.parametrize("target", ["http://127.0.0.1:{port}/fhir/Patient/p1", "http://localhost:1/fhir/Patient/p1",
                                    "https://attacker.example.org/steal", "/admin/Patient/p1"])
def test_a_redirect_to_another_host_or_outside_the_base_is_refused(base, httpserver, target):
    httpserver.expect_request("/fhir/Patient/p1").respond_with_response(
        Response(status=302, headers={"Location": target.format(port=httpserver.port)})
    )

    with pytest.raises(FhirServerNotAllowed, match="redirect"):
        server_for(base).read("Patient/p1")
    assert len(httpserver.log) == 1


def test_redirect_loops_end(base, httpserver):
    httpserver.expect_request("/fhir/Patient/p1").respond_with_response(
        Response(status=307, headers={"Location": "/fhir/Patient/p1"})
    )

    with pytest.raises(FhirFetchFailed, match="redirected more than"):
        server_for(base).read("Patient/p1")


# --- time -----------------------------------------------------------------------------


def test_an_exhausted_budget_makes_no_request(base, httpserver):
    with pytest.raises(FhirTimeBudgetExceeded):
        server_for(base, budget=0).read("Patient/p1")
    assert httpserver.log == []


def test_a_trickling_server_cannot_outlast_the_budget(base, httpserver):
    def trickle(_request):
        def body():
            yield b'{"resourceType": "Patient", "text": "'
            for _ in range(100):  # 10 s in all, each byte well inside the read timeout
                time.sleep(0.1)
                yield b"x"
            yield b'"}'

        return Response(body(), content_type="application/json")

    httpserver.expect_request("/fhir/Patient/p1").respond_with_handler(trickle)

    with pytest.raises(FhirTimeBudgetExceeded):
        server_for(base, budget=0.5, fhir_read_timeout=2.0).read("Patient/p1")


# --- logs -----------------------------------------------------------------------------


def test_logs_name_the_host_and_status_but_never_the_token_or_the_query(base, httpserver, caplog):
    httpserver.expect_request("/fhir/Condition").respond_with_json(searchset(condition("c1")))
    httpserver.expect_request("/fhir/Patient/sentinel-patient-4711").respond_with_json({}, status=500)

    with caplog.at_level(logging.DEBUG):
        server_for(base).read(PATIENT_QUERY)
        with pytest.raises(FhirFetchFailed):
            server_for(base).read("Patient/sentinel-patient-4711")

    # werkzeug's lines are the stub FHIR server's own access log, not this service's
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name != "werkzeug")
    assert "host=localhost status=200" in ours
    assert "status=500" in ours
    assert TOKEN not in ours
    assert "sentinel-patient-4711" not in ours
