"""fhirAuthorization.scope in SMART v1 and v2 syntax: the service fetches only what the scope grants.

Parsing is checked directly; fetching against a real local FHIR server
(pytest-httpserver) whose log shows every request the service made.
"""

from __future__ import annotations

import copy

import pytest

from cds_content import HookCall, ServiceDefinition
from cds_hooks.smart_scopes import parse
from support.bodies import PATIENT, PATIENT_ID, patient_view, searchset
from support.outcomes import error_of

LABS = "Observation?patient={{context.patientId}}&category=laboratory"
VITALS = "Observation?patient={{context.patientId}}&category=vital-signs"
PATIENT_READ = "Patient/{{context.patientId}}"


@pytest.mark.parametrize(
    ("scope", "template"),
    [
        ("patient/Observation.read", LABS),  # v1
        ("patient/Patient.read", PATIENT_READ),
        ("user/*.read", LABS),
        ("patient/*.*", PATIENT_READ),
        ("patient/*.* user/*.* launch openid profile online_access", VITALS),  # what the sandbox sends
        ("patient/Observation.rs", LABS),  # v2
        ("patient/Patient.r", PATIENT_READ),
        ("user/Observation.cruds", VITALS),
        ("patient/Observation.rs?category=laboratory", LABS),  # granular
        ("patient/Observation.s?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory",
         "Observation?patient={{context.patientId}}&category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory"),
        ("patient/Observation.rs?category=laboratory,vital-signs", VITALS),
    ],
)
def test_granted(scope, template):
    assert parse(scope).missing_for(template) is None


@pytest.mark.parametrize(
    ("scope", "template", "needed"),
    [
        ("patient/Condition.read", LABS, "patient/Observation.s"),
        ("patient/Observation.write", LABS, "patient/Observation.s"),
        ("launch openid profile", PATIENT_READ, "patient/Patient.r"),
        ("patient/Observation.r", LABS, "patient/Observation.s"),  # v2: a read grant is no search grant
        ("patient/Patient.s", PATIENT_READ, "patient/Patient.r"),
        ("patient/Observation.rs?category=laboratory", VITALS,
         "patient/Observation.s (granted only for category=laboratory)"),
        ("patient/Observation.rs?category=laboratory", "Observation?patient={{context.patientId}}",
         "patient/Observation.s (granted only for category=laboratory)"),
    ],
)
def test_not_granted_names_the_scope_it_needs(scope, template, needed):
    assert parse(scope).missing_for(template) == needed


# --- fetching against a local FHIR server -------------------------------------------------------------

LAB_SERVICE = ServiceDefinition(
    id="labs",
    hook="patient-view",
    title="Labs",
    description="Counts the patient's lab and vital-sign observations.",
    prefetch={"patient": PATIENT_READ, "labs": LABS, "vitals": VITALS},
    required_prefetch=frozenset({"patient", "labs"}),
)


class LabProvider:
    """One card saying which prefetch keys arrived, so a test sees what the service fetched."""

    languages = ("en",)

    def services(self) -> list[ServiceDefinition]:
        return [LAB_SERVICE]

    def evaluate(self, call: HookCall) -> list[dict]:
        present = ", ".join(sorted(key for key, value in call.prefetch.items() if value is not None))
        return [{"summary": f"had {present}", "indicator": "info", "source": {"label": "test"}}]


@pytest.fixture
def lab_client(make_app, httpserver):
    return make_app(providers=[LabProvider()], fhir_allowlist=(httpserver.url_for("/fhir"),)).test_client()


def call(client, httpserver, scope: str):
    body = patient_view(fhirServer=httpserver.url_for("/fhir"), fhirAuthorization={
        "access_token": "scope-test-token", "token_type": "Bearer", "expires_in": 300, "scope": scope, "subject": "bme-cds",
    })
    body.pop("prefetch", None)
    return client.post("/cds-services/labs", json=body)


def serve(httpserver) -> None:
    httpserver.expect_request(f"/fhir/Patient/{PATIENT_ID}").respond_with_json(copy.deepcopy(PATIENT))
    httpserver.expect_request("/fhir/Observation").respond_with_json(searchset())


def requested(httpserver) -> list[str]:
    return sorted(request.full_path.rstrip("?") for request, _ in httpserver.log)


@pytest.mark.parametrize("scope", ["patient/*.read", "patient/Patient.rs patient/Observation.rs", "user/*.rs"])
def test_a_scope_granting_everything_fetches_every_key(lab_client, httpserver, scope):
    serve(httpserver)
    response = call(lab_client, httpserver, scope)

    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.json["cards"][0]["summary"] == "had labs, patient, vitals"
    assert len(requested(httpserver)) == 3


def test_a_granular_scope_fetches_its_category_and_leaves_out_an_optional_other(lab_client, httpserver):
    serve(httpserver)
    response = call(lab_client, httpserver, "patient/Patient.r patient/Observation.rs?category=laboratory")

    assert response.status_code == 200
    assert response.json["cards"][0]["summary"] == "had labs, patient"
    assert requested(httpserver) == [
        f"/fhir/Observation?patient={PATIENT_ID}&category=laboratory",
        f"/fhir/Patient/{PATIENT_ID}",
    ]


@pytest.mark.parametrize(
    ("scope", "needed"),
    [
        ("patient/Patient.read", "patient/Observation.s"),
        ("patient/Patient.rs patient/Observation.rs?category=vital-signs",
         "patient/Observation.s (granted only for category=vital-signs)"),
    ],
)
def test_a_required_key_the_scope_does_not_grant_is_a_412_and_nothing_is_fetched(lab_client, httpserver, scope, needed):
    serve(httpserver)
    response = call(lab_client, httpserver, scope)

    assert response.status_code == 412
    error = error_of(response)
    assert error["expression"] == ["prefetch.labs"]
    assert f"labs: fhirAuthorization.scope does not grant {needed}" in error["message"]
    assert requested(httpserver) == []


def test_prefetch_the_client_sent_needs_no_scope(lab_client, httpserver):
    body = patient_view(fhirServer=httpserver.url_for("/fhir"), prefetch={
        "patient": PATIENT, "labs": searchset(), "vitals": None,
    }, fhirAuthorization={"access_token": "t", "token_type": "Bearer", "expires_in": 300, "scope": "openid",
                          "subject": "bme-cds"})

    response = lab_client.post("/cds-services/labs", json=body)

    assert response.status_code == 200 and requested(httpserver) == []


def test_an_empty_scope_is_a_400(lab_client, httpserver):
    response = call(lab_client, httpserver, "")

    assert response.status_code == 400 and error_of(response)["field"] == "fhirAuthorization.scope"
