"""HTTP at the edges: wrong methods, bodies over the limit (declared or chunked, through a real server), odd JSON.

Every JSON endpoint reads its body the same way: at most
``BME_CDS_MAX_BODY_BYTES`` even when the client sends it chunked without a
Content-Length, and parsed strictly, so deep nesting, duplicate keys or
``NaN`` are a 400 naming the problem instead of a 500.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import requests

from cds_hooks.app import create_app
from cds_hooks.runtime import EXTENSION_KEY
from cds_hooks.settings import Settings
from support.store_auth import serving
from support.outcomes import error_of

LIMIT = 16 * 1024
HOOK = "/cds-services/bme-patient-view"
FEEDBACK = "/cds-services/bme-patient-view/feedback"
APPLY = "/fhir/PlanDefinition/bme-patient-view/$apply"
JSON_ENDPOINTS = [HOOK, FEEDBACK, APPLY]


@pytest.fixture(scope="module")
def small_limit_app(bme_providers, tmp_path_factory):
    """The real service with a 16 KiB body limit, so oversized bodies are cheap to send."""
    directory = tmp_path_factory.mktemp("edges")
    settings = Settings(
        auth_enabled=False,
        max_body_bytes=LIMIT,
        database_url=f"sqlite:///{directory / 'db.sqlite3'}",
        instance_dir=str(directory / "instance"),
    )
    app = create_app(settings, providers=bme_providers)
    app.extensions[EXTENSION_KEY].store.migrate()
    yield app
    app.extensions[EXTENSION_KEY].store.close()


def assert_error_body(response, status: int) -> None:
    """An OperationOutcome body (application/fhir+json under /fhir) with this status; Flask or requests response."""
    assert response.status_code == status, response.text[:300]
    assert error_of(response)["message"]
    fhir = urlsplit(response.request.url).path.startswith(("/fhir/", "/demo-fhir/"))
    media_type = response.headers["Content-Type"].split(";")[0]
    assert media_type in (("application/fhir+json", "application/json") if fhir else ("application/json",))


# -- methods --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", HOOK, "POST"),
        ("PUT", HOOK, "POST"),
        ("DELETE", FEEDBACK, "POST"),
        ("POST", "/cds-services", "GET"),
        ("PATCH", "/healthz", "GET"),
        ("POST", "/handouts/bme-basics", "GET"),
        ("PUT", "/fhir/metadata", "GET"),
        ("GET", APPLY, "POST"),
    ],
)
def test_a_wrong_method_is_405_json_naming_the_allowed_ones(bme_app, method, path, allowed):
    response = bme_app.test_client().open(path, method=method)

    assert response.status_code == 405
    assert error_of(response)["issue"] == "not-supported"
    assert allowed in [m.strip() for m in response.headers["Allow"].split(",")]


# -- size -------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", JSON_ENDPOINTS)
def test_a_declared_oversize_body_is_413(small_limit_app, path):
    response = small_limit_app.test_client().post(path, data=b" " * (LIMIT + 1), content_type="application/json")

    assert_error_body(response, 413)


def _chunks(total: int, size: int = 1024):
    """A body without Content-Length: requests sends a generator with Transfer-Encoding: chunked."""
    for start in range(0, total, size):
        yield b" " * min(size, total - start)


@pytest.mark.parametrize("path", JSON_ENDPOINTS)
def test_a_chunked_body_over_the_limit_is_413_through_a_real_server(small_limit_app, path):
    with serving(small_limit_app) as base_url:
        over = requests.post(base_url + path, data=_chunks(4 * LIMIT), headers={"Content-Type": "application/json"}, timeout=30)
        # The same endpoint reads a chunked body under the limit (here: whitespace, so a 400 about the JSON).
        under = requests.post(base_url + path, data=_chunks(LIMIT // 2), headers={"Content-Type": "application/json"}, timeout=30)

    assert over.request.headers.get("Transfer-Encoding") == "chunked" and "Content-Length" not in over.request.headers
    assert_error_body(over, 413)
    assert_error_body(under, 400)


# -- odd JSON -----------------------------------------------------------------------------------

ODD_JSON = {
    "nested 5000 deep": b"[" * 5000 + b"]" * 5000,
    "unclosed 100000 deep": b"[" * 100_000,
    "duplicate keys": b'{"feedback": [], "feedback": [{"card": "x"}]}',
    "NaN": b'{"feedback": NaN}',
    "lone surrogate": b'{"feedback": "\\ud800"}',
    "not UTF-8": b'{"feedback": "\xff"}',
    "huge integer": b'{"feedback": ' + b"9" * 5000 + b"}",
}


@pytest.mark.parametrize("path", [FEEDBACK, APPLY])
@pytest.mark.parametrize("raw", list(ODD_JSON.values()), ids=list(ODD_JSON))
def test_odd_json_on_feedback_and_apply_is_a_400_not_a_500(bme_app, path, raw):
    assert_error_body(bme_app.test_client().post(path, data=raw, content_type="application/json"), 400)


@pytest.mark.parametrize(
    "parameters",
    [
        {"resourceType": "Parameters", "parameter": -1.5e209},
        {"resourceType": "Parameters", "parameter": {"name": "subject"}},
        {"resourceType": "Parameters", "parameter": [{"name": "subject", "valueReference": "Patient/p1"}]},
        {"resourceType": "Parameters", "parameter": [{"name": "subject", "valueString": "p1"},
                                                     {"name": "language", "valueCode": ["es"]}]},
        {"resourceType": "Parameters", "parameter": [{"name": "subject", "valueString": "p1"},
                                                     {"name": "hook", "valueString": {"x": 1}}]},
    ],
    ids=["parameter a number", "parameter an object", "valueReference a string", "language a list", "hook an object"],
)
def test_apply_with_parameters_of_the_wrong_type_is_a_400(bme_app, parameters):
    assert_error_body(bme_app.test_client().post(APPLY, json=parameters), 400)
