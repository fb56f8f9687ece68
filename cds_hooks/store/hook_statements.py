"""The database step of a hook call: claim the token's ``jti``; record the cards it returns, leaving quiet ones out.

One implementation for SQLite and PostgreSQL, in SQLAlchemy Core. The only
dialect-specific part is ``INSERT ... ON CONFLICT DO NOTHING``, which
SQLAlchemy builds per dialect (:func:`_insert_ignoring_conflicts`). The
claim comes first, on its own, right after the token's signature is checked
(:mod:`cds_hooks.auth`); the record comes after evaluation, keyed by the
caller's tenant.

The record applies the suppression rule, here and nowhere else: a card that
*may be quiet* (:mod:`cds_hooks.suppression` says which, and since when) *is*
quiet when a card of the same service, tenant, patient and topic with the
same fingerprint was overridden at or after that moment. One ``SELECT`` finds
those overridden cards (only when some card may be quiet), one ``INSERT``
records every card that is not quiet. The caller runs both on one connection
(:meth:`cds_hooks.store.Store.record_issued_cards`).

The statements are built once, at import: SQLAlchemy looks a prebuilt
statement with bound parameters up in its compiled cache instead of building
and compiling it on every call.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Table, bindparam, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from cds_hooks.store.records import JtiClaim
from cds_hooks.store.schema import Feedback, IssuedCard, SeenJti

issued_cards: Table = IssuedCard.__table__  # type: ignore[assignment]
feedback: Table = Feedback.__table__  # type: ignore[assignment]
seen_jti: Table = SeenJti.__table__  # type: ignore[assignment]


def _insert_ignoring_conflicts(table: Table) -> dict[str, Any]:
    """``INSERT ... ON CONFLICT DO NOTHING`` into ``table``, per dialect name."""
    return {"postgresql": postgresql.insert(table).on_conflict_do_nothing(), "sqlite": sqlite.insert(table).on_conflict_do_nothing()}


# RETURNING, not rowcount: a skipped ON CONFLICT insert is told by no row coming back.
CLAIM_JTI = {name: insert.returning(seen_jti.c.token_key) for name, insert in _insert_ignoring_conflicts(seen_jti).items()}
INSERT_ISSUED_CARDS = _insert_ignoring_conflicts(issued_cards)
# The suppression read: one range of the partial index of overridden cards (migration 0004).
OVERRIDDEN_FINGERPRINTS = (
    select(issued_cards.c.topic_code, issued_cards.c.fingerprint)
    .distinct()
    .where(
        issued_cards.c.service_id == bindparam("service_id"),
        issued_cards.c.patient_hash == bindparam("patient_hash"),
        issued_cards.c.tenant == bindparam("tenant"),
        issued_cards.c.topic_code.in_(bindparam("topics", expanding=True)),
        issued_cards.c.fingerprint.is_not(None),
        issued_cards.c.last_overridden_at >= bindparam("since"),
    )
)
# Feedback keeps the latest override with its card (read above); the condition keeps the latest if clocks step back.
MARK_OVERRIDDEN = (
    update(issued_cards)
    .where(
        issued_cards.c.id.in_(bindparam("ids", expanding=True)),
        or_(issued_cards.c.last_overridden_at.is_(None), issued_cards.c.last_overridden_at < bindparam("received_at")),
    )
    .values(last_overridden_at=bindparam("received_at"))
)


@dataclass(frozen=True)
class CardsToRecord:
    """The cards of one hook call as the issued-cards table keeps them.

    ``may_be_quiet`` names the cards that stay out of the answer (and are not
    recorded) if a card of this service on the same topic for the same patient
    said exactly the same (same ``fingerprints`` value) and was overridden at
    or after ``quiet_since``. Which cards may be quiet, and for how long, is
    :mod:`cds_hooks.suppression`'s decision.
    """

    service_id: str
    tenant: str
    hook_instance: str
    patient_hash: str
    cards: Sequence[Mapping[str, Any]]
    fingerprints: Mapping[str, str]
    may_be_quiet: Collection[str] = ()
    quiet_since: datetime | None = None

    def rows(self) -> list[dict[str, Any]]:
        """One row per card with a ``uuid`` (cards without one cannot receive feedback)."""
        return [
            {
                "card_uuid": card["uuid"],
                "topic_code": ((card.get("source") or {}).get("topic") or {}).get("code"),
                "indicator": card.get("indicator", "info"),
                "suggestion_uuids": [s["uuid"] for s in card.get("suggestions") or () if s.get("uuid")],
                "fingerprint": self.fingerprints.get(card["uuid"]),
            }
            for card in self.cards
            if card.get("uuid")
        ]


def claim_jti(connection: Connection, claim: JtiClaim) -> bool:
    """Record a token id; False if it was seen before (once committed, by anyone sharing the database)."""
    parameters = {"token_key": _token_key(claim), "expires_at": claim.expires_at}
    return connection.execute(CLAIM_JTI[connection.dialect.name], parameters).first() is not None


def record_cards(connection: Connection, record: CardsToRecord) -> set[str]:
    """Record the cards that are not quiet; the uuids of the quiet cards.

    A card uuid already recorded for this service keeps its first record.
    """
    rows = record.rows()
    quiet = _quiet(connection, record, rows)
    issued = {"service_id": record.service_id, "tenant": record.tenant, "hook_instance": record.hook_instance,
              "patient_hash": record.patient_hash, "issued_at": datetime.now(UTC)}  # fmt: skip
    shown = [{**issued, **row} for row in rows if row["card_uuid"] not in quiet]
    if shown:
        connection.execute(INSERT_ISSUED_CARDS[connection.dialect.name], shown)
    return quiet


def _quiet(connection: Connection, record: CardsToRecord, rows: list[dict[str, Any]]) -> set[str]:
    """The uuids of the cards that may be quiet and are: the suppression rule."""
    candidates = [row for row in rows if row["card_uuid"] in record.may_be_quiet and row["topic_code"] is not None]
    if not candidates or record.quiet_since is None:
        return set()
    parameters = {
        "service_id": record.service_id,
        "tenant": record.tenant,
        "patient_hash": record.patient_hash,
        "topics": sorted({row["topic_code"] for row in candidates}),
        "since": record.quiet_since,
    }
    overridden = {(row.topic_code, row.fingerprint) for row in connection.execute(OVERRIDDEN_FINGERPRINTS, parameters)}
    return {row["card_uuid"] for row in candidates if (row["topic_code"], row["fingerprint"]) in overridden}


def _token_key(claim: JtiClaim) -> str:
    return hashlib.sha256(f"{claim.issuer}\x00{claim.jti}".encode()).hexdigest()
