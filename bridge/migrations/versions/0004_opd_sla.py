"""each OPD's SLA (answer and resolve durations in working time)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 09:00:00

Nullable: OPDs imported before this revision have no ``sla`` and take the defaults (1d, 6d)
until the directory is imported again.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "opds",
        sa.Column(
            "sla",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
    )


def downgrade() -> None:
    with op.batch_alter_table("opds") as batch:
        batch.drop_column("sla")
