"""Patient handouts in one or more languages, rendered to HTML once, when the content loads.

Generic: a content package keeps its handouts in a directory with a
``catalog.json`` (handout ids, languages, the page labels per language) and
one ``<id>.json`` per handout, and serves them with ``Handouts(directory)``.

Why the text lives in data: each handout is one ``<id>.json`` file where every
heading, paragraph and list item holds its wording in every language side by
side. A reviewer reads the languages together, and the loader refuses a file
where one language is missing, so the versions cannot drift apart in
structure. The HTML layout is this package's ``templates/`` (Jinja2,
autoescaped), shared by every content package.

Why pre-render: the handouts are static, so every page is rendered here and
serving one is a dictionary lookup.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

CATALOG_FILE = "catalog.json"
PAGE_TEMPLATE = "handout.html"


class HandoutError(ValueError):
    """A handout file is malformed; the message names the file and the JSON path."""


@dataclass(frozen=True)
class Block:
    """A paragraph (``kind == "p"``, one item) or a bulleted list (``kind == "ul"``)."""

    kind: str
    items: tuple[str, ...]


@dataclass(frozen=True)
class Section:
    key: str
    heading: str
    blocks: tuple[Block, ...]
    emphasis: bool = False


@dataclass(frozen=True)
class Page:
    """One handout in one language, ready for the template."""

    id: str
    language: str
    title: str
    lead: str
    sections: tuple[Section, ...]
    version: str
    reviewed: str


class Handouts:
    """The handouts in ``directory``: ``handout_ids`` and ``render_handout`` of ``cds_content.HandoutSource``.

    A malformed file is refused at load with a message naming the file and
    the JSON path.
    """

    def __init__(self, directory: Path):
        root = Path(directory)
        catalog = _read_json(root / CATALOG_FILE)
        languages: tuple[str, ...] = tuple(catalog["languages"])
        self.languages = languages
        ids: tuple[str, ...] = tuple(catalog["handouts"])
        pages: dict[tuple[str, str], Page] = {}
        related: dict[str, tuple[str, ...]] = {}
        for handout_id in ids:
            path = root / f"{handout_id}.json"
            data = _read_json(path)
            _check(data.get("id") == handout_id, path, "id", f"must be {handout_id!r}")
            related[handout_id] = tuple(data.get("related", ()))
            for reference in related[handout_id]:
                known = reference in ids and reference != handout_id
                _check(known, path, "related", f"{reference!r} is not another handout of the catalog")
            for language in languages:
                pages[handout_id, language] = _page(data, language, languages, path)
        self._ids = ids
        self._pages: dict[tuple[str, str], str] = _render_all(pages, related, catalog["labels"], languages)

    def handout_ids(self) -> tuple[str, ...]:
        return self._ids

    def render_handout(self, handout_id: str, language: str) -> str | None:
        """The full HTML page, or ``None`` for an unknown id or a language this source does not offer."""
        return self._pages.get((handout_id, language))


def _render_all(
    pages: Mapping[tuple[str, str], Page],
    related: Mapping[str, tuple[str, ...]],
    labels: Mapping[str, Mapping[str, str]],
    languages: tuple[str, ...],
) -> dict[tuple[str, str], str]:
    env = Environment(
        loader=PackageLoader("cds_content", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    template = env.get_template(PAGE_TEMPLATE)
    rendered: dict[tuple[str, str], str] = {}
    for (handout_id, language), page in pages.items():
        rendered[handout_id, language] = template.render(
            page=page,
            labels=labels[language],
            alternates=[(other, labels[other]["language_name"]) for other in languages if other != language],
            related=[(other, pages[other, language].title) for other in related[handout_id]],
        )
    return rendered


def _page(data: Mapping[str, Any], language: str, languages: tuple[str, ...], path: Path) -> Page:
    """Pick one language out of a bilingual handout, checking every text has every language."""

    def field(node: Any, key: str, where: str) -> Any:
        _check(isinstance(node, dict) and key in node, path, where, f"missing {key!r}")
        return node[key]

    def text(node: Any, where: str) -> str:
        _check(isinstance(node, dict) and set(node) == set(languages), path, where, f"needs exactly {list(languages)}")
        value = node[language]
        _check(isinstance(value, str) and value.strip() != "", path, f"{where}.{language}", "must be non-empty text")
        return value

    def block(node: Any, where: str) -> Block:
        shape_ok = isinstance(node, dict) and len(node) == 1 and set(node) <= {"p", "ul"}
        _check(shape_ok, path, where, "must be {'p': text} or {'ul': [text, ...]}")
        if "p" in node:
            return Block("p", (text(node["p"], f"{where}.p"),))
        items = node["ul"]
        _check(isinstance(items, list) and items != [], path, f"{where}.ul", "must be a non-empty list")
        return Block("ul", tuple(text(item, f"{where}.ul[{i}]") for i, item in enumerate(items)))

    raw_sections = field(data, "sections", "$")
    _check(isinstance(raw_sections, list) and raw_sections != [], path, "sections", "must be a non-empty list")
    sections = []
    for s, raw in enumerate(raw_sections):
        where = f"sections[{s}]"
        blocks = field(raw, "blocks", where)
        _check(isinstance(blocks, list) and blocks != [], path, f"{where}.blocks", "must be a non-empty list")
        sections.append(
            Section(
                key=field(raw, "key", where),
                heading=text(field(raw, "heading", where), f"{where}.heading"),
                blocks=tuple(block(b, f"{where}.blocks[{i}]") for i, b in enumerate(blocks)),
                emphasis=raw.get("emphasis", False) is True,
            )
        )
    keys = [section.key for section in sections]
    _check(len(set(keys)) == len(keys), path, "sections", "section keys must be unique")
    return Page(
        id=data["id"],
        language=language,
        title=text(field(data, "title", "$"), "title"),
        lead=text(field(data, "lead", "$"), "lead"),
        sections=tuple(sections),
        version=field(data, "version", "$"),
        reviewed=field(data, "reviewed", "$"),
    )


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise HandoutError(f"{path}: cannot read handout data: {exc}") from exc


def _check(condition: bool, path: Path, where: str, problem: str) -> None:
    if not condition:
        raise HandoutError(f"{path}: {where}: {problem}")
