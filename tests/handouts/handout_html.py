"""Read a rendered handout page the way a reader or a checker sees it (stdlib html.parser only)."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

# Ids the BME cards link to; a missing one is a broken link in a card.
HANDOUT_IDS = (
    "bme-basics",
    "bme-osteoarthritis",
    "bme-osteoporosis",
    "bme-syndrome",
    "bone-infection",
    "nsaid-safety",
    "mri-knee-hip",
    "bme-cancer",
    "bme-spine",
    "bme-foot-ankle",
)
LANGUAGES = ("en", "es")

_INVISIBLE = {"head", "style", "script", "template"}
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@dataclass
class ParsedPage:
    """What the tests look at: visible text, the section outline, every attribute, the CSS."""

    html_lang: str | None = None
    title: str = ""
    text_parts: list[str] = field(default_factory=list)
    # (section id, [block shapes]) where a block shape is "p" or "ul:<item count>"
    outline: list[tuple[str, list[str]]] = field(default_factory=list)
    attributes: list[tuple[str, str, str]] = field(default_factory=list)  # (tag, name, value)
    tags: set[str] = field(default_factory=set)
    css: str = ""

    section_texts: dict[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """The visible body text, whitespace collapsed."""
        return " ".join(" ".join(self.text_parts).split())


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = ParsedPage()
        self._stack: list[str] = []
        self._section: str | None = None
        self._list_items: int | None = None
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        page = self.page
        page.tags.add(tag)
        for name, value in attrs:
            page.attributes.append((tag, name, value or ""))
        attributes = dict(attrs)
        if tag == "html":
            page.html_lang = attributes.get("lang")
        self._in_title = tag == "title"
        if tag == "section":
            self._section = attributes.get("id") or ""
            page.outline.append((self._section, []))
        elif self._section is not None and tag == "p":
            page.outline[-1][1].append("p")
        elif self._section is not None and tag == "ul":
            self._list_items = 0
        elif self._list_items is not None and tag == "li":
            self._list_items += 1
        if tag not in _VOID:
            self._stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "ul" and self._list_items is not None and self._section is not None:
            self.page.outline[-1][1].append(f"ul:{self._list_items}")
            self._list_items = None
        if tag == "section":
            self._section = None
        if self._stack and self._stack[-1] == tag:
            self._stack.pop()
        self._in_title = False

    def handle_data(self, data: str) -> None:
        page = self.page
        if self._in_title:
            page.title += data
        if "style" in self._stack:
            page.css += data
        if not _INVISIBLE.intersection(self._stack):
            page.text_parts.append(data)
            if self._section is not None:
                page.section_texts[self._section] = page.section_texts.get(self._section, "") + data


def parse(html: str) -> ParsedPage:
    parser = _Parser()
    parser.feed(html)
    parser.close()
    return parser.page
