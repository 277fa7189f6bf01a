"""X channels say how they authenticate; OAuth 2.0 tokens of X accounts

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 09:00:00

``channels.auth`` is ``oauth1`` or ``oauth2`` for ``x`` channels (rows imported before it existed
are read as ``oauth1``, the directory's default). ``x_tokens`` keeps the refresh token X rotated
last for each ``token_env`` (each refresh token works once) and the access token it gave.
"""

import sqlalchemy as sa
from alembic import op

import bridge.models

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("channels", sa.Column("auth", sa.String(length=16), nullable=True))
    op.create_table(
        "x_tokens",
        sa.Column("token_env", sa.String(length=100), nullable=False),
        sa.Column("seed_hash", sa.String(length=64), nullable=False),
        sa.Column("refresh_token", sa.Text(), nullable=False),
        sa.Column("access_token", sa.Text(), nullable=True),
        sa.Column("expires_at", bridge.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", bridge.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("token_env", name=op.f("pk_x_tokens")),
    )


def downgrade() -> None:
    op.drop_table("x_tokens")
    with op.batch_alter_table("channels") as batch:
        batch.drop_column("auth")
