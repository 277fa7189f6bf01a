"""``/api/v1/complaints``: ingest, read, list, redeliver."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import abort
from marshmallow import Schema, fields, validate
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from bridge import db as database
from bridge import outbox
from bridge.api import Blueprint
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

blp = Blueprint(
    "complaints",
    __name__,
    url_prefix="/api/v1/complaints",
    description="Complaints mirrored from Wadule",
)


class RedeliverSchema(Schema):
    channel = fields.String(validate=validate.OneOf(CHANNEL_KINDS))


class RedeliverResultSchema(Schema):
    requeued = fields.Integer()
    complaint = fields.Nested(ComplaintSchema)


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
    @blp.response(200, ComplaintListSchema)
    def get(self, args):
        """List complaints, newest first, with cursor pagination."""
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
    @blp.arguments(ComplaintCreateSchema)
    @blp.response(202, ComplaintSchema, description="First receipt: stored and queued")
    @blp.alt_response(200, schema=ComplaintSchema, description="Identical replay")
    @blp.alt_response(409, description="Same wadule_id, different content")
    def post(self, data):
        """Mirror a complaint from Wadule: stored durably, then forwarded."""
        principal = current_principal()
        db = database.session()
        try:
            complaint, created = ingest(db, data, Actor("wadule", principal.name))
        except ConflictError:
            abort(409, message="this wadule_id was received earlier with different content")
        except NoTriageError:
            abort(503, message="the OPD directory is not imported yet")
        return _shown(complaint), 202 if created else 200


@blp.route("/<wadule_id>")
class ComplaintById(MethodView):
    @require(Role.WADULE, Role.OPD, Role.OPERATOR)
    @blp.response(200, ComplaintSchema)
    def get(self, wadule_id):
        """One complaint with its deliveries and history."""
        return _shown(_get_visible(wadule_id))


@blp.route("/<wadule_id>/redeliver")
class Redeliver(MethodView):
    @require(Role.OPERATOR)
    @blp.arguments(RedeliverSchema, required=False)
    @blp.response(202, RedeliverResultSchema)
    def post(self, args, wadule_id):
        """Retry dead and needs-review deliveries (optionally of one channel kind)."""
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


@blp.route("/<wadule_id>/status")
class Status(MethodView):
    @require(Role.WADULE, Role.OPD, Role.OPERATOR)
    @blp.arguments(StatusUpdateSchema)
    @blp.response(200, ComplaintSchema)
    @blp.alt_response(409, description="Not allowed from the complaint's current status")
    def post(self, data, wadule_id):
        """Change a complaint's status (``opd`` keys: own OPD; ``reopened``: ``wadule`` only)."""
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


@blp.route("/<wadule_id>/assign")
class Assign(MethodView):
    @require(Role.OPERATOR)
    @blp.arguments(AssignSchema)
    @blp.response(200, ComplaintSchema)
    @blp.alt_response(409, description="With that OPD already, or changed by another request")
    def post(self, data, wadule_id):
        """Re-route a complaint to another OPD: back to ``received`` and forwarded there."""
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
