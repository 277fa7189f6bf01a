"""``/api/v1/events``: every event in ``seq`` order, for Wadule to poll."""

from __future__ import annotations

from flask.views import MethodView
from sqlalchemy import select

from bridge import db as database
from bridge.api import Blueprint
from bridge.auth import require
from bridge.events import envelope
from bridge.models import Event
from bridge.statuses import Role
from schemas.events import EventListSchema, EventQueryArgsSchema

blp = Blueprint("events", __name__, url_prefix="/api/v1/events", description="Events for Wadule")


@blp.route("")
class Events(MethodView):
    @require(Role.WADULE, Role.OPERATOR)
    @blp.arguments(EventQueryArgsSchema, location="query")
    @blp.response(200, EventListSchema)
    def get(self, args):
        """Events with ``seq`` above ``after``, oldest first; poll again with ``last_seq``."""
        rows = (
            database.session()
            .scalars(
                select(Event)
                .where(Event.seq > args["after"])
                .order_by(Event.seq)
                .limit(args["limit"])
            )
            .all()
        )
        return {
            "events": [envelope(e) for e in rows],
            "last_seq": rows[-1].seq if rows else args["after"],
        }
