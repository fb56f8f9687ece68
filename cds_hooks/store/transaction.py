"""The statements of a hook call, run inside one transaction the caller opens with :meth:`Store.transaction`.

A hook call needs up to three database operations: claim the token's ``jti``,
read which of the patient's cards were overridden (suppression), record the
cards it returns. Each used to be its own transaction, and on PostgreSQL each
transaction is a pool checkout, ``BEGIN``, the statement and ``COMMIT``.
:class:`StoreTransaction` lets the suppression read and the record share one
transaction (the ``jti`` claim stays on its own, run before the body is even
parsed: see ``hooks.py`` for why; on PostgreSQL it is one autocommit statement).

The statements are built once, at import: SQLAlchemy spends more time
building a ``select`` with its operators than executing it on SQLite, while
a prebuilt statement with bound parameters is looked up in its compiled cache.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Table, bindparam, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from cds_hooks.store.patient_hash import PatientHasher
from cds_hooks.store.schema import Feedback, IssuedCard, SeenJti

issued_cards: Table = IssuedCard.__table__  # type: ignore[assignment]
feedback: Table = Feedback.__table__  # type: ignore[assignment]
seen_jti: Table = SeenJti.__table__  # type: ignore[assignment]


def _ignoring_duplicates(table: Table) -> dict[str, Any]:
    """INSERT ... ON CONFLICT DO NOTHING per dialect name, atomic on both supported backends."""
    return {
        "postgresql": postgresql.insert(table).on_conflict_do_nothing(),
        "sqlite": sqlite.insert(table).on_conflict_do_nothing(),
    }


INSERT_ISSUED_CARDS = _ignoring_duplicates(issued_cards)
# RETURNING, not rowcount: psycopg reports -1 for a skipped ON CONFLICT insert.
CLAIM_JTI = {name: insert.returning(seen_jti.c.token_key) for name, insert in _ignoring_duplicates(seen_jti).items()}
OVERRIDDEN_FINGERPRINTS = (
    select(issued_cards.c.topic_code, issued_cards.c.fingerprint)
    .distinct()
    .where(
        issued_cards.c.service_id == bindparam("service_id"),
        issued_cards.c.patient_hash == bindparam("patient_hash"),
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


class StoreTransaction:
    """Operations on one open connection; they commit (or roll back) together when the transaction ends."""

    def __init__(self, connection: Connection, patient_hasher: PatientHasher):
        self._connection = connection
        self._patient_hasher = patient_hasher

    def claim_jti(self, issuer: str, jti: str, expires_at: datetime) -> bool:
        """Record a token id; False if it was seen before (once this transaction commits, by anyone sharing the database)."""
        token_key = hashlib.sha256(f"{issuer}\x00{jti}".encode()).hexdigest()
        statement = CLAIM_JTI[self._connection.dialect.name]
        inserted = self._connection.execute(statement, {"token_key": token_key, "expires_at": expires_at}).first()
        return inserted is not None

    def overridden_fingerprints(
        self, service_id: str, patient_id: str, topics: Collection[str], since: datetime
    ) -> set[tuple[str, str]]:
        """``(topic, fingerprint)`` of this patient's cards on ``topics`` overridden since ``since`` (server time)."""
        parameters = {
            "service_id": service_id,
            "patient_hash": self._patient_hasher.hash(patient_id),
            "topics": list(topics),
            "since": since,
        }
        return {(row.topic_code, row.fingerprint) for row in self._connection.execute(OVERRIDDEN_FINGERPRINTS, parameters)}

    def record_issued_cards(
        self,
        *,
        service_id: str,
        hook_instance: str,
        patient_id: str,
        cards: Sequence[Mapping[str, Any]],
        fingerprints: Mapping[str, str] | None = None,
    ) -> None:
        """Remember the cards just returned so their feedback can be validated later.

        Cards without a ``uuid`` cannot receive feedback and are not stored. A
        card uuid already recorded for this service keeps its first record.
        ``fingerprints`` maps a card uuid to what the card said (for suppression).
        """
        patient_hash = self._patient_hasher.hash(patient_id)
        issued_at = datetime.now(UTC)
        fingerprints = fingerprints or {}
        rows = [
            _issued_card_row(card, service_id, hook_instance, patient_hash, issued_at, fingerprints.get(card["uuid"]))
            for card in cards
            if card.get("uuid")
        ]
        if rows:
            self._connection.execute(INSERT_ISSUED_CARDS[self._connection.dialect.name], rows)


def _issued_card_row(
    card: Mapping[str, Any],
    service_id: str,
    hook_instance: str,
    patient_hash: str,
    issued_at: datetime,
    fingerprint: str | None,
) -> dict[str, Any]:
    topic = (card.get("source") or {}).get("topic") or {}
    return {
        "service_id": service_id,
        "card_uuid": card["uuid"],
        "hook_instance": hook_instance,
        "patient_hash": patient_hash,
        "topic_code": topic.get("code"),
        "indicator": card.get("indicator", "info"),
        "suggestion_uuids": [s["uuid"] for s in card.get("suggestions") or () if s.get("uuid")],
        "issued_at": issued_at,
        "fingerprint": fingerprint,
    }
