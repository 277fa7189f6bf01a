"""weekly report: attachments, and the attachment a delivery sends

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 09:00:00

``attachments`` keeps a file the bridge sends with a notice (the weekly report's chart), so a
retry sends the same bytes; ``deliveries.attachment_id`` names it. ``ix_status_history_at``
lets the weekly report find the complaints active since a week began without reading every
history entry.
"""

import sqlalchemy as sa
from alembic import op

import bridge.models

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(op.f("ix_status_history_at"), "status_history", ["at"], unique=False)
    op.create_table(
        "attachments",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", bridge.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachments")),
        sa.UniqueConstraint("token", name=op.f("uq_attachments_token")),
    )
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(
            sa.Column(
                "attachment_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
            )
        )
        batch.create_foreign_key(
            op.f("fk_deliveries_attachment_id_attachments"),
            "attachments",
            ["attachment_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_constraint(op.f("fk_deliveries_attachment_id_attachments"), type_="foreignkey")
        batch.drop_column("attachment_id")
    op.drop_table("attachments")
    op.drop_index(op.f("ix_status_history_at"), table_name="status_history")
