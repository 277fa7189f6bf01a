"""The card route: Meta fetches each Instagram card from the bridge at a stable URL.

``{BRIDGE_PUBLIC_URL}/public/cards/<wadule_id>.jpg`` renders from the database on each request.
It answers 404 for an unknown or confidential complaint, and for one that has no Instagram
delivery, so the card of a complaint never meant for Instagram cannot be fetched by guessing ids.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from bridge import db as database
from bridge.messages import complaint_link
from bridge.models import Complaint, Delivery
from bridge.public.card import render_card
from bridge.public.summary import public_summary

bp = Blueprint("public", __name__)


@bp.get("/public/cards/<wadule_id>.jpg")
def card(wadule_id: str):
    """Serve a complaint's card to Meta's fetcher (no auth: the image is public by design)."""
    db = database.session()
    complaint = db.scalar(
        select(Complaint)
        .where(Complaint.wadule_id == wadule_id)
        .options(selectinload(Complaint.opd))
    )
    if complaint is None or complaint.confidential:
        abort(404)
    for_instagram = db.scalar(
        select(Delivery.id)
        .where(Delivery.complaint_id == complaint.id, Delivery.kind == "instagram")
        .limit(1)
    )
    if for_instagram is None:
        abort(404)
    settings = current_app.config["BRIDGE_SETTINGS"]
    summary = public_summary(
        complaint,
        opd_slug=complaint.opd.slug,
        opd_name=complaint.opd.name,
        link=complaint_link(settings, complaint.wadule_id),
    )
    response = Response(render_card(summary), mimetype="image/jpeg")
    # Short: a re-route changes the office on the card.
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
