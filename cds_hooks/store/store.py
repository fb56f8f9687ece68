"""The service database: issued cards, feedback and seen JWT ids, behind a small API.

Every method is one short transaction (a hook call's statements, in
:mod:`cds_hooks.store.hook_statements`, are autocommitted on PostgreSQL,
each atomic by itself). Database failures surface as
:class:`StoreUnavailable` (the HTTP layer answers 503); the caller never sees
a half-written feedback body because each body is stored in one transaction
and validated before the first insert.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, insert, select, text
from sqlalchemy import exc as sa_exc

from cds_hooks.settings import Settings
from cds_hooks.store.engine import READ_ONLY, TRANSACTION_ISOLATION, create_store_engine
from cds_hooks.store.errors import StoreUnavailable, UnknownCard, UnknownSuggestion
from cds_hooks.store.hook_statements import MARK_OVERRIDDEN, CardsToRecord, claim_jti, feedback, issued_cards, record_cards, seen_jti
from cds_hooks.store.patient_hash import PatientHasher
from cds_hooks.store.records import CardOutcomeCount, FeedbackItem, JtiClaim, OverrideReasonCount

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
#: The newest migration's revision (tests/test_store.py holds it to Alembic's head).
SCHEMA_REVISION = "0005"
# Arbitrary constant naming the PostgreSQL advisory lock that serialises concurrent migrations.
MIGRATION_LOCK_ID = 4_211_977_301
# How often (per process) expired jti rows are deleted, piggy-backing on a claim.
JTI_PURGE_INTERVAL_SECONDS = 60.0

# Errors that mean "the database is not there (or not migrated)", as opposed to a bug.
_UNAVAILABLE = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.ProgrammingError, sa_exc.TimeoutError)


# Only the latest feedback entry of each card counts in the reports: a card's outcome is what was said last,
# so sending feedback again can neither inflate the counts nor stack override reasons.
_LATEST_FEEDBACK = feedback.c.id.in_(select(func.max(feedback.c.id)).group_by(feedback.c.issued_card_id))


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Store:
    """Storage for one app instance; thread-safe (the engine pools connections)."""

    def __init__(self, engine: Engine, patient_hasher: PatientHasher):
        self.engine = engine
        self._patient_hasher = patient_hasher
        self._next_purge = 0.0
        self._purge_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> Store:
        """Create the engine (no connection is made and nothing is migrated yet)."""
        return cls(
            create_store_engine(settings.database_url),
            PatientHasher(settings.patient_hash_key, settings.instance_path),
        )

    def close(self) -> None:
        """Close pooled connections (CLI commands and tests; the server keeps its pool)."""
        self.engine.dispose()

    # -- schema -----------------------------------------------------------------

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision (safe to run from several hosts at once).

        Every ``bme-cds serve`` starts with this, and the database is almost
        always current already: that is one query, without loading Alembic
        (importing it and reading its scripts was a tenth of the start-up).
        """
        if self.schema_revision() == SCHEMA_REVISION:
            return
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        with self._write() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:lock)"), {"lock": MIGRATION_LOCK_ID})
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def schema_revision(self) -> str | None:
        """The Alembic revision the database is at; ``None`` when it has none yet or cannot be asked."""
        try:
            with self.engine.connect() as connection:
                return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except sa_exc.DBAPIError:  # no table yet, or no database: migrate() then says which
            return None

    def health_problem(self) -> str | None:
        """Why this database cannot serve calls now (``None``: it can), without connection details.

        The schema must be at :data:`SCHEMA_REVISION`, which a database that
        is down, empty or migrated by another version is not. A SQLite file
        deleted under the running service is noticed too: pooled connections
        would keep reading and writing the deleted file, which nobody will
        ever see again.
        """
        database = self.engine.url.database if self.engine.dialect.name == "sqlite" else None
        if database and database != ":memory:" and not Path(database).exists():
            return "the database file is gone"
        try:
            with self._read() as connection:
                revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except StoreUnavailable:
            return "the database is unreachable or not migrated"
        if revision != SCHEMA_REVISION:
            return f"the database schema is at revision {revision}, this version needs {SCHEMA_REVISION}"
        return None

    # -- issued cards and feedback ------------------------------------------------

    def record_issued_cards(
        self,
        *,
        service_id: str,
        tenant: str,
        hook_instance: str,
        patient_id: str,
        cards: Sequence[Mapping[str, Any]],
        fingerprints: Mapping[str, str] | None = None,
        may_be_quiet: Collection[str] = (),
        quiet_since: datetime | None = None,
    ) -> set[str]:
        """Remember the cards a hook call returns to ``tenant``, so their feedback can be validated later.

        Of the card uuids in ``may_be_quiet``, those whose topic and
        ``fingerprints`` value match a card of this service for this tenant's
        patient that was overridden at or after ``quiet_since`` are *quiet*:
        they are not recorded, and their uuids are returned (the caller leaves
        them out of the answer). Cards without a ``uuid`` cannot receive
        feedback and are not stored; a card uuid already recorded for this
        service keeps its first record.
        """
        record = CardsToRecord(
            service_id=service_id,
            tenant=tenant,
            hook_instance=hook_instance,
            patient_hash=self._patient_hasher.hash(tenant, patient_id),
            cards=cards,
            fingerprints=fingerprints or {},
            may_be_quiet=may_be_quiet,
            quiet_since=quiet_since,
        )
        with self._statements() as connection:
            return record_cards(connection, record)

    def record_feedback(self, service_id: str, tenant: str, items: Sequence[FeedbackItem]) -> None:
        """Store a whole feedback body from ``tenant``, or nothing.

        Raises :class:`UnknownCard` for a card uuid this service never issued to this tenant and
        :class:`UnknownSuggestion` for an accepted suggestion the card never offered.
        """
        received_at = _utcnow()
        with self._write() as connection:
            issued = {
                row.card_uuid: row
                for row in connection.execute(
                    select(issued_cards.c.id, issued_cards.c.card_uuid, issued_cards.c.suggestion_uuids).where(
                        issued_cards.c.service_id == service_id,
                        issued_cards.c.tenant == tenant,
                        issued_cards.c.card_uuid.in_({item.card_uuid for item in items}),
                    )
                )
            }
            rows = []
            for index, item in enumerate(items):
                card = issued.get(item.card_uuid)
                if card is None:
                    raise UnknownCard(item.card_uuid, index)
                offered = set(card.suggestion_uuids)
                for suggestion_index, suggestion in enumerate(item.accepted_suggestions):
                    if suggestion not in offered:
                        raise UnknownSuggestion(suggestion, index, suggestion_index)
                rows.append(_feedback_row(item, card.id, received_at))
            connection.execute(insert(feedback), rows)
            overridden = sorted({row["issued_card_id"] for row in rows if row["outcome"] == "overridden"})
            if overridden:
                connection.execute(MARK_OVERRIDDEN, {"ids": overridden, "received_at": received_at})

    # -- analytics ----------------------------------------------------------------

    def card_outcome_counts(self, since: datetime | None = None, *, by_day: bool = False) -> list[CardOutcomeCount]:
        """Issued, accepted and overridden cards per service and topic (and UTC issue day), for cards issued since ``since``.

        A card counts once, with the outcome of its latest feedback entry.
        """
        window = [] if since is None else [issued_cards.c.issued_at >= since]
        with self._read() as connection:
            keys = [issued_cards.c.service_id, issued_cards.c.topic_code]
            if by_day:
                keys.append(_utc_day(connection, issued_cards.c.issued_at).label("day"))
            issued_query = select(*keys, func.count().label("cards")).where(*window).group_by(*keys)
            outcome_query = (
                select(*keys, feedback.c.outcome, func.count().label("cards"))
                .select_from(issued_cards.join(feedback, feedback.c.issued_card_id == issued_cards.c.id))
                .where(*window, _LATEST_FEEDBACK)
                .group_by(*keys, feedback.c.outcome)
            )
            issued = {_group_key(row, by_day): row.cards for row in connection.execute(issued_query)}
            outcomes = {(_group_key(row, by_day), row.outcome): row.cards for row in connection.execute(outcome_query)}
        return [
            CardOutcomeCount(
                service_id=key[0],
                topic=key[1],
                day=key[2],
                issued=count,
                accepted=outcomes.get((key, "accepted"), 0),
                overridden=outcomes.get((key, "overridden"), 0),
            )
            for key, count in issued.items()
        ]

    def override_reason_counts(self, since: datetime | None = None) -> list[OverrideReasonCount]:
        """Overrides per service, topic and coded reason, for cards issued since ``since`` (latest entry per card)."""
        keys = [
            issued_cards.c.service_id,
            issued_cards.c.topic_code,
            feedback.c.override_reason_system,
            feedback.c.override_reason_code,
        ]
        query = (
            select(*keys, func.max(feedback.c.override_reason_display).label("display"), func.count().label("overrides"))
            .select_from(issued_cards.join(feedback, feedback.c.issued_card_id == issued_cards.c.id))
            .where(feedback.c.outcome == "overridden", _LATEST_FEEDBACK,
                   *([] if since is None else [issued_cards.c.issued_at >= since]))
            .group_by(*keys)
        )
        with self._read() as connection:
            return [
                OverrideReasonCount(
                    row.service_id,
                    row.topic_code,
                    row.override_reason_system,
                    row.override_reason_code,
                    row.display,
                    row.overrides,
                )
                for row in connection.execute(query)
            ]

    # -- JWT replay ---------------------------------------------------------------

    def claim_jti(self, claim: JtiClaim) -> bool:
        """Record a token id; False if it was seen before (by any worker or host sharing the database)."""
        with self._statements() as connection:
            claimed = claim_jti(connection, claim)
        self._purge_expired_jti_now_and_then()
        return claimed

    def _purge_expired_jti_now_and_then(self) -> None:
        now = time.monotonic()
        with self._purge_lock:
            if now < self._next_purge:
                return
            self._next_purge = now + JTI_PURGE_INTERVAL_SECONDS
        try:
            with self._write() as connection:
                connection.execute(delete(seen_jti).where(seen_jti.c.expires_at < _utcnow()))
        except StoreUnavailable:
            pass  # the next claim will try again; the claim itself has succeeded

    # -- transactions ---------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with _unavailable_on_db_errors(), self.engine.connect() as connection:
            connection = connection.execution_options(**TRANSACTION_ISOLATION[connection.dialect.name])
            with connection.begin():
                yield connection

    @contextmanager
    def _statements(self) -> Iterator[Connection]:
        """A connection for statements each atomic by itself (a hook call's): autocommitted on PostgreSQL.

        The engine's connections are in autocommit on PostgreSQL
        (:func:`.create_store_engine`), so no ``BEGIN`` or ``COMMIT`` goes to
        the server; SQLite writes only inside a transaction, which its
        ``BEGIN IMMEDIATE`` gives.
        """
        with _unavailable_on_db_errors(), self.engine.connect() as connection, connection.begin():
            yield connection

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with _unavailable_on_db_errors(), self.engine.connect() as connection:
            connection = connection.execution_options(**{READ_ONLY: True}, **TRANSACTION_ISOLATION[connection.dialect.name])
            with connection.begin():
                yield connection


@contextmanager
def _unavailable_on_db_errors() -> Iterator[None]:
    try:
        yield
    except _UNAVAILABLE as exc:
        raise _unavailable(exc) from exc


def _unavailable(exc: Exception) -> StoreUnavailable:
    # The type only: driver messages can quote statement parameters.
    log.warning("database unavailable: %s", type(getattr(exc, "orig", None) or exc).__name__)
    return StoreUnavailable("the database is unavailable")


def _utc_day(connection: Connection, column: Any) -> Any:
    """The UTC calendar day of a timestamp column (SQLite stores UTC already; PostgreSQL converts per session)."""
    if connection.dialect.name == "postgresql":
        return func.date(func.timezone("UTC", column))
    return func.date(column)


def _group_key(row: Any, by_day: bool) -> tuple[str, str | None, date | None]:
    """A result row's (service, topic, day); SQLite gives the day as text, PostgreSQL as a date."""
    day = date.fromisoformat(str(row.day)) if by_day else None
    return row.service_id, row.topic_code, day


def _feedback_row(item: FeedbackItem, issued_card_id: int, received_at: datetime) -> dict[str, Any]:
    reason = item.override_reason
    return {
        "issued_card_id": issued_card_id,
        "outcome": item.outcome,
        "accepted_suggestions": list(item.accepted_suggestions),
        "override_reason_system": reason.system if reason else None,
        "override_reason_code": reason.code if reason else None,
        "override_reason_display": reason.display if reason else None,
        "user_comment": reason.user_comment if reason else None,
        "outcome_timestamp": item.outcome_timestamp,
        "received_at": received_at,
    }
