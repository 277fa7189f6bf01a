"""the SLA ladder: when to look at a complaint next, and the steps taken

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 09:00:00

``complaints.next_sla_at`` is when the ladder (bridge.sla) should look at a complaint next; a
partial index serves the every-minute look-up of what is due without reading the complaints
whose clocks are stopped or not yet due. ``sla_steps`` holds each step taken, unique per
complaint, clock, stage and clock start: a restart neither skips nor repeats one.

Complaints open at the upgrade get their first look at once (``next_sla_at`` = their creation):
their ladders are worked out from their history like any other, overdue steps included.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import bridge.models

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

HAS_NEXT = sa.text("next_sla_at IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table("complaints") as batch:
        batch.add_column(
            sa.Column("next_sla_at", bridge.models.UTCDateTime(timezone=True), nullable=True)
        )
    op.create_index(
        "ix_complaints_next_sla_at",
        "complaints",
        ["next_sla_at"],
        unique=False,
        postgresql_where=HAS_NEXT,
        sqlite_where=HAS_NEXT,
    )
    op.execute(
        "UPDATE complaints SET next_sla_at = created_at"
        " WHERE status NOT IN ('resolved', 'rejected')"
    )
    op.create_table(
        "sla_steps",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "complaint_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("clock", sa.String(length=16), nullable=False),
        sa.Column("stage", sa.Integer(), nullable=False),
        sa.Column("clock_start", bridge.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("due_at", bridge.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", bridge.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "recipients",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["complaint_id"], ["complaints.id"], name=op.f("fk_sla_steps_complaint_id_complaints")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_steps")),
        sa.UniqueConstraint(
            "complaint_id", "clock", "stage", "clock_start", name=op.f("uq_sla_steps_complaint_id")
        ),
    )


def downgrade() -> None:
    op.drop_table("sla_steps")
    op.drop_index("ix_complaints_next_sla_at", "complaints")
    with op.batch_alter_table("complaints") as batch:
        batch.drop_column("next_sla_at")
