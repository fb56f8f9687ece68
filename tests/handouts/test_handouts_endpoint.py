"""GET /handouts/ and /handouts/<id>: language choice, headers, 404 page, public access."""

from __future__ import annotations

from typing import Any

import pytest

from cds_content import HookCall, ServiceDefinition
from cds_hooks.content import ContentError
from handout_html import HANDOUT_IDS, LANGUAGES, parse
from plugin.handouts import bme_handouts

_HANDOUTS = bme_handouts()


class HandoutProvider:
    """A provider with no services that serves the bundled handouts (optionally only some languages)."""

    def __init__(self, languages: tuple[str, ...] = LANGUAGES):
        self.languages = languages

    def services(self) -> list[ServiceDefinition]:
        return []

    def evaluate(self, call: HookCall) -> list[dict[str, Any]]:
        return []

    def handout_ids(self) -> tuple[str, ...]:
        return _HANDOUTS.handout_ids()

    def render_handout(self, handout_id: str, language: str) -> str | None:
        if language not in self.languages:
            return None
        return _HANDOUTS.render_handout(handout_id, language)


@pytest.fixture
def client(make_app):
    return make_app(providers=[HandoutProvider()]).test_client()


def _served_language(response) -> tuple[str | None, str]:
    return parse(response.get_data(as_text=True)).html_lang, response.headers["Content-Language"]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("handout_id", HANDOUT_IDS)
def test_each_handout_is_served_in_the_language_asked_for(client, handout_id, language):
    response = client.get(f"/handouts/{handout_id}?lang={language}")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert _served_language(response) == (language, language)
    assert response.get_data(as_text=True) == _HANDOUTS.render_handout(handout_id, language)


@pytest.mark.parametrize("header", ["es", "es-MX,es;q=0.9,en;q=0.5", "fr-FR, es;q=0.8", "en;q=0.3, es-419"])
def test_accept_language_picks_spanish(client, header):
    response = client.get("/handouts/bme-basics", headers={"Accept-Language": header})
    assert _served_language(response) == ("es", "es")


@pytest.mark.parametrize("header", [None, "", "fr", "*", "en-GB,en;q=0.9,es;q=0.5"])
def test_english_when_the_browser_prefers_nothing_we_offer_or_english(client, header):
    headers = {"Accept-Language": header} if header is not None else {}
    response = client.get("/handouts/bme-basics", headers=headers)
    assert _served_language(response) == ("en", "en")


def test_lang_parameter_wins_over_accept_language(client):
    response = client.get("/handouts/nsaid-safety?lang=en", headers={"Accept-Language": "es"})
    assert _served_language(response) == ("en", "en")


@pytest.mark.parametrize("lang", ["ES", "es-MX"])
def test_lang_parameter_uses_the_primary_subtag_case_insensitively(client, lang):
    response = client.get(f"/handouts/nsaid-safety?lang={lang}")
    assert _served_language(response) == ("es", "es")


@pytest.mark.parametrize("lang", ["fr", "", "xx-YY"])
def test_unsupported_lang_falls_back_to_english_and_says_so(client, lang):
    response = client.get(f"/handouts/bone-infection?lang={lang}", headers={"Accept-Language": "es"})
    assert response.status_code == 200
    assert _served_language(response) == ("en", "en")


def test_a_source_without_the_chosen_language_serves_english(make_app):
    client = make_app(providers=[HandoutProvider(languages=("en",))]).test_client()
    response = client.get("/handouts/bme-basics?lang=es")
    assert response.status_code == 200
    assert _served_language(response) == ("en", "en")


def test_pages_are_publicly_cacheable_and_vary_by_accept_language(client):
    response = client.get("/handouts/mri-knee-hip")
    assert response.cache_control.public is True
    assert response.cache_control.max_age == 3600
    assert "Accept-Language" in response.vary


def test_a_cached_copy_is_revalidated_with_its_etag(client):
    first = client.get("/handouts/mri-knee-hip?lang=es")
    again = client.get("/handouts/mri-knee-hip?lang=es", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    other_language = client.get("/handouts/mri-knee-hip?lang=en", headers={"If-None-Match": first.headers["ETag"]})
    assert other_language.status_code == 200


def test_pages_forbid_scripts_and_outside_resources(client):
    response = client.get("/handouts/bme-basics")
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy
    assert "script-src" not in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_unknown_handout_is_a_404_html_page_pointing_to_the_list(client):
    response = client.get("/handouts/no-such-sheet?lang=es")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    page = parse(response.get_data(as_text=True))
    assert "Handout not found" in page.text and "No encontramos esta hoja" in page.text
    assert ("a", "href", "./") in page.attributes
    assert "no-such-sheet" not in response.get_data(as_text=True)
    assert "Cache-Control" not in response.headers or not response.cache_control.public


def test_handouts_are_public_even_with_auth_on(make_app):
    client = make_app(providers=[HandoutProvider()], auth_enabled=True).test_client()
    assert client.get("/handouts/bme-basics").status_code == 200
    assert client.get("/handouts/").status_code == 200


def test_index_lists_every_handout_in_both_languages_with_working_links(client):
    response = client.get("/handouts/")
    assert response.status_code == 200
    assert response.cache_control.public is True
    page = parse(response.get_data(as_text=True))
    links = [value for tag, name, value in page.attributes if tag == "a" and name == "href"]
    assert links == [f"{handout_id}?lang={language}" for handout_id in HANDOUT_IDS for language in LANGUAGES]
    for link in links:
        target = client.get(f"/handouts/{link}")
        assert target.status_code == 200
        assert parse(target.get_data(as_text=True)).title in page.text


def test_index_with_no_handout_sources_says_so(make_app):
    client = make_app(providers=[]).test_client()
    response = client.get("/handouts/")
    assert response.status_code == 200
    assert "No handouts are available." in parse(response.get_data(as_text=True)).text


def test_two_sources_claiming_one_handout_id_stop_startup(make_app):
    with pytest.raises(ContentError, match="handout id 'bme-basics'"):
        make_app(providers=[HandoutProvider(), HandoutProvider()])
