"""Patient handouts at ``/handouts/``: public, cacheable HTML pages that cards link to.

The pages come from the content providers that are also ``HandoutSource``s;
this module only routes, chooses the language and sets the HTTP headers. It is
public (no auth): the reader is a patient with a link, not an EHR.

Language of ``/handouts/{id}``, among the languages its source declares:
the ``lang`` query parameter when present, else the best ``Accept-Language``,
else the source's first language. A ``lang`` the source lacks gives the first
language rather than falling through to ``Accept-Language``: the link asked
for one language explicitly, and the default is the predictable answer.
``Content-Language`` names the language actually served (a handout missing
in the chosen language is served in the first one).

An unknown id is answered with a small bilingual HTML 404 page (not the JSON
error body of the API endpoints): whoever follows a handout link is a person
in a browser.

The id -> source map, the index page and the 404 page are built once per app
when the blueprint is registered, so a request is a lookup.
"""

from __future__ import annotations

from collections.abc import Sequence
from html.parser import HTMLParser

from flask import Blueprint, Response, current_app, request
from flask.blueprints import BlueprintSetupState
from jinja2 import Environment, PackageLoader

from cds_hooks import language
from cds_content import HandoutSource
from cds_hooks.content import ContentError
from cds_hooks.runtime import EXTENSION_KEY

bp = Blueprint("handouts", __name__, url_prefix="/handouts")

CATALOG_KEY = "bme_cds.handouts"
# Handouts change only with a content release; an hour keeps a fix from waiting long in caches.
CACHE_SECONDS = 3600
# The pages are self-contained: one inline stylesheet, no scripts, images, fonts or forms.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

_templates = Environment(
    loader=PackageLoader("cds_hooks", "templates"), autoescape=True, trim_blocks=True, lstrip_blocks=True
)


class HandoutCatalog:
    """Which source serves each handout id, plus the pre-rendered index and 404 pages."""

    def __init__(self, sources: Sequence[HandoutSource]):
        self._source_of: dict[str, HandoutSource] = {}
        for source in sources:
            for handout_id in source.handout_ids():
                if handout_id in self._source_of:
                    raise ContentError(f"two content providers define handout id {handout_id!r}")
                self._source_of[handout_id] = source
        listings = [(handout_id, self._titles(handout_id)) for handout_id in self._source_of]
        self.index_page = _templates.get_template("handouts_index.html").render(listings=listings)
        self.not_found_page = _templates.get_template("handout_not_found.html").render()

    def page(self, handout_id: str, lang: str | None, accept_language: str | None) -> tuple[str, str] | None:
        """``(language served, HTML)`` for the ``lang`` parameter or else the ``Accept-Language`` header,
        falling back to the source's first language; ``None`` if the id is unknown."""
        source = self._source_of.get(handout_id)
        if source is None:
            return None
        languages = source.languages
        if lang is not None:
            wanted = language.supported(lang, languages)
        else:
            wanted = language.from_accept_language(accept_language, languages)
        for candidate in dict.fromkeys((wanted or languages[0], languages[0])):
            html = source.render_handout(handout_id, candidate)
            if html is not None:
                return candidate, html
        return None

    def _titles(self, handout_id: str) -> list[tuple[str, str]]:
        """``(language, page title)`` for each of its source's languages the handout exists in."""
        source = self._source_of[handout_id]
        titles = []
        for candidate in source.languages:
            html = source.render_handout(handout_id, candidate)
            if html is not None:
                titles.append((candidate, _page_title(html) or handout_id))
        return titles


@bp.record_once
def _build_catalog(state: BlueprintSetupState) -> None:
    registry = state.app.extensions[EXTENSION_KEY].registry
    state.app.extensions[CATALOG_KEY] = HandoutCatalog(registry.handout_sources())


@bp.get("/")
def index() -> Response:
    """Every handout, with a link per language."""
    return _cacheable(_html(_catalog().index_page))


@bp.get("/<handout_id>")
def handout(handout_id: str) -> Response:
    """One handout as a printable HTML page."""
    catalog = _catalog()
    found = catalog.page(handout_id, request.args.get("lang"), request.headers.get("Accept-Language"))
    if found is None:
        return _html(catalog.not_found_page, status=404)
    served, page = found
    response = _html(page)
    response.headers["Content-Language"] = served
    response.vary.add("Accept-Language")
    return _cacheable(response)


def _catalog() -> HandoutCatalog:
    return current_app.extensions[CATALOG_KEY]


def _html(body: str, status: int = 200) -> Response:
    response = Response(body, status=status, mimetype="text/html")
    response.headers.update(SECURITY_HEADERS)
    return response


def _cacheable(response: Response) -> Response:
    response.cache_control.public = True
    response.cache_control.max_age = CACHE_SECONDS
    response.add_etag()
    return response.make_conditional(request)


class _TitleParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.title = ""
        self._inside = False

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self._inside = tag == "title"

    def handle_endtag(self, tag: str) -> None:
        self._inside = False

    def handle_data(self, data: str) -> None:
        if self._inside:
            self.title += data


def _page_title(html: str) -> str:
    parser = _TitleParser()
    parser.feed(html)
    return " ".join(parser.title.split())
