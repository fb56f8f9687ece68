"""Choose the language of cards and handout pages among the languages a content provider declares.

CDS Hooks 2.0.1 has no standard field for the user's language, so a client
may put a BCP-47 tag in the hook context as ``userLanguage``; otherwise the
HTTP ``Accept-Language`` header decides (a browser-based client sends it),
and the provider's first language is the default. Only the primary subtag
counts: ``es-MX`` is Spanish. The service itself offers no language list:
each provider names its own (``ContentProvider.languages``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

CONTEXT_FIELD = "userLanguage"


def supported(tag: object, languages: Sequence[str]) -> str | None:
    """The language of ``languages`` a BCP-47 tag names (``"es-419"`` -> ``"es"``), else ``None``."""
    if not isinstance(tag, str):
        return None
    primary = tag.strip().split("-", 1)[0].split("_", 1)[0].lower()
    return primary if primary in languages else None


def from_accept_language(header: str | None, languages: Sequence[str]) -> str | None:
    """The most preferred of ``languages`` in an ``Accept-Language`` header, else ``None``.

    Werkzeug's ``best_match`` prefers an exact ``en`` at q=0.5 over ``es-MX``
    at q=1, so the header is read here by primary subtag and quality.
    """
    if not header:
        return None
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate(header.split(",")):
        tag, _, params = item.partition(";")
        language = supported(tag, languages)
        if language is None:
            continue
        quality = _quality(params)
        if quality > 0:
            ranked.append((-quality, position, language))
    return min(ranked)[2] if ranked else None


def choose(context: Mapping[str, Any], accept_language: str | None, languages: Sequence[str]) -> str:
    """The language for one hook call: context ``userLanguage``, then ``Accept-Language``, then ``languages[0]``."""
    return (
        supported(context.get(CONTEXT_FIELD), languages)
        or from_accept_language(accept_language, languages)
        or languages[0]
    )


def _quality(params: str) -> float:
    for param in params.split(";"):
        name, _, value = param.strip().partition("=")
        if name.strip().lower() == "q":
            try:
                return float(value)
            except ValueError:
                return 0.0
    return 1.0
