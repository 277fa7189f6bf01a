"""Group commands (contract section 7): OPD admins answer from their WhatsApp or Telegram group.

``#<wadule_id> terima|proses|selesai|tolak|bukan [catatan]``, and from the triage group
``#<wadule_id> alihkan <slug> [catatan]``. A command counts only from the group of the OPD the
complaint is assigned to (or triage) and, where that OPD lists responders, only from them. The
bridge answers in the group, in Indonesian, through the delivery engine.
"""

from __future__ import annotations

import dataclasses
import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from bridge import queue
from bridge.channels import lane_of
from bridge.complaints import load_complaint
from bridge.models import Channel, Complaint, Delivery, Opd, utcnow
from bridge.statuses import ComplaintStatus, DeliveryPurpose, DeliveryStatus
from bridge.workflow import Actor, IllegalTransition, change_status, reroute

COMMAND = re.compile(
    r"^\s*#(?P<id>[A-Za-z0-9._-]{1,64})\s+(?P<word>[A-Za-z]+)\b[ \t]*(?P<rest>.*)\Z", re.DOTALL
)
WORDS = {
    "terima": ComplaintStatus.ACKNOWLEDGED,
    "proses": ComplaintStatus.IN_PROGRESS,
    "selesai": ComplaintStatus.RESOLVED,
    "tolak": ComplaintStatus.REJECTED,
}
STATUS_ID = {
    "received": "diterima bridge",
    "forwarded": "diteruskan",
    "delivery_failed": "gagal dikirim",
    "acknowledged": "diterima OPD",
    "in_progress": "diproses",
    "resolved": "selesai",
    "rejected": "ditolak",
    "reopened": "dibuka kembali",
}
MAX_NOTE = 1000


@dataclasses.dataclass(frozen=True)
class Command:
    wadule_id: str
    word: str
    rest: str


@dataclasses.dataclass(frozen=True)
class Inbound:
    """One group message, whatever the provider."""

    source: str  # "waha" or "telegram"
    event_id: str
    kind: str  # the channel kind of the group: whatsapp_group or telegram
    group: str  # the group id as the directory names it
    sender: str  # digits: a phone number (WhatsApp) or a user id (Telegram)
    text: str


def parse(text: str) -> Command | None:
    """The command in a message, or None when the message is not one."""
    match = COMMAND.match(text or "")
    if match is None:
        return None
    return Command(match["id"], match["word"].lower(), match["rest"].strip())


def handle(db: Session, message: Inbound) -> tuple[list[int], bool]:
    """Apply a group command and queue the bridge's answer in the same group.

    Returns the new outbox rows to ring and whether an event was recorded. The caller commits.
    """
    command = parse(message.text)
    if command is None:
        return [], False
    groups = db.scalars(
        select(Channel)
        .join(Opd)
        .where(
            Channel.kind == message.kind,
            Channel.target == message.group,
            Channel.active.is_(True),
            Opd.active.is_(True),
        )
    ).all()
    if not groups:
        return [], False  # a group the directory does not know: not ours to answer
    channel = groups[0]
    group_opd = channel.opd
    answer, changed, outbox = _apply(db, command, message, group_opd)
    reply = Delivery(
        dedupe_key=f"reply:{message.source}:{message.event_id}"[:200],
        purpose=DeliveryPurpose.REPLY,
        complaint_id=None,
        channel=channel,
        kind=channel.kind,
        lane=lane_of(channel.kind),
        target=channel.target,
        text=answer,
        status=DeliveryStatus.PENDING,
        next_attempt_at=utcnow(),
        published_at=utcnow(),
    )
    db.add(reply)
    db.flush()
    queue.ring(db, [(reply.id, reply.lane)])
    return [reply.id, *outbox], changed


def _apply(db: Session, command: Command, message: Inbound, group_opd: Opd):
    tag = f"#{command.wadule_id}"
    complaint = load_complaint(db, command.wadule_id)
    if complaint is None:
        return f"❌ {tag}: aduan tidak ditemukan. Periksa nomor aduannya.", False, []
    triage = group_opd.is_triage
    if complaint.opd_id != group_opd.id and not triage:
        return (
            f"❌ {tag}: perintah ditolak. Aduan ini ditangani {complaint.opd.name}; "
            "hanya grup OPD tersebut (atau grup triase) yang bisa mengubah statusnya.",
            False,
            [],
        )
    if group_opd.responders and _digits(message.sender) not in group_opd.responders:
        return (
            f"❌ {tag}: perintah ditolak. Pengirim tidak terdaftar sebagai petugas penjawab "
            f"{group_opd.name}.",
            False,
            [],
        )
    note = command.rest[:MAX_NOTE] or None
    actor = Actor("opd", group_opd.slug)
    if command.word in WORDS:
        new = WORDS[command.word]
        try:
            change_status(db, complaint, new, note=note, actor=actor)
        except IllegalTransition as exc:
            return (
                f'❌ {tag}: tidak bisa menjadi "{STATUS_ID[str(new)]}" karena statusnya '
                f'sekarang "{STATUS_ID.get(exc.current, exc.current)}".',
                False,
                [],
            )
        return f'✅ {tag}: status dicatat "{STATUS_ID[str(new)]}".', True, []
    if command.word == "bukan":
        triage_opd = db.scalar(select(Opd).where(Opd.is_triage.is_(True), Opd.active.is_(True)))
        if triage_opd is None or complaint.opd_id == triage_opd.id:
            return f'❌ {tag}: aduan sudah di grup triase; gunakan "alihkan <opd>".', False, []
        reroute(db, complaint, triage_opd, note=note or "bukan kewenangan OPD", actor=actor)
        return (
            f"✅ {tag}: dicatat bukan kewenangan {group_opd.name}; dikembalikan ke "
            f"{triage_opd.name} untuk dialihkan.",
            True,
            _new_rows(db, complaint),
        )
    if command.word == "alihkan":
        if not triage:
            return f'❌ {tag}: "alihkan" hanya bisa dari grup triase.', False, []
        slug, _, rest = command.rest.partition(" ")
        target = db.scalar(select(Opd).where(Opd.slug == slug.lower(), Opd.active.is_(True)))
        if target is None:
            return f'❌ {tag}: OPD "{slug[:64]}" tidak dikenal.', False, []
        if target.id == complaint.opd_id:
            return f"❌ {tag}: aduan sudah ditangani {target.name}.", False, []
        reroute(db, complaint, target, note=rest.strip()[:MAX_NOTE] or None, actor=actor)
        return f"✅ {tag}: dialihkan ke {target.name}.", True, _new_rows(db, complaint)
    return (
        f'❌ {tag}: perintah "{command.word[:20]}" tidak dikenal. '
        "Gunakan terima, proses, selesai, tolak atau bukan.",
        False,
        [],
    )


def _new_rows(db: Session, complaint: Complaint) -> list[int]:
    db.flush()
    return list(
        db.scalars(
            select(Delivery.id).where(
                Delivery.complaint_id == complaint.id,
                Delivery.round == complaint.round,
                Delivery.status == DeliveryStatus.PENDING,
            )
        )
    )


def _digits(value: str) -> str:
    return re.sub(r"\D", "", value.split("@", 1)[0])
