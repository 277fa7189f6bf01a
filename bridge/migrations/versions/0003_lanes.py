"""lanes: private and public deliveries queue apart; one target's open rows are indexed

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 08:00:00

Each delivery row records its lane (from its channel kind) so that a worker of one lane takes the
oldest due rows of that lane from the index alone. A second partial index finds a target's older
unfinished rows, which the claim consults to send one target's rows in order.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

CLAIMABLE = sa.text("status IN ('pending', 'retrying')")
OPEN = sa.text("status IN ('pending', 'retrying', 'sending')")
#: The kinds that travel in the public lane when this migration was written (the channel
#: registry decides for new rows).
PUBLIC_KINDS = ("facebook_page", "instagram", "x")


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(
            sa.Column("lane", sa.String(length=16), nullable=False, server_default="private")
        )
    deliveries = sa.table("deliveries", sa.column("kind"), sa.column("lane"))
    op.execute(deliveries.update().where(deliveries.c.kind.in_(PUBLIC_KINDS)).values(lane="public"))
    with op.batch_alter_table("deliveries") as batch:
        batch.alter_column("lane", server_default=None)
    op.drop_index("ix_deliveries_claimable", "deliveries")
    op.create_index(
        "ix_deliveries_claimable",
        "deliveries",
        ["lane", "next_attempt_at", "id"],
        unique=False,
        postgresql_where=CLAIMABLE,
        sqlite_where=CLAIMABLE,
    )
    op.create_index(
        "ix_deliveries_open_target",
        "deliveries",
        ["target", "kind", "id"],
        unique=False,
        postgresql_where=OPEN,
        sqlite_where=OPEN,
    )


def downgrade() -> None:
    op.drop_index("ix_deliveries_open_target", "deliveries")
    op.drop_index("ix_deliveries_claimable", "deliveries")
    op.create_index(
        "ix_deliveries_claimable",
        "deliveries",
        ["next_attempt_at", "id"],
        unique=False,
        postgresql_where=CLAIMABLE,
        sqlite_where=CLAIMABLE,
    )
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("lane")
