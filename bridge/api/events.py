"""``/api/v1/events``: every event in ``seq`` order, for Wadule to poll."""

from __future__ import annotations

from flask.views import MethodView
from sqlalchemy import func, select

from bridge import db as database
from bridge.api import Blueprint, examples
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
    @blp.response(200, EventListSchema, example=examples.EVENT_LIST)
    @blp.errors(401, 403, 503)
    def get(self, args):
        """Events after a given seq, oldest first: poll again with the last_seq returned.

        Each event is the same object a push carries (see *Webhooks*). `last_seq` never
        passes the newest event: an `after` beyond it (a database restored from a backup,
        a typo) gets the newest seq back, so polling resumes where events really are.
        """
        db = database.session()
        rows = db.scalars(
            select(Event).where(Event.seq > args["after"]).order_by(Event.seq).limit(args["limit"])
        ).all()
        if rows:
            last_seq = rows[-1].seq
        else:
            last_seq = min(args["after"], db.scalar(select(func.max(Event.seq))) or 0)
        return {"events": [envelope(e) for e in rows], "last_seq": last_seq}
