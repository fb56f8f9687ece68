"""Alert fatigue: a dismissed info card stays quiet for the same data, comes back when the data changes.

Runs on SQLite and (when configured) PostgreSQL, through the real hook and
feedback endpoints with the BME content and the demo patients.
"""

from __future__ import annotations

import pytest

from cds_hooks.settings import Settings
from cds_hooks.suppression import fingerprint
from cds_content.demo import condition, imaging_report
from plugin.demo.codes import MRI, OSTEOPOROSIS_SCT

from .clinic import PATIENTS, cards, send_feedback, topics, with_records

MARGARET = PATIENTS["demo-margaret-chen"]  # knee OA with knee BME: an info card (bme-secondary)
ROBERT = PATIENTS["demo-robert-alvarez"]  # osteomyelitis with BME: a warning (bme-infection)


@pytest.fixture
def clinic(make_feedback_app, store_settings, bme):
    """``clinic(**settings)``: a test client of the BME service on this backend's empty database, auth off."""

    def make(**overrides):
        settings = store_settings.with_overrides(auth_enabled=False, **overrides)
        return make_feedback_app(settings, providers=[bme]).test_client()

    return make


def test_an_overridden_info_card_is_not_shown_again_for_the_same_data(clinic, bme):
    client = clinic()
    (card,) = cards(client, bme, MARGARET)
    assert card["indicator"] == "info"
    send_feedback(client, "bme-patient-view", card, "overridden")
    assert cards(client, bme, MARGARET) == []


def test_a_new_condition_brings_the_card_back(clinic, bme):
    client = clinic()
    (card,) = cards(client, bme, MARGARET)
    send_feedback(client, "bme-patient-view", card, "overridden")
    changed = with_records(MARGARET.id, condition(OSTEOPOROSIS_SCT, onset_days=3))
    assert topics(cards(client, bme, changed)) == ["bme-secondary"]


def test_a_new_mri_finding_brings_the_card_back(clinic, bme):
    client = clinic()
    (card,) = cards(client, bme, MARGARET)
    send_feedback(client, "bme-patient-view", card, "overridden")
    new_mri = imaging_report(MRI["knee"], days=1, conclusion="Bone marrow edema in the lateral tibial plateau.")
    assert topics(cards(client, bme, with_records(MARGARET.id, new_mri))) == ["bme-secondary"]


def test_warning_cards_are_never_suppressed(clinic, bme):
    client = clinic()
    (card,) = cards(client, bme, ROBERT)
    assert card["indicator"] == "warning"
    send_feedback(client, "bme-patient-view", card, "overridden")
    assert topics(cards(client, bme, ROBERT)) == ["bme-infection"]


def test_an_accepted_card_is_shown_again(clinic, bme):
    client = clinic()
    (card,) = cards(client, bme, MARGARET)
    send_feedback(client, "bme-patient-view", card, "accepted")
    assert topics(cards(client, bme, MARGARET)) == ["bme-secondary"]


def test_an_override_for_one_patient_does_not_quiet_another(clinic, bme):
    client = clinic()
    (card,) = cards(client, bme, MARGARET)
    send_feedback(client, "bme-patient-view", card, "overridden")
    sofia = PATIENTS["demo-sofia-marquez"]  # also a bme-secondary info card
    assert topics(cards(client, bme, sofia)) == ["bme-secondary"]


def test_switched_off_the_card_is_shown_again(clinic, bme):
    client = clinic(suppression_enabled=False)
    (card,) = cards(client, bme, MARGARET)
    send_feedback(client, "bme-patient-view", card, "overridden")
    assert topics(cards(client, bme, MARGARET)) == ["bme-secondary"]


def test_after_the_quiet_period_the_card_is_shown_again(clinic, bme):
    client = clinic(suppression_days=0)
    (card,) = cards(client, bme, MARGARET)
    send_feedback(client, "bme-patient-view", card, "overridden")
    assert topics(cards(client, bme, MARGARET)) == ["bme-secondary"]


def test_the_environment_switch_turns_suppression_off():
    assert Settings.from_env({"BME_CDS_SUPPRESSION_ENABLED": "0"}).suppression_enabled is False
    assert Settings.from_env({}).suppression_enabled is True
    assert Settings.from_env({}).suppression_days == 30


def test_the_fingerprint_ignores_uuids_and_links_but_not_what_the_card_says():
    card = {"uuid": "a", "summary": "S", "detail": "D", "indicator": "info",
            "links": [{"label": "h", "url": "https://one.example/h", "type": "absolute"}],
            "suggestions": [{"uuid": "s1", "label": "Order ESR", "actions": [
                {"type": "create", "resource": {"resourceType": "ServiceRequest",
                                                "code": {"coding": [{"system": "http://loinc.org", "code": "4537-7"}]}}}]}]}
    same = {**card, "uuid": "b", "links": [{"label": "h", "url": "https://two.example/h", "type": "absolute"}],
            "suggestions": [{**card["suggestions"][0], "uuid": "s2"}]}
    other_code = {**card, "suggestions": [{**card["suggestions"][0], "actions": [
        {"type": "create", "resource": {"resourceType": "ServiceRequest",
                                        "code": {"coding": [{"system": "http://loinc.org", "code": "1988-5"}]}}}]}]}
    assert fingerprint(same) == fingerprint(card)
    assert fingerprint({**card, "detail": "D, and a new finding"}) != fingerprint(card)
    assert fingerprint(other_code) != fingerprint(card)
