"""The /preview page in a real browser: demo patient -> real hook call -> cards drawn -> real feedback stored."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import create_engine, select

from cds_hooks.store.schema import Feedback, IssuedCard
from support.store_auth import serving

from .clinic import PATIENTS, SERVICE_FOR_HOOK, hook_request

pytestmark = pytest.mark.browser


@pytest.fixture
def live(demo_app):
    """The demo service with auth ON (the page mints dev-issuer tokens), served on a free port."""
    app = demo_app(auth_enabled=True)
    with serving(app) as base:
        yield base, app.extensions["bme_cds"].settings.database_url


def stored_feedback(database_url):
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            query = select(Feedback.outcome, Feedback.accepted_suggestions, Feedback.override_reason_code, IssuedCard.card_uuid,
                           IssuedCard.topic_code).join(IssuedCard, Feedback.issued_card_id == IssuedCard.id)
            return [row._asdict() for row in connection.execute(query)]
    finally:
        engine.dispose()


def run_demo_call(page, base, patient_id, service_id):
    page.goto(f"{base}/preview")
    page.select_option("#patient", patient_id)
    page.click(f"#calls button[data-service='{service_id}']")
    return page.wait_for_selector("article.card")


def test_a_demo_patient_gets_cards_and_an_accepted_suggestion_is_stored(page, live):
    base, database_url = live
    card = run_demo_call(page, base, "demo-margaret-chen", "bme-patient-view")
    assert "Bone marrow edema on MRI" in card.query_selector("h3.summary").inner_text()
    assert "indicator-info" in card.get_attribute("class")
    assert card.query_selector(".indicator").inner_text().lower() == "info"
    assert card.query_selector(".detail strong").inner_text() == "What the MRI shows."
    assert card.query_selector(".detail ul li") is not None
    assert card.query_selector(".links a").get_attribute("href").startswith(f"{base}/handouts/")
    assert "1 card(s)" in page.inner_text("#status")

    card.query_selector(".suggestions button:has-text('Refer to physical therapy')").click()
    page.wait_for_selector(".card .outcome:has-text('Accepted: Refer to physical therapy')")
    (row,) = stored_feedback(database_url)
    assert row["outcome"] == "accepted"
    assert row["card_uuid"] == card.get_attribute("data-card-uuid")
    assert row["topic_code"] == "bme-secondary"
    assert len(row["accepted_suggestions"]) == 1


def test_a_warning_card_is_dismissed_with_one_of_its_override_reasons(page, live):
    base, database_url = live
    card = run_demo_call(page, base, "demo-robert-alvarez", "bme-patient-view")
    assert "indicator-warning" in card.get_attribute("class")
    card.query_selector(".dismiss select").select_option(label="Does not apply to this patient")
    card.query_selector(".dismiss input").fill("seen by orthopedics today")
    card.query_selector(".dismiss-button").click()
    page.wait_for_selector(".card .outcome:has-text('Dismissed: Does not apply to this patient')")
    (row,) = stored_feedback(database_url)
    assert (row["outcome"], row["override_reason_code"], row["topic_code"]) == ("overridden", "cds-not-applicable", "bme-infection")


def test_a_pasted_hook_request_is_called_on_the_chosen_service(page, live, bme):
    base, _ = live
    body = hook_request(bme, PATIENTS["demo-thomas-becker"], "order-sign")
    page.goto(f"{base}/preview")
    page.click("#paste summary")
    page.select_option("#service", SERVICE_FOR_HOOK["order-sign"])
    page.fill("#request-json", json.dumps(body))
    page.click("#run-pasted")
    card = page.wait_for_selector("article.card")
    assert "indicator-critical" in card.get_attribute("class")
    assert "NSAID" in card.query_selector("h3.summary").inner_text()


def test_an_error_answer_is_shown_not_swallowed(page, live):
    base, _ = live
    page.goto(f"{base}/preview")
    page.click("#paste summary")
    page.fill("#request-json", json.dumps({"hook": "patient-view", "context": {}}))
    page.click("#run-pasted")
    page.wait_for_selector("#status.error")
    assert "HTTP 400: service 'bme-order-select' answers the 'order-select' hook" in page.inner_text("#status")


def test_card_markdown_is_rendered_without_running_or_injecting_markup(page, live):
    base, _ = live
    page.goto(f"{base}/preview")
    html = page.evaluate("""renderMarkdown(
        '<img src=x onerror="window.hacked=1"> **bold** and [safe](https://example.org/a)\\n\\n'
        + '- [bad](javascript:window.hacked=1)\\n- <script>window.hacked=1</script>').outerHTML""")
    assert "<img" not in html and "<script" not in html
    assert "&lt;img" in html and "&lt;script&gt;" in html
    assert "<strong>bold</strong>" in html
    assert 'href="https://example.org/a"' in html
    assert "javascript:" not in html
    assert page.evaluate("window.hacked") is None


def test_several_suggestions_of_one_card_can_be_accepted(page, live):
    base, database_url = live
    card = run_demo_call(page, base, "demo-david-kowalczyk", "bme-patient-view")
    for label in ("Order ESR", "Order CRP"):
        card.query_selector(f".suggestions button:has-text('{label}')").click()
        page.wait_for_selector(f".card .outcome:has-text('Accepted: {label}')")
    rows = stored_feedback(database_url)
    assert [row["outcome"] for row in rows] == ["accepted", "accepted"]
    assert len({row["accepted_suggestions"][0] for row in rows}) == 2
    assert card.query_selector(".dismiss-button").is_disabled()
    assert not card.query_selector(".suggestions button:has-text('Order lipid panel')").is_disabled()
