"""the last channel check of each channel

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 09:00:00

``wadule-bridge channels check`` (and beat, daily) keeps each channel's last verdict here, for
``/readyz``, the console and the weekly report.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import bridge.models

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channel_checks",
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column(
            "details",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("checked_at", bridge.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_id"], ["channels.id"], name=op.f("fk_channel_checks_channel_id_channels")
        ),
        sa.PrimaryKeyConstraint("channel_id", name=op.f("pk_channel_checks")),
    )


def downgrade() -> None:
    op.drop_table("channel_checks")
