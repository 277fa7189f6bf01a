"""``/api/v1/sandbox/messages``: the sandbox inbox, newest first (operators)."""

from __future__ import annotations

from flask.views import MethodView
from sqlalchemy import select

from bridge import db as database
from bridge.api import Blueprint, examples
from bridge.api.pagination import decode_cursor, encode_cursor
from bridge.auth import require
from bridge.models import Complaint, Delivery, SandboxMessage
from bridge.statuses import Role
from schemas.sandbox import SandboxListSchema, SandboxQueryArgsSchema

blp = Blueprint(
    "sandbox",
    __name__,
    url_prefix="/api/v1/sandbox",
    description="What channels would have received in sandbox mode",
)


@blp.route("/messages")
class SandboxMessages(MethodView):
    @require(Role.OPERATOR)
    @blp.arguments(SandboxQueryArgsSchema, location="query")
    @blp.response(200, SandboxListSchema, example=examples.SANDBOX_LIST)
    @blp.errors(401, 403, 503)
    def get(self, args):
        """Messages kept instead of sent in sandbox mode, newest first.

        With `BRIDGE_SANDBOX=1` every channel send lands here instead of at a provider.
        """
        query = (
            select(SandboxMessage, Complaint.wadule_id)
            .outerjoin(Delivery, SandboxMessage.delivery_id == Delivery.id)
            .outerjoin(Complaint, Delivery.complaint_id == Complaint.id)
        )
        if args.get("wadule_id"):
            query = query.where(Complaint.wadule_id == args["wadule_id"])
        if args.get("channel"):
            query = query.where(SandboxMessage.kind == args["channel"])
        if args.get("cursor"):
            query = query.where(SandboxMessage.id < decode_cursor(args["cursor"]))
        limit = args["limit"]
        rows = (
            database.session()
            .execute(query.order_by(SandboxMessage.id.desc()).limit(limit + 1))
            .all()
        )
        items = []
        for message, wadule_id in rows[:limit]:
            message.wadule_id = wadule_id
            items.append(message)
        next_cursor = encode_cursor(rows[limit - 1][0].id) if len(rows) > limit else None
        return {"items": items, "next_cursor": next_cursor}
