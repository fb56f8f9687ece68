"""Turn a provider's cards into the spec-exact hook response, or refuse them.

Providers promise clean cards; this is the last line of defence before JSON
leaves the service. It repairs only what has one obviously right repair -
empty values are dropped (the spec forbids ``null``, ``""``, ``[]``, ``{}``),
a missing ``uuid`` is generated (feedback needs one), a card with suggestions
but no ``selectionBehavior`` gets ``any`` (the content contract's default) -
and then validates the whole body with :mod:`cds_hooks.response_model`.
Anything else (a summary of 140 characters or more, an unknown indicator, a
card without a source) is a content bug: :class:`InvalidCards` is raised
rather than cutting clinical text or dropping a card silently.
"""

from __future__ import annotations

import uuid
from typing import Any

from cds_hooks.response_model import ValidationError, first_problem, validate_cards


class InvalidCards(RuntimeError):
    """A provider returned cards that cannot be sent; the message names the field, never patient data."""


def hook_response(cards: Any) -> dict[str, Any]:
    """The response body ``{"cards": [...]}`` for a provider's cards; raises :class:`InvalidCards`."""
    if not isinstance(cards, list):
        raise InvalidCards(f"evaluate() must return a list of cards, not {type(cards).__name__}")
    body = {"cards": [_complete_card(card) for card in (prune(card) for card in cards) if card is not None]}
    try:
        validate_cards(body)
    except ValidationError as exc:
        field, message = first_problem(exc)
        raise InvalidCards(f"invalid card output at {field}: {message}") from None
    return body


def prune(value: Any) -> Any:
    """A copy of JSON-like ``value`` without ``None``, ``""``, ``[]`` or ``{}`` at any depth.

    Returns ``None`` when nothing is left. Run on every answer, so a leaf
    (most of a card is strings) is judged in the loop, without a call of its own.
    """
    if isinstance(value, dict):
        kept = {}
        for key, item in value.items():
            if isinstance(item, dict | list):
                item = prune(item)
            if item is not None and item != "":
                kept[key] = item
        return kept or None
    if isinstance(value, list):
        kept_items = []
        for item in value:
            if isinstance(item, dict | list):
                item = prune(item)
            if item is not None and item != "":
                kept_items.append(item)
        return kept_items or None
    return None if value is None or value == "" else value


def _complete_card(card: Any) -> Any:
    if not isinstance(card, dict):
        return card  # validation names it
    _give_uuid(card)
    suggestions = card.get("suggestions")
    if isinstance(suggestions, list):
        card.setdefault("selectionBehavior", "any")
        for suggestion in suggestions:
            if isinstance(suggestion, dict):
                _give_uuid(suggestion)
    return card


def _give_uuid(item: dict[str, Any]) -> None:
    """A fresh ``uuid`` unless the provider gave one (made only then: ``setdefault`` would make one every time)."""
    if "uuid" not in item:
        item["uuid"] = str(uuid.uuid4())
