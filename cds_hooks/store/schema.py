"""Tables of the service database (the Alembic migrations create exactly these).

Patient ids never appear here: ``issued_cards.patient_hash`` is a keyed hash
(of the tenant and the id). ``issued_cards.tenant`` is the caller a card was
issued to (:mod:`cds_hooks.auth`); cards issued before tenants existed carry
:data:`PRE_TENANT` and belong to no caller.
``seen_jti.token_key`` is a SHA-256 of issuer and jti, so arbitrarily long
values fit one fixed-width primary key.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

#: The tenant of the cards recorded before tenants existed (migration 0005): no caller is this tenant.
PRE_TENANT = "(before tenants)"

# SQLite only auto-increments a column declared exactly INTEGER PRIMARY KEY.
Id = BigInteger().with_variant(Integer(), "sqlite")


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class IssuedCard(Base):
    """A card the service returned, kept so feedback can be validated and overrides remembered."""

    __tablename__ = "issued_cards"
    __table_args__ = (
        UniqueConstraint("service_id", "card_uuid", name="uq_issued_cards_service_card"),
        # The suppression read: a patient's overridden cards on a topic with the same content. Only overridden
        # cards are in it (migration 0004), so it stays small and a new card costs it nothing.
        Index(
            "ix_issued_cards_overridden",
            "service_id",
            "patient_hash",
            "topic_code",
            "fingerprint",
            postgresql_where=text("last_overridden_at IS NOT NULL"),
            sqlite_where=text("last_overridden_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    service_id: Mapped[str] = mapped_column(String(128))
    # Who the card was issued to: feedback and suppression look only at the caller's own cards.
    tenant: Mapped[str] = mapped_column(Text, server_default=PRE_TENANT)
    card_uuid: Mapped[str] = mapped_column(String(100))
    hook_instance: Mapped[str] = mapped_column(String(100))
    patient_hash: Mapped[str] = mapped_column(String(64))
    topic_code: Mapped[str | None] = mapped_column(String(255))
    indicator: Mapped[str] = mapped_column(String(16))
    suggestion_uuids: Mapped[list[str]] = mapped_column(JSON)
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # What the card said (cds_hooks.suppression.fingerprint): an overridden card stays quiet only while this is unchanged.
    fingerprint: Mapped[str | None] = mapped_column(String(64))
    # The latest received_at of its "overridden" feedback, kept with the card so the suppression read is one
    # index range instead of a join that visits every card ever issued to the patient on that topic.
    last_overridden_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class Feedback(Base):
    """One feedback entry (accepted or overridden) about an issued card."""

    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    issued_card_id: Mapped[int] = mapped_column(ForeignKey("issued_cards.id"), index=True)
    outcome: Mapped[str] = mapped_column(String(16))
    accepted_suggestions: Mapped[list[str]] = mapped_column(JSON)
    override_reason_system: Mapped[str | None] = mapped_column(Text)
    override_reason_code: Mapped[str | None] = mapped_column(Text)
    override_reason_display: Mapped[str | None] = mapped_column(Text)
    user_comment: Mapped[str | None] = mapped_column(Text)
    outcome_timestamp: Mapped[datetime] = mapped_column(UtcDateTime)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)


class SeenJti(Base):
    """A JWT id already used; the primary key makes replay detection atomic across all instances."""

    __tablename__ = "seen_jti"

    token_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
