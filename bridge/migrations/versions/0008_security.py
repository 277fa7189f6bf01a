"""console security: session versions on operators, login throttling

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 09:00:00

``operators.session_version`` is kept in the console's session cookie: logging out, disabling
an account or resetting its password bumps it, which ends every session issued before.
``login_throttles`` counts failed log-ins per account and per client address, for back-off and
temporary locks without a sleeping server thread.
"""

import sqlalchemy as sa
from alembic import op

import bridge.models

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("operators") as batch:
        batch.add_column(
            sa.Column("session_version", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
        batch.add_column(
            sa.Column("last_login_at", bridge.models.UTCDateTime(timezone=True), nullable=True)
        )
    op.create_table(
        "login_throttles",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_start", bridge.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("retry_at", bridge.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("locked_until", bridge.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", bridge.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("kind", "key", name=op.f("pk_login_throttles")),
    )
    op.create_index(
        op.f("ix_login_throttles_updated_at"), "login_throttles", ["updated_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_login_throttles_updated_at"), table_name="login_throttles")
    op.drop_table("login_throttles")
    with op.batch_alter_table("operators") as batch:
        batch.drop_column("last_login_at")
        batch.drop_column("session_version")
