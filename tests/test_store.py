"""The store on SQLite and PostgreSQL: schema, issued cards, feedback, replay ids, outages."""

from __future__ import annotations

import hashlib
import hmac
import os
import stat
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, select, text

from cds_hooks.settings import Settings
from cds_hooks.store import FeedbackItem, JtiClaim, OverrideReason, Store, StoreUnavailable, UnknownCard, UnknownSuggestion
from cds_hooks.store.schema import PRE_TENANT, Base, Feedback, IssuedCard, SeenJti
from cds_hooks.store.store import MIGRATIONS_DIR, SCHEMA_REVISION
from support.store_auth import OTHER_SERVICE_ID, SERVICE_ID, TEST_ISSUER, issue_card, row_counts

NOW = datetime(2025, 1, 30, 10, 5, 31, tzinfo=UTC)
OTHER_TENANT = "https://other-ehr.example.com"
TABLES = {"issued_cards", "feedback", "seen_jti", "alembic_version"}


def overridden(card: str, **kwargs) -> FeedbackItem:
    return FeedbackItem(card_uuid=card, outcome="overridden", outcome_timestamp=NOW, **kwargs)


def accepted(card: str, *suggestions: str) -> FeedbackItem:
    return FeedbackItem(card_uuid=card, outcome="accepted", outcome_timestamp=NOW, accepted_suggestions=suggestions)


# -- schema ---------------------------------------------------------------------------


def test_migrate_creates_the_tables_and_is_idempotent(fresh_database_url, tmp_path):
    store = Store.from_settings(Settings(database_url=fresh_database_url, instance_dir=str(tmp_path)))
    try:
        store.migrate()
        store.migrate()
        assert TABLES <= set(inspect(store.engine).get_table_names())
    finally:
        store.close()


def test_the_schema_revision_constant_is_alembics_head(store):
    """migrate() skips Alembic when the database is at SCHEMA_REVISION: a new migration must move it."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    assert ScriptDirectory.from_config(config).get_current_head() == SCHEMA_REVISION == store.schema_revision()


def test_an_older_schema_is_still_migrated(fresh_database_url, tmp_path):
    store = Store.from_settings(Settings(database_url=fresh_database_url, instance_dir=str(tmp_path)))
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    try:
        assert store.schema_revision() is None
        with store.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0002")
        assert store.schema_revision() == "0002"
        store.migrate()
        assert store.schema_revision() == SCHEMA_REVISION
        assert "last_overridden_at" in {c["name"] for c in inspect(store.engine).get_columns("issued_cards")}
    finally:
        store.close()


def test_migrations_match_the_models(store):
    with store.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


# The issued_cards columns every revision before 0005 has.
OLD_CARD_COLUMNS = "(id, service_id, card_uuid, hook_instance, patient_hash, indicator, suggestion_uuids, issued_at)"


@contextmanager
def _migrated_to(store: Store, revision: str) -> Iterator[Connection]:
    """A transaction on ``store``'s empty database, migrated only up to ``revision``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with store.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
        yield connection


def test_migration_0003_copies_the_latest_override_of_each_card(fresh_database_url, tmp_path):
    """Cards overridden before the upgrade stay quiet after it: their latest override moves onto the card."""
    store = Store.from_settings(Settings(database_url=fresh_database_url, instance_dir=str(tmp_path)))
    try:
        with _migrated_to(store, "0002") as connection:
            for card_id in (1, 2, 3):
                connection.execute(
                    text(f"INSERT INTO issued_cards {OLD_CARD_COLUMNS} VALUES (:id, 's', :uuid, 'h', 'p', 'info', '[]', :at)"),
                    {"id": card_id, "uuid": f"c{card_id}", "at": NOW},
                )
            feedback_rows = [(1, "overridden", 0), (1, "overridden", 2), (1, "accepted", 3), (2, "accepted", 1)]
            for card_id, outcome, minutes in feedback_rows:
                connection.execute(
                    text(
                        "INSERT INTO feedback (issued_card_id, outcome, accepted_suggestions, outcome_timestamp, received_at)"
                        " VALUES (:card, :outcome, '[]', :at, :at)"
                    ),
                    {"card": card_id, "outcome": outcome, "at": NOW + timedelta(minutes=minutes)},
                )
        store.migrate()
        with store.engine.connect() as connection:
            marks = dict(connection.execute(select(IssuedCard.id, IssuedCard.last_overridden_at)).all())
        assert marks == {1: NOW + timedelta(minutes=2), 2: None, 3: None}
    finally:
        store.close()


def test_migration_0005_gives_existing_cards_a_tenant_no_caller_is(fresh_database_url, tmp_path):
    """Cards recorded before tenants keep their rows and counts, but no tenant can send feedback on them."""
    store = Store.from_settings(Settings(database_url=fresh_database_url, instance_dir=str(tmp_path)))
    try:
        with _migrated_to(store, "0004") as connection:
            connection.execute(
                text(f"INSERT INTO issued_cards {OLD_CARD_COLUMNS} VALUES (1, :s, 'old-card', 'h', 'p', 'info', '[]', :at)"),
                {"s": SERVICE_ID, "at": NOW},
            )
        store.migrate()
        assert store.schema_revision() == SCHEMA_REVISION
        with store.engine.connect() as connection:
            assert connection.execute(select(IssuedCard.tenant)).scalars().all() == [PRE_TENANT]
        with pytest.raises(UnknownCard):
            store.record_feedback(SERVICE_ID, TEST_ISSUER, [overridden("old-card")])
        assert [count.issued for count in store.card_outcome_counts()] == [1]
    finally:
        store.close()


def test_sqlite_database_runs_in_wal_mode(tmp_path):
    store = Store.from_settings(Settings(database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}", instance_dir=str(tmp_path)))
    try:
        store.migrate()
        with store.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    finally:
        store.close()


def test_ping_reports_a_reachable_database(store):
    assert store.health_problem() is None


# -- issued cards ---------------------------------------------------------------------


def test_issued_cards_keep_only_a_keyed_hash_of_the_patient_id(store_settings):
    store = Store.from_settings(store_settings.with_overrides(patient_hash_key="test-key"))
    try:
        issue_card(store, patient_id="patient-123", suggestions=("s-1", "s-2"))
        with store.engine.connect() as connection:
            row = connection.execute(select(IssuedCard.__table__)).one()
        assert "patient-123" not in repr(tuple(row))
        assert row.patient_hash == hmac.new(b"test-key", f"{TEST_ISSUER}\x00patient-123".encode(), hashlib.sha256).hexdigest()
        assert row.topic_code == "bme-education"
        assert row.suggestion_uuids == ["s-1", "s-2"]
    finally:
        store.close()


def test_generated_patient_hash_key_is_private_and_reused(store_settings, tmp_path):
    settings = store_settings.with_overrides(instance_dir=str(tmp_path / "inst"))
    first, second = Store.from_settings(settings), Store.from_settings(settings)
    try:
        issue_card(first, patient_id="patient-123")
        issue_card(second, patient_id="patient-123")
        key_file = tmp_path / "inst" / "patient-hash.key"
        assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
        with first.engine.connect() as connection:
            hashes = connection.execute(select(IssuedCard.patient_hash)).scalars().all()
        assert len(hashes) == 2 and hashes[0] == hashes[1]
    finally:
        first.close()
        second.close()


def test_cards_without_uuid_are_not_recorded(store):
    store.record_issued_cards(
        service_id=SERVICE_ID, tenant=TEST_ISSUER, hook_instance="h-1", patient_id="p", cards=[{"summary": "no uuid", "indicator": "info"}]
    )
    assert row_counts(store)["issued_cards"] == 0


def _card(topic: str) -> dict:
    return {"uuid": str(uuid.uuid4()), "summary": "Card", "indicator": "info",
            "source": {"label": "Test", "topic": {"system": "http://example.org/topics", "code": topic}}}


def _record(store: Store, cards: list[dict], fingerprints: dict[str, str], may_be_quiet, *, patient_id: str = "p",
            quiet_since: datetime | None = None, tenant: str = TEST_ISSUER) -> set[str]:
    return store.record_issued_cards(service_id=SERVICE_ID, tenant=tenant, hook_instance=str(uuid.uuid4()), patient_id=patient_id,
                                     cards=cards, fingerprints=fingerprints, may_be_quiet=may_be_quiet,
                                     quiet_since=quiet_since or datetime.now(UTC) - timedelta(days=1))


def _recorded_uuids(store: Store) -> set[str]:
    with store.engine.connect() as connection:
        return set(connection.execute(select(IssuedCard.card_uuid)).scalars())


def test_only_a_candidate_saying_what_an_overridden_card_said_on_its_topic_is_quiet_and_unrecorded(store):
    dismissed = _card("bme-education")
    _record(store, [dismissed], {dismissed["uuid"]: "same"}, ())
    store.record_feedback(SERVICE_ID, TEST_ISSUER, [overridden(dismissed["uuid"])])
    same, changed, not_candidate = (_card("bme-education") for _ in range(3))
    other_topic = _card("xray-first")
    fingerprints = {same["uuid"]: "same", changed["uuid"]: "changed", not_candidate["uuid"]: "same", other_topic["uuid"]: "same"}
    candidates = {same["uuid"], changed["uuid"], other_topic["uuid"]}

    quiet = _record(store, [same, changed, not_candidate, other_topic], fingerprints, candidates)

    assert quiet == {same["uuid"]}
    assert _recorded_uuids(store) == {dismissed["uuid"], changed["uuid"], not_candidate["uuid"], other_topic["uuid"]}


def test_an_override_quiets_neither_another_patient_nor_cards_after_the_quiet_period(store):
    dismissed = _card("bme-education")
    _record(store, [dismissed], {dismissed["uuid"]: "same"}, ())
    store.record_feedback(SERVICE_ID, TEST_ISSUER, [overridden(dismissed["uuid"])])
    for patient_id, since in (("another-patient", None), ("p", datetime.now(UTC) + timedelta(minutes=5))):
        card = _card("bme-education")
        assert _record(store, [card], {card["uuid"]: "same"}, {card["uuid"]}, patient_id=patient_id, quiet_since=since) == set()
        assert card["uuid"] in _recorded_uuids(store)


def test_an_override_by_one_tenant_quiets_no_card_of_another_tenant_for_the_same_patient_id(store):
    dismissed = _card("bme-education")
    _record(store, [dismissed], {dismissed["uuid"]: "same"}, (), tenant=TEST_ISSUER)
    store.record_feedback(SERVICE_ID, TEST_ISSUER, [overridden(dismissed["uuid"])])
    other, own = _card("bme-education"), _card("bme-education")

    assert _record(store, [other], {other["uuid"]: "same"}, {other["uuid"]}, tenant=OTHER_TENANT) == set()
    assert _record(store, [own], {own["uuid"]: "same"}, {own["uuid"]}, tenant=TEST_ISSUER) == {own["uuid"]}


# -- feedback -------------------------------------------------------------------------


def test_feedback_is_accepted_only_from_the_tenant_the_card_was_issued_to(store):
    card = issue_card(store, tenant=TEST_ISSUER)
    with pytest.raises(UnknownCard):
        store.record_feedback(SERVICE_ID, OTHER_TENANT, [overridden(card)])
    store.record_feedback(SERVICE_ID, TEST_ISSUER, [overridden(card)])
    assert row_counts(store)["feedback"] == 1


def test_accepted_and_overridden_feedback_is_stored(store):
    card_a = issue_card(store, suggestions=("s-1",))
    card_b = issue_card(store)
    reason = OverrideReason(system="http://example.org/reasons", code="not-relevant", user_comment="Seen already.")
    store.record_feedback(SERVICE_ID, TEST_ISSUER, [accepted(card_a, "s-1"), overridden(card_b, override_reason=reason)])

    with store.engine.connect() as connection:
        rows = connection.execute(
            select(IssuedCard.card_uuid, Feedback.__table__).join(IssuedCard, Feedback.issued_card_id == IssuedCard.id)
        ).all()
    stored = {row.card_uuid: row for row in rows}
    assert stored[card_a].outcome == "accepted" and stored[card_a].accepted_suggestions == ["s-1"]
    assert stored[card_b].outcome == "overridden"
    assert (stored[card_b].override_reason_code, stored[card_b].user_comment) == ("not-relevant", "Seen already.")
    assert stored[card_b].outcome_timestamp == NOW


def test_feedback_for_a_card_never_issued_stores_nothing(store):
    known = issue_card(store)
    with pytest.raises(UnknownCard) as raised:
        store.record_feedback(SERVICE_ID, TEST_ISSUER, [overridden(known), overridden("never-issued")])
    assert raised.value.index == 1
    assert row_counts(store)["feedback"] == 0


def test_feedback_about_another_services_card_is_refused(store):
    card = issue_card(store, service_id=OTHER_SERVICE_ID)
    with pytest.raises(UnknownCard):
        store.record_feedback(SERVICE_ID, TEST_ISSUER, [overridden(card)])


def test_accepting_a_suggestion_the_card_never_offered_stores_nothing(store):
    card = issue_card(store, suggestions=("s-1",))
    with pytest.raises(UnknownSuggestion) as raised:
        store.record_feedback(SERVICE_ID, TEST_ISSUER, [accepted(card, "s-1", "s-forged")])
    assert (raised.value.index, raised.value.suggestion_index) == (0, 1)
    assert row_counts(store)["feedback"] == 0


def test_reports_count_each_card_once_with_its_latest_outcome_and_reason(store):
    card = issue_card(store, suggestions=("s-1",))
    first = OverrideReason(system="http://example.org/reasons", code="not-relevant", display="Not relevant")
    for _ in range(3):
        store.record_feedback(SERVICE_ID, TEST_ISSUER, [overridden(card, override_reason=first)])
    store.record_feedback(SERVICE_ID, TEST_ISSUER, [accepted(card, "s-1")])
    ((counts),) = store.card_outcome_counts()
    assert (counts.issued, counts.accepted, counts.overridden) == (1, 1, 0)
    assert store.override_reason_counts() == []

    store.record_feedback(SERVICE_ID, TEST_ISSUER, [overridden(card, override_reason=first)])
    assert [reason.count for reason in store.override_reason_counts()] == [1]


# -- JWT ids --------------------------------------------------------------------------


def test_a_jti_can_be_claimed_once_per_issuer(store):
    expires = datetime.now(UTC) + timedelta(minutes=5)
    assert store.claim_jti(JtiClaim("https://a.example", "jti-1", expires)) is True
    assert store.claim_jti(JtiClaim("https://a.example", "jti-1", expires)) is False
    assert store.claim_jti(JtiClaim("https://b.example", "jti-1", expires)) is True


def test_a_jti_claimed_by_one_instance_is_refused_by_another(store, store_settings):
    other_host = Store.from_settings(store_settings)
    try:
        expires = datetime.now(UTC) + timedelta(minutes=5)
        assert store.claim_jti(JtiClaim("https://a.example", "shared", expires)) is True
        assert other_host.claim_jti(JtiClaim("https://a.example", "shared", expires)) is False
    finally:
        other_host.close()


def test_expired_jti_rows_are_purged_by_a_later_claim(store, store_settings):
    past = datetime.now(UTC) - timedelta(minutes=1)
    store.claim_jti(JtiClaim("https://a.example", "old", past))
    fresh_process = Store.from_settings(store_settings)
    try:
        fresh_process.claim_jti(JtiClaim("https://a.example", "new", datetime.now(UTC) + timedelta(minutes=5)))
        with store.engine.connect() as connection:
            assert connection.execute(select(SeenJti.token_key)).scalars().all() == [
                hashlib.sha256(b"https://a.example\x00new").hexdigest()
            ]
    finally:
        fresh_process.close()


def test_one_token_raced_to_many_workers_is_accepted_exactly_once(store_settings):
    workers = [Store.from_settings(store_settings) for _ in range(8)]
    expires = datetime.now(UTC) + timedelta(minutes=5)
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(lambda w: w.claim_jti(JtiClaim("https://ehr.example.org", "raced-jti", expires)), workers))
    finally:
        for worker in workers:
            worker.close()
    assert sorted(results) == [False] * 7 + [True]


# -- outages --------------------------------------------------------------------------

UNREACHABLE = {
    "sqlite": "sqlite:////nonexistent-directory/bme-cds.sqlite3",
    "postgres": "postgresql+psycopg://postgres@127.0.0.1:1/test",
}


@pytest.mark.parametrize("backend", UNREACHABLE)
def test_an_unreachable_database_raises_store_unavailable(backend, tmp_path):
    store = Store.from_settings(Settings(database_url=UNREACHABLE[backend], instance_dir=str(tmp_path)))
    try:
        assert store.health_problem() is not None
        with pytest.raises(StoreUnavailable):
            store.claim_jti(JtiClaim("https://a.example", "j", datetime.now(UTC)))
        with pytest.raises(StoreUnavailable):
            store.record_feedback(SERVICE_ID, TEST_ISSUER, [overridden("c")])
        with pytest.raises(StoreUnavailable):
            _record(store, [_card("bme-education")], {}, ())
        with pytest.raises(StoreUnavailable):
            store.migrate()
    finally:
        store.close()


def test_an_unmigrated_database_is_unavailable_not_a_crash(fresh_database_url, tmp_path):
    store = Store.from_settings(Settings(database_url=fresh_database_url, instance_dir=str(tmp_path)))
    try:
        with pytest.raises(StoreUnavailable):
            store.claim_jti(JtiClaim("https://a.example", "j", datetime.now(UTC)))
        with pytest.raises(StoreUnavailable):
            _record(store, [_card("bme-education")], {}, ())
    finally:
        store.close()


def test_unsupported_database_urls_are_refused_with_a_hint():
    with pytest.raises(ValueError, match="sqlite:///FILE or postgresql"):
        Store.from_settings(Settings(database_url="mysql://localhost/db"))
