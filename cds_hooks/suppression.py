"""Alert-fatigue control: an info card a clinician dismissed stays quiet for a while, unless its data changed.

A card that keeps coming back after a clinician said "not relevant" teaches
clinicians to ignore every card. So an **info** card is left out of a hook
answer when, within the last ``settings.suppression_days`` days, a card from
the same service on the same topic for the same patient (compared by keyed
hash, never by id) was overridden *and said exactly the same thing*.

"The same thing" is the card's :func:`fingerprint`: its summary, its detail
(which names the evidence behind it: the finding and its date, the
conditions, the orders) and the codes it suggests. A new finding, condition or
order changes the detail or the suggestions, so the card is shown again.

Warning and critical cards are never suppressed: a safety warning must not go
quiet because an earlier one was dismissed. ``BME_CDS_SUPPRESSION_ENABLED=0``
switches the whole mechanism off.

The read runs in the caller's transaction (``hooks.py``), which records the
shown cards in the same transaction: one commit per hook call instead of two.
If the database cannot be asked, the caller shows every card (showing a card
is the safe side) when auth is off, and answers 503 when auth is on, because
the cards could not be recorded for feedback either.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from cds_hooks.runtime import current_runtime
from cds_hooks.store import StoreTransaction

SUPPRESSIBLE_INDICATOR = "info"
_CODED_ELEMENTS = ("code", "medicationCodeableConcept")


def fingerprint(card: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of what a card tells the clinician; uuids and link URLs are left out, so only content counts."""
    suggestions = sorted(
        [suggestion.get("label", ""), sorted(_action_codes(action) for action in suggestion.get("actions") or ())]
        for suggestion in card.get("suggestions") or ()
    )
    content = [card.get("summary", ""), card.get("detail", ""), suggestions]
    return hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


def without_quiet_cards(
    transaction: StoreTransaction, service_id: str, patient_id: str, cards: Sequence[dict[str, Any]]
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The cards to show, and the fingerprint of each shown card by uuid (to record with it).

    Raises :class:`~cds_hooks.store.StoreUnavailable` when the overrides cannot be read.
    """
    fingerprints = {card["uuid"]: fingerprint(card) for card in cards if card.get("uuid")}
    quiet = _quiet_pairs(transaction, service_id, patient_id, cards)
    shown = [card for card in cards if not _is_quiet(card, fingerprints, quiet)]
    return shown, {card["uuid"]: fingerprints[card["uuid"]] for card in shown if card.get("uuid")}


def _quiet_pairs(
    transaction: StoreTransaction, service_id: str, patient_id: str, cards: Sequence[Mapping[str, Any]]
) -> set[tuple[str, str]]:
    """``(topic, fingerprint)`` pairs overridden within the quiet period, for the suppressible cards at hand."""
    settings = current_runtime().settings
    topics = {_topic(card) for card in cards if card.get("indicator") == SUPPRESSIBLE_INDICATOR} - {None}
    if not (settings.suppression_enabled and topics and patient_id):
        return set()
    since = datetime.now(UTC) - timedelta(days=settings.suppression_days)
    return transaction.overridden_fingerprints(service_id, patient_id, topics, since)


def _is_quiet(card: Mapping[str, Any], fingerprints: Mapping[str, str], quiet: set[tuple[str, str]]) -> bool:
    if card.get("indicator") != SUPPRESSIBLE_INDICATOR:
        return False
    return (_topic(card), fingerprints.get(card.get("uuid", ""))) in quiet


def _topic(card: Mapping[str, Any]) -> str | None:
    return ((card.get("source") or {}).get("topic") or {}).get("code")


def _action_codes(action: Mapping[str, Any]) -> list[str]:
    resource = action.get("resource") or {}
    codes = [action.get("type", ""), resource.get("resourceType", "")]
    for element in _CODED_ELEMENTS:
        codes.extend(f"{c.get('system')}|{c.get('code')}" for c in (resource.get(element) or {}).get("coding") or ())
    return codes
