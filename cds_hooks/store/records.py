"""Plain values the store accepts, so callers never touch ORM objects."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

Outcome = Literal["accepted", "overridden"]


@dataclass(frozen=True)
class OverrideReason:
    """Why a clinician dismissed a card: a coded reason, a free-text comment, or both."""

    system: str | None = None
    code: str | None = None
    display: str | None = None
    user_comment: str | None = None


@dataclass(frozen=True)
class FeedbackItem:
    """One entry of a CDS Hooks 2.0 feedback body, already validated for shape."""

    card_uuid: str
    outcome: Outcome
    outcome_timestamp: datetime
    accepted_suggestions: tuple[str, ...] = ()
    override_reason: OverrideReason | None = None
