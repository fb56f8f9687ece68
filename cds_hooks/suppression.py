"""Alert-fatigue control: an info card a clinician dismissed stays quiet for a while, unless its data changed.

A card that keeps coming back after a clinician said "not relevant" teaches
clinicians to ignore every card. So an **info** card is left out of a hook
answer when, within the last ``settings.suppression_days`` days, a card from
the same service on the same topic for the same patient of the same tenant
(compared by keyed hash, never by id) was overridden *and said exactly the same thing*.

"The same thing" is the card's :func:`fingerprint`: its summary, its detail
(which names the evidence behind it: the finding and its date, the
conditions, the orders) and the codes it suggests. A new finding, condition or
order changes the detail or the suggestions, so the card is shown again.

Warning and critical cards are never suppressed: a safety warning must not go
quiet because an earlier one was dismissed. ``BME_CDS_SUPPRESSION_ENABLED=0``
switches the whole mechanism off.

The store finds the quiet cards and records the others (the rule is applied
in :mod:`cds_hooks.store.hook_statements`, for both databases). If the
database cannot be asked, the caller shows every card (showing a card is the
safe side) when auth is off, and answers 503 when auth is on, because the
cards could not be recorded for feedback either.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from cds_hooks.runtime import current_runtime
from cds_hooks.store import Store

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


def show_and_record(
    store: Store,
    service_id: str,
    tenant: str,
    hook_instance: str,
    patient_id: str,
    cards: Sequence[dict[str, Any]],
) -> list[dict[str, Any]]:
    """Record the cards of a hook call for feedback and return those to show: all but the quiet ones.

    The store answers which suppressible cards are quiet (for this tenant's
    patient only) and records the rest. Raises
    :class:`~cds_hooks.store.StoreUnavailable` when the database cannot be
    reached.
    """
    settings = current_runtime().settings
    fingerprints = {card["uuid"]: fingerprint(card) for card in cards if card.get("uuid")}
    suppressing = settings.suppression_enabled and bool(patient_id)
    may_be_quiet = {card["uuid"] for card in cards if suppressing and card["uuid"] in fingerprints and _suppressible(card)}
    quiet = store.record_issued_cards(
        service_id=service_id,
        tenant=tenant,
        hook_instance=hook_instance,
        patient_id=patient_id,
        cards=cards,
        fingerprints=fingerprints,
        may_be_quiet=may_be_quiet,
        quiet_since=datetime.now(UTC) - timedelta(days=settings.suppression_days),
    )
    return [card for card in cards if card.get("uuid") not in quiet]


def _suppressible(card: Mapping[str, Any]) -> bool:
    return card.get("indicator") == SUPPRESSIBLE_INDICATOR and _topic(card) is not None


def _topic(card: Mapping[str, Any]) -> str | None:
    return ((card.get("source") or {}).get("topic") or {}).get("code")


def _action_codes(action: Mapping[str, Any]) -> list[str]:
    resource = action.get("resource") or {}
    codes = [action.get("type", ""), resource.get("resourceType", "")]
    for element in _CODED_ELEMENTS:
        codes.extend(f"{c.get('system')}|{c.get('code')}" for c in (resource.get(element) or {}).get("coding") or ())
    return codes
