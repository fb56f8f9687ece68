"""A page from another origin calls the service with a bearer token from a real browser, as the sandbox does.

The ``Authorization`` header makes the browser send a CORS preflight first; the
cards only reach the page if the service answers both the preflight and the
call with the right CORS headers.
"""

from __future__ import annotations

import json

import pytest
from flask import Flask

from cds_hooks.demo.dev_keys import load_or_create_dev_key
from support.store_auth import serving

from .clinic import PATIENTS, hook_request

pytestmark = pytest.mark.browser

CALLER_PAGE = """<!doctype html>
<html><body>
<script>
const config = %s;
fetch(config.url, {
  method: "POST",
  headers: {"Authorization": "Bearer " + config.token, "Content-Type": "application/json"},
  body: JSON.stringify(config.body),
}).then(async (response) => {
  const answer = await response.json();
  document.body.dataset.status = String(response.status);
  document.body.dataset.topics = JSON.stringify((answer.cards || []).map((card) => card.source.topic.code));
}).catch((error) => { document.body.dataset.status = "failed: " + error.message; });
</script>
</body></html>"""


def caller_app(config: dict) -> Flask:
    """Another web application (another port, so another origin) whose page calls the service."""
    app = Flask("other-origin")
    app.add_url_rule("/", "page", lambda: CALLER_PAGE % json.dumps(config))
    return app


def test_a_page_on_another_origin_gets_cards_with_a_bearer_token(page, demo_app, bme):
    service = demo_app(auth_enabled=True)
    instance = service.extensions["bme_cds"].settings.instance_path
    with serving(service) as service_base:
        url = f"{service_base}/cds-services/bme-patient-view"
        config = {"url": url, "token": load_or_create_dev_key(instance).mint_token(url),
                  "body": hook_request(bme, PATIENTS["demo-margaret-chen"])}
        with serving(caller_app(config)) as caller_base:
            assert caller_base != service_base
            page.goto(caller_base)
            page.wait_for_function("document.body.dataset.status !== undefined")
            status = page.evaluate("document.body.dataset.status")
            topics = page.evaluate("document.body.dataset.topics")
    assert status == "200"
    assert json.loads(topics) == ["bme-secondary"]


def test_without_a_valid_token_the_page_sees_a_401_it_can_read(page, demo_app, bme):
    service = demo_app(auth_enabled=True)
    with serving(service) as service_base:
        config = {"url": f"{service_base}/cds-services/bme-patient-view", "token": "not-a-jwt",
                  "body": hook_request(bme, PATIENTS["demo-margaret-chen"])}
        with serving(caller_app(config)) as caller_base:
            page.goto(caller_base)
            page.wait_for_function("document.body.dataset.status !== undefined")
            status = page.evaluate("document.body.dataset.status")
    assert status == "401"
