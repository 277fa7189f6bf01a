"""What a claimed row says: the complaint for private channels, its redacted summary for public
ones, or the bridge's own reply in a group. Rendered at send time, so a message always shows the
complaint as it is now (its current office after a re-route)."""

from __future__ import annotations

from sqlalchemy import select, update

from bridge import attachments, events, messages, public
from bridge import db as database
from bridge.channels import OutgoingMessage, PermanentError, is_public
from bridge.models import Attachment, Channel, Delivery, Event, Opd
from bridge.outbox import resources
from bridge.statuses import DeliveryPurpose


def render(delivery: Delivery, settings) -> OutgoingMessage:
    """The message for this row. Raises :class:`PermanentError` for a row that can never be
    rendered (a reply meant for a public channel, a confidential complaint on one)."""
    channel: Channel = delivery.channel
    adapter = resources.adapter(delivery.kind)
    limit = adapter.max_length if adapter is not None else 4096
    secrets_ = settings.channel_secrets
    delivery_id = delivery.id

    def checkpoint(progress: dict) -> None:
        with database.new_session() as own:
            own.execute(
                update(Delivery).where(Delivery.id == delivery_id).values(progress=progress)
            )
            own.commit()

    if is_public(delivery.kind):
        wadule_id, text, payload = _public(delivery, settings, adapter, limit)
    elif not DeliveryPurpose(delivery.purpose).carries_complaint:
        # The bridge's own notice (an answer to a command, ...): written when it was queued.
        wadule_id = delivery.complaint.wadule_id if delivery.complaint_id else None
        text = delivery.text[:limit]
        payload = {"type": f"bridge.{delivery.purpose}", "text": text}
    else:
        wadule_id, text, payload = _private(delivery, settings, limit)
    image = _attachment(delivery, settings)
    if image is not None:
        payload = {
            **payload,
            "image": {
                "filename": image.filename,
                "content_type": image.content_type,
                "bytes": len(image.data),
                "url": attachments.url(settings, image),
            },
        }
    return OutgoingMessage(
        delivery_id=delivery.id,
        wadule_id=wadule_id or "",
        kind=delivery.kind,
        target=delivery.target,
        text=text,
        payload=payload,
        token=secrets_.get(channel.token_env) if channel.token_env else None,
        secret=secrets_.get(channel.secret_env) if channel.secret_env else None,
        progress=dict(delivery.progress or {}),
        checkpoint=checkpoint,
        image=image.data if image is not None else None,
        image_name=image.filename if image is not None else None,
        image_type=image.content_type if image is not None else None,
        image_url=attachments.url(settings, image) if image is not None else None,
    )


def _attachment(delivery: Delivery, settings) -> Attachment | None:
    """The file the row sends with its text (the same bytes on every attempt), if any."""
    if delivery.attachment_id is None:
        return None
    attachment = database.session().get(Attachment, delivery.attachment_id)
    if attachment is None:
        raise PermanentError(f"attachment {delivery.attachment_id} is gone")
    return attachment


def _private(delivery: Delivery, settings, limit: int):
    """The full complaint (forward, reopen) for the OPD's private channel."""
    complaint = delivery.complaint
    link = messages.complaint_link(settings, complaint.wadule_id)
    reopen = delivery.purpose == DeliveryPurpose.REOPEN
    if reopen:
        header = messages.reopen_header(delivery.note)
    elif delivery.purpose == DeliveryPurpose.REROUTE:
        header = messages.reroute_header(_rerouted_from(delivery), delivery.note)
    else:
        header = ""
    text = header + messages.private_text(
        complaint,
        opd_name=complaint.opd.name,
        link=link,
        limit=limit - messages.text_length(header),
    )
    payload = messages.private_payload(
        complaint, opd_slug=complaint.opd.slug, opd_name=complaint.opd.name, link=link
    )
    if reopen:
        payload = {**payload, "type": "complaint.reopened", "note": delivery.note}
    return complaint.wadule_id, text, payload


def _rerouted_from(delivery: Delivery) -> str:
    """The name of the office that passed the complaint on to this row's office: from the
    re-route event that started the row's round."""
    db = database.session()
    complaint = delivery.complaint
    for data in db.scalars(
        select(Event.data)
        .where(Event.complaint_id == complaint.id, Event.type == events.REROUTED)
        .order_by(Event.seq.desc())
    ):
        if data.get("to_opd") == complaint.opd.slug:
            slug = data.get("from_opd")
            return db.scalar(select(Opd.name).where(Opd.slug == slug)) or str(slug)
    return "OPD lain"


def _public(delivery: Delivery, settings, adapter, limit: int):
    """A public channel's post: the redacted summary fitted to the channel's own length unit,
    and for Instagram the URL of the card image. Confidential complaints raise PermanentError."""
    if not DeliveryPurpose(delivery.purpose).carries_complaint:
        raise PermanentError(
            f"the bridge's {delivery.purpose} notices never go to public channel {delivery.kind!r}"
        )
    complaint = delivery.complaint
    summary = public.public_summary(
        complaint,
        opd_slug=complaint.opd.slug,
        opd_name=complaint.opd.name,
        link=messages.complaint_link(settings, complaint.wadule_id),
        reopened=delivery.purpose == DeliveryPurpose.REOPEN,
    )
    text = public.public_text(
        summary, limit=limit, measure=getattr(adapter, "measure", messages.text_length)
    )
    image_url = (
        public.card_url(settings, complaint.wadule_id) if delivery.kind == "instagram" else None
    )
    return complaint.wadule_id, text, public.public_payload(summary, text=text, image_url=image_url)
