"""The adapter between the engine and the CDS Hooks service: discovery and hook calls end to end."""

from __future__ import annotations

import uuid

from cds_content import ContentProvider, HandoutSource, HookCall
from cds_content import KnowledgeProvider
from engine_scenarios import SCENARIOS
from support.outcomes import error_of


class FakeHandouts:
    def handout_ids(self):
        return ["blood-lipids"]

    def render_handout(self, handout_id, language):
        return f"<html><body>{handout_id} in {language}</body></html>" if handout_id == "blood-lipids" else None


def test_each_plan_is_one_service(lipid_kb):
    provider = KnowledgeProvider(lipid_kb, languages=("en", "es"))
    assert isinstance(provider, ContentProvider)
    services = {s.id: s for s in provider.services()}
    assert set(services) == {"lipid-patient-view", "lipid-order-select"}
    view = services["lipid-patient-view"]
    assert view.hook == "patient-view"
    assert view.description.startswith("Engine test content")
    assert view.usage_requirements.startswith("Call on patient-view")
    assert view.prefetch["patient"] == "Patient/{{context.patientId}}"
    assert view.required_keys() == {"patient", "conditions", "observations"}


def test_handouts_only_when_given(lipid_kb):
    assert not isinstance(KnowledgeProvider(lipid_kb, languages=("en", "es")), HandoutSource)
    provider = KnowledgeProvider(lipid_kb, languages=("en", "es"), handouts=FakeHandouts())
    assert isinstance(provider, HandoutSource)
    assert provider.render_handout("blood-lipids", "es") == "<html><body>blood-lipids in es</body></html>"
    assert provider.knowledge_base is lipid_kb


def test_evaluate_passes_the_call_through(lipid_kb):
    scenario = SCENARIOS["hyperlipidemia-snomed-no-panel"]
    call = HookCall(
        service_id="lipid-patient-view",
        hook="patient-view",
        hook_instance=str(uuid.uuid4()),
        context=scenario.context(),
        prefetch=scenario.prefetch(),
        base_url="https://cds.example.org",
        language="es",
    )
    [card] = KnowledgeProvider(lipid_kb, languages=("en", "es")).evaluate(call)
    assert card["links"][0]["url"] == "https://cds.example.org/handouts/blood-lipids?lang=es"


def test_discovery_and_a_hook_call_through_the_service(make_app, lipid_kb):
    client = make_app(providers=[KnowledgeProvider(lipid_kb, languages=("en", "es"))]).test_client()
    services = {s["id"]: s for s in client.get("/cds-services").get_json()["services"]}
    assert services["lipid-order-select"]["prefetch"] == {
        "observations": "Observation?patient={{context.patientId}}&code=http://loinc.org|57698-3"
    }
    scenario = SCENARIOS["both-cards"]
    body = {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "context": scenario.context(),
        "prefetch": scenario.prefetch(),
    }
    response = client.post("/cds-services/lipid-patient-view", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    cards = response.get_json()["cards"]
    assert [c["indicator"] for c in cards] == ["info", "warning"]
    assert cards[0]["links"][0]["url"].startswith("http://localhost/handouts/blood-lipids?lang=")


def test_a_hook_call_past_its_evaluation_time_budget_is_a_503(make_app, lipid_kb):
    client = make_app(providers=[KnowledgeProvider(lipid_kb, languages=("en",))], evaluation_time_budget=-1.0).test_client()
    scenario = SCENARIOS["both-cards"]
    body = {"hook": "patient-view", "hookInstance": str(uuid.uuid4()), "context": scenario.context(),
            "prefetch": scenario.prefetch()}
    response = client.post("/cds-services/lipid-patient-view", json=body)
    assert response.status_code == 503
    assert "time budget" in error_of(response)["message"]
