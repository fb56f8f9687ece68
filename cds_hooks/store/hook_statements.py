"""The database work of a hook call: claim the token's ``jti``; record the cards it returns, leaving quiet ones out.

Both run on every call, so each is as few round trips, and as little Python,
as the backend allows. The claim comes first, on its own, right after the
token's signature is checked (:mod:`cds_hooks.auth`), so a replayed token
costs one cheap insert whatever its body holds; the record comes after
evaluation, keyed by the caller's tenant.

PostgreSQL: each is **one autocommitted statement**, atomic by itself, run on
psycopg's cursor of the connection the calling thread keeps for them
(:mod:`.thread_connections`) rather than through SQLAlchemy's execution layer, which cost as much client
CPU as the statements themselves. The record is a single statement whose
common table expressions find which of the candidate cards were overridden
with the same content since a date, insert every other card, and return the
uuids of the quiet ones (it replaced a ``BEGIN``, a ``SELECT``, a pipelined
``INSERT`` and a ``COMMIT``). The texts never change, so psycopg prepares
each once per connection; the cards travel as one JSON parameter. Both are
PostgreSQL's own SQL, written here once, in psycopg's ``%(name)s`` style.

SQLite has no data-modifying ``WITH``, and a statement costs it no round trip:
the record is a ``SELECT`` of the overridden cards and an ``INSERT`` of the
rest in one ``BEGIN IMMEDIATE`` transaction (the caller's), with the same
answer, through SQLAlchemy (whose types store SQLite's dates and JSON).

The SQLAlchemy statements are built once, at import: SQLAlchemy spends more
time building a ``select`` with its operators than executing it on SQLite,
while a prebuilt statement with bound parameters is looked up in its
compiled cache.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Table, bindparam, or_, select, update
from sqlalchemy.dialects import sqlite

from cds_hooks.store.records import JtiClaim
from cds_hooks.store.schema import Feedback, IssuedCard, SeenJti

issued_cards: Table = IssuedCard.__table__  # type: ignore[assignment]
feedback: Table = Feedback.__table__  # type: ignore[assignment]
seen_jti: Table = SeenJti.__table__  # type: ignore[assignment]


# RETURNING, not rowcount: a skipped ON CONFLICT insert is told by no row coming back.
CLAIM_JTI_SQLITE = sqlite.insert(seen_jti).on_conflict_do_nothing().returning(seen_jti.c.token_key)
CLAIM_JTI_POSTGRESQL = (
    "INSERT INTO seen_jti (token_key, expires_at) VALUES (%(token_key)s, %(expires_at)s)"
    " ON CONFLICT DO NOTHING RETURNING token_key"
)
# SQLite's record: which of a patient's cards on these topics were overridden since a date, then the insert.
INSERT_ISSUED_CARDS_SQLITE = sqlite.insert(issued_cards).on_conflict_do_nothing()
OVERRIDDEN_FINGERPRINTS_SQLITE = (
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
# PostgreSQL's record: the same question and the same insert, in one statement.
# The lookup is a scalar subquery, not EXISTS, so it stays one probe of the partial index of overridden cards
# per card (migration 0004): PostgreSQL turns EXISTS into a join, which the generic plan of this prepared
# statement (it guesses 100 cards from the JSON) may answer by hashing the patient's card history instead.
RECORD_CARDS_POSTGRESQL = """
    WITH cards AS (
        SELECT * FROM json_to_recordset(CAST(%(cards)s AS json)) AS card(
            card_uuid varchar, topic_code varchar, indicator varchar, suggestion_uuids json,
            fingerprint varchar, may_be_quiet boolean)
    ), quiet AS (
        SELECT card.card_uuid FROM cards AS card
        WHERE card.may_be_quiet AND (
            SELECT 1 FROM issued_cards AS earlier
            WHERE earlier.service_id = %(service_id)s AND earlier.patient_hash = %(patient_hash)s
              AND earlier.topic_code = card.topic_code AND earlier.fingerprint = card.fingerprint
              AND earlier.last_overridden_at >= %(since)s AND earlier.tenant = %(tenant)s
            LIMIT 1) IS NOT NULL
    ), recorded AS (
        INSERT INTO issued_cards (service_id, tenant, card_uuid, hook_instance, patient_hash, topic_code, indicator,
                                  suggestion_uuids, issued_at, fingerprint)
        SELECT %(service_id)s, %(tenant)s, card.card_uuid, %(hook_instance)s, %(patient_hash)s, card.topic_code,
               card.indicator, card.suggestion_uuids, %(issued_at)s, card.fingerprint
        FROM cards AS card WHERE card.card_uuid NOT IN (SELECT card_uuid FROM quiet)
        ON CONFLICT DO NOTHING
    )
    SELECT ARRAY(SELECT card_uuid FROM quiet)
"""
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
                "may_be_quiet": card["uuid"] in self.may_be_quiet,
            }
            for card in self.cards
            if card.get("uuid")
        ]


def claim_jti_sqlite(connection: Connection, claim: JtiClaim) -> bool:
    """SQLite: record a token id; False if it was seen before (once committed, by anyone sharing the database)."""
    parameters = {"token_key": _token_key(claim), "expires_at": claim.expires_at}
    return connection.execute(CLAIM_JTI_SQLITE, parameters).first() is not None


def claim_jti_postgresql(cursor: Any, claim: JtiClaim) -> bool:
    """:func:`claim_jti_sqlite` as one autocommitted statement on a psycopg cursor."""
    cursor.execute(CLAIM_JTI_POSTGRESQL, {"token_key": _token_key(claim), "expires_at": claim.expires_at})
    return cursor.fetchone() is not None


def record_cards_sqlite(connection: Connection, record: CardsToRecord) -> set[str]:
    """SQLite: record the cards that are not quiet; the uuids of the quiet cards.

    Two statements, which the caller runs in one write transaction. A card
    uuid already recorded for this service keeps its first record.
    """
    rows = record.rows()
    since = record.quiet_since if record.may_be_quiet else None
    candidates = [row for row in rows if row["may_be_quiet"] and row["topic_code"] is not None]
    quiet: set[str] = set()
    if candidates and since is not None:
        parameters = {
            "service_id": record.service_id,
            "tenant": record.tenant,
            "patient_hash": record.patient_hash,
            "topics": sorted({row["topic_code"] for row in candidates}),
            "since": since,
        }
        overridden = {(row.topic_code, row.fingerprint) for row in connection.execute(OVERRIDDEN_FINGERPRINTS_SQLITE, parameters)}
        quiet = {row["card_uuid"] for row in candidates if (row["topic_code"], row["fingerprint"]) in overridden}
    issued = {"service_id": record.service_id, "tenant": record.tenant, "hook_instance": record.hook_instance,
              "patient_hash": record.patient_hash, "issued_at": datetime.now(UTC)}  # fmt: skip
    shown = [{**issued, **{k: v for k, v in row.items() if k != "may_be_quiet"}} for row in rows if row["card_uuid"] not in quiet]
    if shown:
        connection.execute(INSERT_ISSUED_CARDS_SQLITE, shown)
    return quiet


def record_cards_postgresql(cursor: Any, record: CardsToRecord) -> set[str]:
    """:func:`record_cards_sqlite` as one autocommitted statement on a psycopg cursor."""
    rows = record.rows()
    if not rows:
        return set()
    parameters = {
        "cards": json.dumps(rows),
        "service_id": record.service_id,
        "tenant": record.tenant,
        "hook_instance": record.hook_instance,
        "patient_hash": record.patient_hash,
        "since": record.quiet_since if record.may_be_quiet else None,
        "issued_at": datetime.now(UTC),
    }
    cursor.execute(RECORD_CARDS_POSTGRESQL, parameters)
    (quiet,) = cursor.fetchone()
    return set(quiet)


def _token_key(claim: JtiClaim) -> str:
    return hashlib.sha256(f"{claim.issuer}\x00{claim.jti}".encode()).hexdigest()
