"""Plain values the store accepts, so callers never touch ORM objects."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

Outcome = Literal["accepted", "overridden"]


@dataclass(frozen=True)
class JtiClaim:
    """A verified token's id, to record once: ``expires_at`` is the last moment the token could be accepted.

    Keep ``expires_at`` no earlier than that, or a replay after the row is purged would pass.
    """

    issuer: str
    jti: str
    expires_at: datetime


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


@dataclass(frozen=True)
class CardOutcomeCount:
    """Cards of one service and topic (and issue day, when asked for): how many were issued, accepted, overridden.

    ``accepted`` and ``overridden`` count cards, not feedback entries: a card
    counts once, with the outcome of its latest entry.
    """

    service_id: str
    topic: str | None
    day: date | None
    issued: int
    accepted: int
    overridden: int


@dataclass(frozen=True)
class OverrideReasonCount:
    """How often cards of one service and topic were overridden with one reason (``code`` None: no coded reason)."""

    service_id: str
    topic: str | None
    system: str | None
    code: str | None
    display: str | None
    count: int
