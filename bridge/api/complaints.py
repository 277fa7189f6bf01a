"""``/api/v1/complaints``: ingest, read, list, redeliver."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import abort
from marshmallow import Schema, fields, validate
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from bridge import db as database
from bridge import outbox
from bridge.api import Blueprint, examples
from bridge.api.pagination import decode_cursor, encode_cursor
from bridge.auth import current_principal, require
from bridge.complaints import ConflictError, ingest, load_complaint
from bridge.models import Complaint, Opd
from bridge.routing import NoTriageError
from bridge.statuses import Role
from bridge.workflow import (
    Actor,
    ConcurrentChange,
    IllegalTransition,
    change_status,
    reroute,
)
from schemas import (
    ComplaintCreateSchema,
    ComplaintListSchema,
    ComplaintQueryArgsSchema,
    ComplaintSchema,
)
from schemas.complaints import CHANNEL_KINDS, WADULE_ID, AssignSchema, StatusUpdateSchema
from schemas.fields import OutputSchema

blp = Blueprint(
    "complaints",
    __name__,
    url_prefix="/api/v1/complaints",
    description="Complaints mirrored from Wadule",
)


class RedeliverSchema(Schema):
    channel = fields.String(
        validate=validate.OneOf(CHANNEL_KINDS),
        metadata={"description": "Only this channel kind's deliveries; all when absent."},
    )


class RedeliverResultSchema(OutputSchema):
    requeued = fields.Integer(required=True, metadata={"description": "Deliveries queued again."})
    complaint = fields.Nested(ComplaintSchema, required=True)


def _shown(complaint: Complaint) -> Complaint:
    # Reporter contact details only for wadule and operator keys (see ComplaintSchema).
    complaint.show_reporter = current_principal().sees_reporter
    return complaint


def _get_visible(wadule_id: str) -> Complaint:
    if WADULE_ID.regex.match(wadule_id) is None:
        abort(404, message="no such complaint")
    complaint = load_complaint(database.session(), wadule_id)
    if complaint is None:
        abort(404, message="no such complaint")
    if not current_principal().may_see_opd(complaint.opd_id):
        abort(403, message="this complaint belongs to another OPD")
    return complaint


@blp.route("")
class Complaints(MethodView):
    @require(Role.WADULE, Role.OPD, Role.OPERATOR)
    @blp.arguments(ComplaintQueryArgsSchema, location="query")
    @blp.response(200, ComplaintListSchema, example=examples.COMPLAINT_LIST)
    @blp.errors(401, 503)
    def get(self, args):
        """List complaints, newest first, with cursor pagination.

        An `opd` key sees only its own OPD's complaints.
        """
        principal = current_principal()
        db = database.session()
        query = select(Complaint).options(
            selectinload(Complaint.opd),
            selectinload(Complaint.deliveries),
            selectinload(Complaint.history),
        )
        if principal.role is Role.OPD:
            if args.get("opd") and args["opd"] != principal.opd_slug:
                return {"items": [], "next_cursor": None}
            query = query.where(Complaint.opd_id == principal.opd_id)
        elif args.get("opd"):
            query = query.join(Opd, Complaint.opd_id == Opd.id).where(Opd.slug == args["opd"])
        if args.get("status"):
            query = query.where(Complaint.status == args["status"])
        if args.get("cursor"):
            query = query.where(Complaint.id < decode_cursor(args["cursor"]))
        limit = args["limit"]
        rows = db.scalars(query.order_by(Complaint.id.desc()).limit(limit + 1)).all()
        items = [_shown(c) for c in rows[:limit]]
        next_cursor = encode_cursor(rows[limit - 1].id) if len(rows) > limit else None
        return {"items": items, "next_cursor": next_cursor}

    @require(Role.WADULE)
    @blp.arguments(ComplaintCreateSchema, example=examples.COMPLAINT_CREATE)
    @blp.response(
        202,
        ComplaintSchema,
        description="First receipt: stored durably, then forwarded.",
        example={
            **examples.COMPLAINT,
            "status": "received",
            "deliveries": [],
            "history": [examples.COMPLAINT["history"][0]],
        },
        headers={
            "Location": {
                "description": "`/api/v1/complaints/<wadule_id>`",
                "schema": {"type": "string"},
            }
        },
    )
    @blp.alt_response(
        200,
        schema=ComplaintSchema,
        description="The same content again: the complaint as it is now; nothing new created.",
        example=examples.COMPLAINT,
        success=True,
    )
    @blp.errors(400, 401, 403, 409, 413, 415, 422, 503)
    def post(self, data):
        """Mirror a complaint from Wadule.

        Idempotent on `wadule_id`: `202` the first time (after the complaint is committed),
        `200` for the same content again, `409` for different content under the same id.
        """
        principal = current_principal()
        db = database.session()
        try:
            complaint, created = ingest(db, data, Actor("wadule", principal.name))
        except ConflictError:
            abort(409, message="this wadule_id was received earlier with different content")
        except NoTriageError:
            abort(503, message="the OPD directory is not imported yet")
        return _shown(complaint), 202 if created else 200


@blp.route("/<wadule_id:wadule_id>")
class ComplaintById(MethodView):
    @require(Role.WADULE, Role.OPD, Role.OPERATOR)
    @blp.response(200, ComplaintSchema, example=examples.COMPLAINT)
    @blp.errors(401, 403, 404, 503)
    def get(self, wadule_id):
        """One complaint with its deliveries and history."""
        return _shown(_get_visible(wadule_id))


@blp.route("/<wadule_id:wadule_id>/redeliver")
class Redeliver(MethodView):
    @require(Role.OPERATOR)
    @blp.arguments(RedeliverSchema, required=False, example=examples.REDELIVER)
    @blp.response(202, RedeliverResultSchema, example=examples.REDELIVER_RESULT)
    @blp.errors(400, 401, 403, 404, 413, 415, 422, 503)
    def post(self, args, wadule_id):
        """Retry dead and needs-review deliveries (optionally of one channel kind).

        A `needs_review` delivery may have been posted already: check the channel first.
        """
        complaint = _get_visible(wadule_id)
        principal = current_principal()
        db = database.session()
        ids = outbox.redeliver(
            db,
            complaint,
            channel=(args or {}).get("channel"),
            actor=Actor("operator", principal.name),
        )
        db.expire_all()
        return {"requeued": len(ids), "complaint": _shown(_get_visible(wadule_id))}


@blp.route("/<wadule_id:wadule_id>/status")
class Status(MethodView):
    @require(Role.WADULE, Role.OPD, Role.OPERATOR)
    @blp.arguments(StatusUpdateSchema, example=examples.STATUS_UPDATE)
    @blp.response(200, ComplaintSchema, example=examples.COMPLAINT)
    @blp.errors(400, 401, 403, 404, 409, 413, 415, 422, 503)
    def post(self, data, wadule_id):
        """Change a complaint's status.

        `opd` keys change their own OPD's complaints, `operator` keys any; `reopened` (from
        `resolved` or `rejected`) is for the `wadule` key only, which may do nothing else
        here. A status may skip forward, never go back: `409` otherwise.
        """
        principal = current_principal()
        reopening = data["status"] == "reopened"
        if reopening != (principal.role is Role.WADULE):
            abort(403, message="only wadule reopens; wadule only reopens")
        complaint = _get_visible(wadule_id)
        actor = Actor(principal.role.value, principal.opd_slug or principal.name)
        db = database.session()
        try:
            change_status(db, complaint, data["status"], note=data.get("note"), actor=actor)
        except (IllegalTransition, ConcurrentChange) as exc:
            db.rollback()
            abort(409, message=str(exc))
        db.commit()
        db.expire_all()
        return _shown(_get_visible(wadule_id))


@blp.route("/<wadule_id:wadule_id>/assign")
class Assign(MethodView):
    @require(Role.OPERATOR)
    @blp.arguments(AssignSchema, example=examples.ASSIGN)
    @blp.response(200, ComplaintSchema, example=examples.COMPLAINT)
    @blp.errors(400, 401, 403, 404, 409, 413, 415, 422, 503)
    def post(self, data, wadule_id):
        """Re-route a complaint to another OPD (operators): forwarded there anew.

        The complaint goes back to `received` under the new OPD.

        `409` when it is with that OPD already, or another change to it won the race.
        """
        complaint = _get_visible(wadule_id)
        db = database.session()
        target = db.scalar(select(Opd).where(Opd.slug == data["opd"], Opd.active.is_(True)))
        if target is None:
            abort(422, message="unknown OPD", errors={"opd": ["No active OPD with this slug."]})
        if target.id == complaint.opd_id:
            abort(409, message=f"the complaint is with {target.slug} already")
        try:
            reroute(
                db,
                complaint,
                target,
                note=data.get("note"),
                actor=Actor("operator", current_principal().name),
            )
        except ConcurrentChange as exc:
            db.rollback()
            abort(409, message=f"{exc}; read it again before re-routing")
        db.commit()
        db.expire_all()
        return _shown(_get_visible(wadule_id))
