"""/healthz, /metrics, request ids and the one-line-per-request log."""

from __future__ import annotations

import json
import logging

import pytest
from prometheus_client.parser import text_string_to_metric_families

from sqlalchemy import text

from cds_hooks.app import create_app
from cds_hooks.runtime import EXTENSION_KEY
from cds_hooks.observability import JsonFormatter
from cds_hooks.settings import Settings
from support.bodies import PATIENT_ID, patient_view
from support.providers import GreeterProvider
from support.outcomes import error_of

ACCESS_LOGGER = "cds_hooks.access"


def samples(client) -> dict[tuple[str, frozenset], float]:
    """Every sample of /metrics as {(name, labels): value}."""
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.get_data(as_text=True))
        for sample in family.samples
    }


def hook_labels(status: str, service_id: str = "greeter") -> frozenset:
    return frozenset({"route": "/cds-services/<service_id>", "service_id": service_id, "status": status}.items())


# --- health -------------------------------------------------------------------------


def test_healthz_is_ok_while_the_database_answers(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_healthz_is_503_json_when_the_database_is_unreachable(tmp_path):
    settings = Settings(auth_enabled=False, database_url=f"sqlite:///{tmp_path}/no/such/dir/db.sqlite3",
                        instance_dir=str(tmp_path / "instance"))
    client = create_app(settings, providers=[GreeterProvider()]).test_client()

    response = client.get("/healthz")

    assert response.status_code == 503
    assert error_of(response)["code"] == "unavailable"


def test_healthz_is_503_when_the_sqlite_file_is_deleted_under_the_running_service(make_app, tmp_path):
    client = make_app().test_client()
    assert client.get("/healthz").status_code == 200

    (tmp_path / "app0.sqlite3").unlink()

    response = client.get("/healthz")
    assert response.status_code == 503
    assert error_of(response)["message"] == "the database file is gone"


def test_healthz_is_503_when_the_schema_is_not_the_one_this_version_needs(make_app, fresh_database_url):
    app = make_app(database_url=fresh_database_url)
    client = app.test_client()
    assert client.get("/healthz").status_code == 200

    with app.extensions[EXTENSION_KEY].store.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0004'"))

    response = client.get("/healthz")
    assert response.status_code == 503
    assert "revision 0004" in error_of(response)["message"]


# --- metrics ------------------------------------------------------------------------


def test_metrics_count_requests_and_latency_by_service_and_status(client):
    client.post("/cds-services/greeter", json=patient_view())
    client.post("/cds-services/greeter", json=patient_view())
    client.post("/cds-services/greeter", json=patient_view(prefetch={}))  # 412
    client.get("/cds-services")

    values = samples(client)

    assert values[("bme_cds_http_requests_total", hook_labels("200"))] == 2
    assert values[("bme_cds_http_requests_total", hook_labels("412"))] == 1
    discovery = frozenset({"route": "/cds-services", "service_id": "", "status": "200"}.items())
    assert values[("bme_cds_http_requests_total", discovery)] == 1
    assert values[("bme_cds_http_request_duration_seconds_count", hook_labels("200"))] == 2
    assert values[("bme_cds_http_request_duration_seconds_bucket", hook_labels("200") | {("le", "+Inf")})] == 2
    cards = frozenset({"service_id": "greeter", "indicator": "info"}.items())
    assert values[("bme_cds_cards_issued_total", cards)] == 2


def test_unknown_service_ids_do_not_become_metric_labels(client):
    client.post("/cds-services/probe-1234", json={})

    text = client.get("/metrics").get_data(as_text=True)

    assert "probe-1234" not in text
    assert ("bme_cds_http_requests_total", hook_labels("404", service_id="")) in samples(client)


def test_each_app_has_its_own_metrics(make_app):
    first, second = make_app().test_client(), make_app().test_client()
    first.post("/cds-services/greeter", json=patient_view())

    assert ("bme_cds_http_requests_total", hook_labels("200")) in samples(first)
    assert ("bme_cds_http_requests_total", hook_labels("200")) not in samples(second)


# --- request ids and logs -----------------------------------------------------------


def test_a_sane_request_id_is_echoed(client):
    response = client.get("/cds-services", headers={"X-Request-ID": "ehr-7f3a.42:1"})

    assert response.headers["X-Request-ID"] == "ehr-7f3a.42:1"


@pytest.mark.parametrize("incoming", ["", "has space", "x" * 200, "<script>", "id;drop", "trailing-newline\n"])
def test_an_odd_request_id_is_replaced(client, incoming):
    # Set in the WSGI environ directly: the test client itself refuses a newline in a header.
    response = client.get("/cds-services", environ_overrides={"HTTP_X_REQUEST_ID": incoming})

    assert response.headers["X-Request-ID"] != incoming
    assert len(response.headers["X-Request-ID"]) == 32


def access_lines(caplog) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == ACCESS_LOGGER]


def test_one_log_line_per_request_with_what_an_operator_needs(client, caplog):
    with caplog.at_level(logging.INFO, logger="cds_hooks"):
        response = client.post("/cds-services/greeter", json=patient_view(), headers={"X-Request-ID": "req-1"})

    (line,) = access_lines(caplog)
    assert line.fields == {
        "request_id": "req-1",
        "method": "POST",
        "route": "/cds-services/<service_id>",
        "status": 200,
        "duration_ms": line.fields["duration_ms"],
        "service_id": "greeter",
        "cards": 1,
    }
    assert line.fields["duration_ms"] >= 0
    assert response.status_code == 200


def test_logs_never_carry_patient_ids_tokens_or_names(make_app, greeter, caplog, httpserver):
    token = "sentinel-fhir-token-9f2c"
    patient_id = "sentinel-patient-31337"
    name = "Sentinelia"
    fhir = httpserver.url_for("/fhir")
    httpserver.expect_request(f"/fhir/Patient/{patient_id}").respond_with_json(
        {"resourceType": "Patient", "id": patient_id, "name": [{"given": [name]}]}
    )
    httpserver.expect_request("/fhir/Condition").respond_with_json({"resourceType": "OperationOutcome"}, status=500)
    client = make_app(providers=[greeter], fhir_allowlist=(fhir,)).test_client()
    body = patient_view(fhirServer=fhir, fhirAuthorization={"access_token": token}, prefetch={"user": None})
    body["context"]["patientId"] = patient_id

    with caplog.at_level(logging.DEBUG):
        ok = client.post("/cds-services/greeter", json=body)
        refused = client.post("/cds-services/greeter", json={**body, "fhirServer": "https://elsewhere.example.org"})

    assert ok.status_code == 200 and name in ok.json["cards"][0]["summary"]
    assert refused.status_code == 412
    ours = [r for r in caplog.records if r.name != "werkzeug"]  # werkzeug: the stub FHIR server's own log
    assert len(ours) >= 4
    text = "\n".join(r.getMessage() for r in ours) + "\n".join(json.dumps(getattr(r, "fields", {})) for r in ours)
    for secret in (token, patient_id, name):
        assert secret not in text


def test_json_log_format_gives_one_object_per_line(make_app, caplog):
    client = make_app(log_format="json").test_client()

    with caplog.at_level(logging.INFO, logger="cds_hooks"):
        client.post("/cds-services/greeter", json=patient_view())

    (line,) = access_lines(caplog)
    entry = json.loads(JsonFormatter().format(line))
    assert entry["logger"] == ACCESS_LOGGER and entry["level"] == "INFO"
    assert entry["service_id"] == "greeter" and entry["status"] == 200 and entry["cards"] == 1
    assert PATIENT_ID not in json.dumps(entry)


def test_json_format_is_what_the_handler_writes(make_app, capfd):
    make_app(log_format="json").test_client().get("/cds-services")

    lines = [line for line in capfd.readouterr().err.splitlines() if line.startswith("{")]
    entries = [json.loads(line) for line in lines]
    assert any(e.get("route") == "/cds-services" and e.get("status") == 200 for e in entries)


def test_an_unknown_log_format_stops_startup(make_app):
    with pytest.raises(ValueError, match="log_format"):
        make_app(log_format="xml")
