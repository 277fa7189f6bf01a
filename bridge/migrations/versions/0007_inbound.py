"""WhatsApp LID cache; deliveries found by their provider message id

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 09:00:00

``waha_lids`` keeps what WAHA answered for a LID (``GET /api/{session}/lids/{lid}``), so a
responder who appears in a group only by LID is recognised without asking WAHA every time.
Receipts (``message.ack``/``message.ack.group``) and replies to the bridge's messages look a
delivery up by ``external_id``: one a receipt per group member, so it gets an index.
"""

import sqlalchemy as sa
from alembic import op

import bridge.models

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "waha_lids",
        sa.Column("lid", sa.String(length=64), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("resolved_at", bridge.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("lid", name=op.f("pk_waha_lids")),
    )
    op.create_index("ix_deliveries_external_id", "deliveries", ["external_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_deliveries_external_id", "deliveries")
    op.drop_table("waha_lids")
