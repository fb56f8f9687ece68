"""The demo patients: valid FHIR, every card type covered, and each hook call gives the cards it promises."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fhir.resources.R4B.bundle import Bundle

from cds_hooks.app import create_app
from cds_hooks.response_model import validate_cards
from cds_hooks.runtime import EXTENSION_KEY
from cds_hooks.settings import Settings
from plugin.demo.patients import DEMO_PATIENTS

from .clinic import SERVICE_FOR_HOOK

VISITS = [(patient, visit) for patient in DEMO_PATIENTS for visit in patient.visits]


@pytest.fixture(scope="module")
def http(bme, tmp_path_factory):
    """One app for all demo calls of this module (the per-test ``make_app`` would rebuild it per visit)."""
    directory = tmp_path_factory.mktemp("demo-http")
    settings = Settings(auth_enabled=False, database_url=f"sqlite:///{directory / 'db.sqlite3'}", instance_dir=str(directory))
    app = create_app(settings, providers=[bme])
    app.extensions[EXTENSION_KEY].store.migrate()
    return app.test_client()


def test_there_are_at_least_ten_demo_patients_with_unique_ids():
    ids = [patient.id for patient in DEMO_PATIENTS]
    assert len(ids) >= 10
    assert len(set(ids)) == len(ids)
    assert all(patient_id.startswith("demo-") for patient_id in ids)


def test_demo_visits_cover_every_card_type_and_a_patient_without_cards():
    by_hook: dict[str, set[str]] = {}
    for _, visit in VISITS:
        by_hook.setdefault(visit.hook, set()).update(visit.expected_topics)
    assert by_hook["patient-view"] == {"bme-secondary", "bme-syndrome-workup", "bme-infection", "bme-cancer",
                                       "imaging-mri-next", "imaging-xray-first", "imaging-red-flag", "bme-charcot-foot"}
    assert by_hook["order-select"] == {"imaging-cannot-show-bme"}
    assert by_hook["order-sign"] == {"nsaid-caution"}
    assert any(not visit.expected_topics for _, visit in VISITS if visit.hook == "patient-view")
    assert any(not visit.expected_topics for _, visit in VISITS if visit.hook == "order-sign")


@pytest.mark.parametrize(("patient", "visit"), VISITS, ids=[f"{p.id}-{v.hook}" for p, v in VISITS])
def test_demo_hook_call_gives_the_promised_cards(patient, visit, http, demo_patients):
    record = next(r for r in demo_patients if r.id == patient.id)
    (request,) = [r for r in record.requests if r.service_id == SERVICE_FOR_HOOK[visit.hook]]
    assert request.description == visit.shows
    response = http.post(f"/cds-services/{request.service_id}", json=request.body)
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    validate_cards(body)
    assert sorted(card["source"]["topic"]["code"] for card in body["cards"]) == sorted(visit.expected_topics), visit.shows


def test_nsaid_warning_for_an_older_patient_offers_paracetamol(http, demo_patients):
    record = next(r for r in demo_patients if r.id == "demo-margaret-chen")
    (request,) = [r for r in record.requests if r.service_id == "bme-order-sign"]
    (card,) = http.post("/cds-services/bme-order-sign", json=request.body).get_json()["cards"]
    assert card["indicator"] == "warning"
    assert "65" in card["detail"]
    assert any("aracetamol" in s["label"] or "cetaminophen" in s["label"] for s in card["suggestions"])


@pytest.mark.parametrize("record_index", range(len(DEMO_PATIENTS)))
def test_demo_bundle_is_a_valid_r4_transaction_that_keeps_ids(record_index, demo_patients):
    record = demo_patients[record_index]
    Bundle.model_validate(record.bundle)
    assert record.bundle["type"] == "transaction"
    for entry in record.bundle["entry"]:
        resource = entry["resource"]
        assert entry["request"] == {"method": "PUT", "url": f"{resource['resourceType']}/{resource['id']}"}
        if resource["resourceType"] != "Patient":
            assert resource["subject"] == {"reference": f"Patient/{record.id}"}


def test_demo_patients_have_realistic_names_and_ages(demo_patients):
    for record in demo_patients:
        patient = record.bundle["entry"][0]["resource"]
        assert patient["resourceType"] == "Patient"
        assert record.name == f"{patient['name'][0]['given'][0]} {patient['name'][0]['family']}"
        assert record.name.split()[0].istitle() and not record.name.startswith("demo")
        assert "birthDate" in patient and "gender" in patient


def test_demo_data_command_writes_bundles_hook_calls_and_an_index(tmp_path, cli_runner):
    result = cli_runner(["demo-data", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    index = json.loads((tmp_path / "out" / "index.json").read_text())
    assert len(index) == len(DEMO_PATIENTS)
    margaret = next(item for item in index if item["patientId"] == "demo-margaret-chen")
    assert margaret["name"] == "Margaret Chen"
    bundle = json.loads((tmp_path / "out" / margaret["bundle"]).read_text())
    assert bundle["type"] == "transaction"
    calls = {call["serviceId"]: call for call in margaret["hookCalls"]}
    assert set(calls) == {"bme-patient-view", "bme-order-sign"}
    body = json.loads((tmp_path / "out" / calls["bme-order-sign"]["file"]).read_text())
    assert body["hook"] == "order-sign"
    assert body["context"]["patientId"] == "demo-margaret-chen"
    assert body["prefetch"]["patient"]["id"] == "demo-margaret-chen"
    assert "NSAID" in calls["bme-order-sign"]["shows"]


def test_the_sandbox_guide_describes_every_demo_patient():
    guide = (Path(__file__).resolve().parents[2] / "docs" / "sandbox.md").read_text(encoding="utf-8")
    for patient in DEMO_PATIENTS:
        assert f"| `{patient.id}` | {patient.name}, {patient.person.age} |" in guide, patient.id


def _icd_codings(value):
    """Every ICD-10-CM coding anywhere in a JSON value."""
    if isinstance(value, dict):
        if value.get("system") == "http://hl7.org/fhir/sid/icd-10-cm":
            yield value
        for item in value.values():
            yield from _icd_codings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _icd_codings(item)


def test_demo_icd10_codes_exist_and_carry_their_official_description(bme):
    import simple_icd_10_cm

    codings = list(_icd_codings(bme.demo_bundles()))
    assert codings
    for coding in codings:
        assert simple_icd_10_cm.is_valid_item(coding["code"]), coding
        assert coding["display"] == simple_icd_10_cm.get_description(coding["code"]), coding


def test_building_the_demo_data_does_not_load_the_icd10_tree():
    """A demo worker stays small: the ICD-10-CM tree is for validation and tests only."""
    import subprocess
    import sys

    code = ("import sys; from plugin import provider; p = provider(); p.demo_bundles(); p.demo_hook_requests(); "
            "sys.exit('simple_icd_10_cm' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
