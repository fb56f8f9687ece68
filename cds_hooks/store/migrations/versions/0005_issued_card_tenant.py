"""Issued cards belong to a tenant: the caller (trusted issuer, plus its ``tenant`` claim) they were issued to.

Feedback is accepted only from the tenant a card was issued to, and an
override quiets cards only for that tenant's patient. The cards recorded
before this revision cannot be told apart (neither the issuer nor the patient
id was kept), so they get the tenant ``(before tenants)``, which no caller
is: they keep counting in ``feedback-report``, but accept no more feedback
and quiet no new card. Their patient hashes (of the id alone) never match a
new card's hash (of tenant and id) either.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PRE_TENANT = "(before tenants)"


def upgrade() -> None:
    # A NOT NULL column with a default fills the existing rows in the same step, on SQLite and PostgreSQL alike.
    op.add_column("issued_cards", sa.Column("tenant", sa.Text(), nullable=False, server_default=PRE_TENANT))


def downgrade() -> None:
    with op.batch_alter_table("issued_cards") as batch:
        batch.drop_column("tenant")
