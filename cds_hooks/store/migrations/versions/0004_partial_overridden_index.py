"""The suppression index holds only the cards that were ever overridden.

Every hook call asks whether one of the patient's cards on a topic with the
same content was overridden lately, and almost no card ever is. An index of
only the overridden ones is tiny, costs nothing when a new card is recorded,
and is the one the planner picks even in the generic plan of a prepared
statement, which cannot tell that ``last_overridden_at >= $1`` matches almost
nothing (with the full index PostgreSQL chose to scan all of the patient's
cards).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_INDEX = "ix_issued_cards_patient_topic_overridden"
NEW_INDEX = "ix_issued_cards_overridden"
OVERRIDDEN = sa.text("last_overridden_at IS NOT NULL")


def upgrade() -> None:
    op.drop_index(OLD_INDEX, table_name="issued_cards")
    op.create_index(
        NEW_INDEX,
        "issued_cards",
        ["service_id", "patient_hash", "topic_code", "fingerprint"],
        postgresql_where=OVERRIDDEN,
        sqlite_where=OVERRIDDEN,
    )


def downgrade() -> None:
    op.drop_index(NEW_INDEX, table_name="issued_cards")
    op.create_index(OLD_INDEX, "issued_cards", ["service_id", "patient_hash", "topic_code", "last_overridden_at"])
