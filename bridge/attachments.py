"""Files the bridge sends along with a notice (the weekly report's chart).

A file is stored once (:class:`~bridge.models.Attachment`) and named by the outbox rows that
send it, so every attempt and every channel sends the same bytes, also after a restart. Each
file is served at a stable URL with an unguessable token, ``{BRIDGE_PUBLIC_URL}/public/files/
<token>/<filename>``, for providers that take a link instead of the file (WAHA before 2026.6.1
without Plus, Fonnte). Nothing personal is ever stored here: the weekly chart holds per-office
figures only.
"""

from __future__ import annotations

import secrets

from flask import Blueprint, Response, abort
from sqlalchemy import select
from sqlalchemy.orm import Session

from bridge import db as database
from bridge.models import Attachment

bp = Blueprint("attachments", __name__)

#: Larger files are a bug upstream: a chart is a few dozen kilobytes.
MAX_BYTES = 5 * 1024 * 1024


def store(db: Session, data: bytes, *, filename: str, content_type: str) -> Attachment:
    """Keep ``data`` as a new attachment (flushed, not committed) and return it."""
    if not data or len(data) > MAX_BYTES:
        raise ValueError(f"an attachment must hold 1 to {MAX_BYTES} bytes, not {len(data)}")
    if "/" in filename or not filename.strip():
        raise ValueError(f"not a file name: {filename!r}")
    attachment = Attachment(
        token=secrets.token_urlsafe(24),
        content_type=content_type,
        filename=filename,
        data=data,
    )
    db.add(attachment)
    db.flush()
    return attachment


def url(settings, attachment: Attachment) -> str:
    """The stable public URL of an attachment."""
    return f"{settings.public_url}/public/files/{attachment.token}/{attachment.filename}"


@bp.get("/public/files/<token>/<filename>")
def serve(token: str, filename: str):
    """Serve an attachment to a provider's fetcher (no auth: the token is the secret)."""
    attachment = database.session().scalar(select(Attachment).where(Attachment.token == token))
    if attachment is None or attachment.filename != filename:
        abort(404)
    response = Response(attachment.data, mimetype=attachment.content_type)
    # The bytes behind a token never change.
    response.headers["Cache-Control"] = "public, max-age=86400, immutable"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
