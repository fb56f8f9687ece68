"""Issued cards remember when they were last overridden, so the suppression read is one index range.

The read used to join every card issued to the patient on a topic with its
feedback, so its cost grew with each call for that patient. Existing
feedback is copied into the new column, so suppression carries on unchanged.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_INDEX = "ix_issued_cards_patient_topic"
NEW_INDEX = "ix_issued_cards_patient_topic_overridden"
COLUMNS = ["service_id", "patient_hash", "topic_code"]


def upgrade() -> None:
    with op.batch_alter_table("issued_cards") as batch:
        batch.add_column(sa.Column("last_overridden_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE issued_cards SET last_overridden_at = (SELECT max(feedback.received_at) FROM feedback"
        " WHERE feedback.issued_card_id = issued_cards.id AND feedback.outcome = 'overridden')"
    )
    op.drop_index(OLD_INDEX, table_name="issued_cards")
    op.create_index(NEW_INDEX, "issued_cards", [*COLUMNS, "last_overridden_at"])


def downgrade() -> None:
    op.drop_index(NEW_INDEX, table_name="issued_cards")
    op.create_index(OLD_INDEX, "issued_cards", COLUMNS)
    with op.batch_alter_table("issued_cards") as batch:
        batch.drop_column("last_overridden_at")
