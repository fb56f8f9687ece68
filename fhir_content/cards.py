"""RequestGroup -> CDS Hooks 2.0.1 cards, following the mapping table in docs/content-authoring.md.

This is the one place the mapping lives in code. Every optional card field is
left out when it would be empty, as the CDS Hooks spec requires.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit

from fhir_content.plans import IS_RECOMMENDED, OVERRIDE_REASON

INDICATORS = {"routine": "info", "urgent": "warning", "stat": "critical"}
SUGGESTION_TYPES = {"create": "create", "update": "update", "remove": "delete"}
RECOMMENDING_PRIORITIES = ("urgent", "stat")


def absolute_url(url: str, base_url: str, language: str | None = None) -> str:
    """An absolute URL: relative ones are joined to ``base_url`` and get ``?lang=`` when a language is given."""
    if urlsplit(url).scheme:
        return url
    joined = f"{base_url.rstrip('/')}/{url.lstrip('/')}"
    if language:
        joined += ("&" if "?" in joined else "?") + urlencode({"lang": language})
    return joined


def cards_from_request_group(group: Mapping[str, Any], *, base_url: str, language: str) -> list[dict[str, Any]]:
    """One card per top-level RequestGroup action, each with a fresh ``uuid``."""
    contained = {f"#{r['id']}": r for r in group.get("contained") or ()}
    return [_card(action, contained, base_url, language) for action in group.get("action") or ()]


def _card(action: Mapping[str, Any], contained: Mapping[str, dict], base_url: str, language: str) -> dict[str, Any]:
    documentation = action.get("documentation") or []
    citation = next(d for d in documentation if d.get("type") == "citation")
    topic = action["code"][0]["coding"][0]
    source: dict[str, Any] = {
        "label": citation["display"],
        "topic": {k: topic[k] for k in ("system", "code", "display")},
    }
    if citation.get("url"):
        source["url"] = absolute_url(citation["url"], base_url)
    card: dict[str, Any] = {
        "uuid": str(uuid.uuid4()),
        "summary": action["title"],
        "indicator": INDICATORS[action["priority"]],
        "source": source,
    }
    if action.get("description"):
        card["detail"] = action["description"]
    suggestions = [_suggestion(nested, contained) for nested in action.get("action") or ()]
    if suggestions:
        card["suggestions"] = suggestions
        card["selectionBehavior"] = action.get("selectionBehavior", "any")
    reasons = [e["valueCoding"] for e in action.get("extension") or () if e.get("url") == OVERRIDE_REASON]
    if reasons:
        card["overrideReasons"] = [dict(r) for r in reasons]
    links = [
        {"label": d["display"], "url": absolute_url(d["url"], base_url, language), "type": "absolute"}
        for d in documentation
        if d.get("type") == "documentation"
    ]
    if links:
        card["links"] = links
    return card


def _copy(value: Any) -> Any:
    """A deep copy of a JSON value (what ``$apply`` builds), without ``copy.deepcopy``'s general machinery.

    The card must not share objects with the RequestGroup or the compiled
    content (``dict(code)`` in ``$apply`` is shallow); anything but JSON
    types still goes through ``copy.deepcopy``.
    """
    kind = type(value)
    if kind is dict:
        return {key: _copy(item) for key, item in value.items()}
    if kind is list:
        return [_copy(item) for item in value]
    if kind in (str, int, float, bool) or value is None:
        return value
    return copy.deepcopy(value)


def _suggestion(nested: Mapping[str, Any], contained: Mapping[str, dict]) -> dict[str, Any]:
    kind = SUGGESTION_TYPES[nested["type"]["coding"][0]["code"]]
    reference = nested["resource"]["reference"]
    action: dict[str, Any] = {"type": kind, "description": nested.get("description") or nested["title"]}
    if kind == "delete":
        action["resourceId"] = reference
    else:
        resource = _copy(contained[reference])
        if kind == "create":
            resource.pop("id")  # a local id only; the EHR assigns the real one
        action["resource"] = resource
    suggestion: dict[str, Any] = {"label": nested["title"], "uuid": str(uuid.uuid4()), "actions": [action]}
    recommended = next((e["valueBoolean"] for e in nested.get("extension") or () if e.get("url") == IS_RECOMMENDED), None)
    if recommended is None and nested.get("priority") in RECOMMENDING_PRIORITIES:
        recommended = True
    if recommended is not None:
        suggestion["isRecommended"] = recommended
    return suggestion
