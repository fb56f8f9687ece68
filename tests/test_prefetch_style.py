"""BME_CDS_PREFETCH_STYLE=3.0: discovery advertises today()-bounded templates and the fallback resolves them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from cds_content import HookCall, ServiceDefinition
from cds_hooks.prefetch import render
from cds_hooks.prefetch_style import bounded
from support.bodies import PATIENT, PATIENT_ID, patient_view, searchset

OBSERVATIONS = "Observation?patient={{context.patientId}}"
BOUNDED = OBSERVATIONS + "&date=ge{{today() - 730 days}}"


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        (OBSERVATIONS, BOUNDED),
        ("Observation?patient={{context.patientId}}&code=http://loinc.org|62238-1",
         "Observation?patient={{context.patientId}}&code=http://loinc.org|62238-1&date=ge{{today() - 730 days}}"),
        ("Observation?patient={{context.patientId}}&date=ge2020-01-01", "Observation?patient={{context.patientId}}&date=ge2020-01-01"),
        ("Condition?patient={{context.patientId}}", "Condition?patient={{context.patientId}}"),
        ("Patient/{{context.patientId}}", "Patient/{{context.patientId}}"),
    ],
)
def test_only_observation_searches_get_the_two_year_bound(template, expected):
    assert bounded(template) == expected


@pytest.mark.parametrize(
    ("token", "expected"),
    [("today()", "2026-03-01"), ("today() - 730 days", "2024-03-01"), ("today() + 1 day", "2026-03-02"),
     ("today()-90 days", "2025-12-01")],
)
def test_today_tokens_resolve_to_dates(token, expected):
    assert render("Observation?date=ge{{" + token + "}}", {}, today=date(2026, 3, 1)) == f"Observation?date=ge{expected}"


def test_an_unknown_style_stops_startup(make_app):
    with pytest.raises(ValueError, match="BME_CDS_PREFETCH_STYLE"):
        make_app(prefetch_style="2.5")


SERVICE = ServiceDefinition(
    id="vitals", hook="patient-view", title="Vitals", description="Counts observations.",
    prefetch={"patient": "Patient/{{context.patientId}}", "observations": OBSERVATIONS},
)


class CountingProvider:
    languages = ("en",)

    def services(self) -> list[ServiceDefinition]:
        return [SERVICE]

    def evaluate(self, call: HookCall) -> list[dict]:
        count = len(call.prefetch["observations"].get("entry", []))
        return [{"summary": f"{count} observations", "indicator": "info", "source": {"label": "test"}}]


def test_default_discovery_keeps_2_0_templates(make_app):
    (service,) = make_app(providers=[CountingProvider()]).test_client().get("/cds-services").json["services"]
    assert service["prefetch"]["observations"] == OBSERVATIONS


def test_3_0_discovery_and_fallback_use_the_same_bound(make_app, httpserver):
    base = httpserver.url_for("/fhir")
    client = make_app(providers=[CountingProvider()], prefetch_style="3.0", fhir_allowlist=(base,)).test_client()
    (service,) = client.get("/cds-services").json["services"]
    assert service["prefetch"] == {"patient": "Patient/{{context.patientId}}", "observations": BOUNDED}

    two_years_ago = (datetime.now(UTC).date() - timedelta(days=730)).isoformat()
    httpserver.expect_request("/fhir/Observation", query_string={"patient": PATIENT_ID, "date": f"ge{two_years_ago}"}
                              ).respond_with_json(searchset({"resourceType": "Observation", "id": "o1"}))
    response = client.post("/cds-services/vitals", json=patient_view(fhirServer=base, prefetch={"patient": PATIENT}))

    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.json["cards"][0]["summary"] == "1 observations"
    assert [r.full_path for r, _ in httpserver.log] == [f"/fhir/Observation?patient={PATIENT_ID}&date=ge{two_years_ago}"]
