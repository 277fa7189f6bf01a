"""Group commands (contract section 7): OPD admins answer from their WhatsApp or Telegram group.

A command is one of

- ``#<wadule_id> <word> [catatan]`` anywhere in a message (``Siap, #WDL-2026-000123 terima``);
- the same without the ``#``, but only when the id is an existing complaint's: ordinary chatter
  (``jam 10 selesai``) must never change anything;
- a reply to the bridge's message about a complaint that starts with the word
  (``selesai Sudah ditambal``): the quoted message is the delivery that carried the complaint.

Ids and words are case-insensitive. ``terima``, ``proses``, ``selesai``, ``tolak`` set the status,
``bukan`` sends the complaint back to triage, ``alihkan <slug>`` (triage group only) re-routes it.
A command counts only from the group of the OPD the complaint is assigned to (or triage) and,
where that OPD lists responders, only from them. The bridge answers in the group, one answer per
command in the order of the commands (outbox rows in id order); a non-responder gets at most one
refusal a minute per group.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bridge import queue, templating
from bridge.channels import lane_of
from bridge.models import BridgeState, Channel, Complaint, Delivery, InboundEvent, Opd, utcnow
from bridge.senders import LidResolver, Sender, is_responder
from bridge.statuses import ComplaintStatus, DeliveryPurpose, DeliveryStatus
from bridge.workflow import Actor, ConcurrentChange, IllegalTransition, change_status, reroute

WORDS = {
    "terima": ComplaintStatus.ACKNOWLEDGED,
    "proses": ComplaintStatus.IN_PROGRESS,
    "selesai": ComplaintStatus.RESOLVED,
    "tolak": ComplaintStatus.REJECTED,
}
COMMAND_WORDS = (*WORDS, "bukan", "alihkan")
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
#: Non-responders' commands get at most one refusal per group in this time.
REFUSAL_EVERY = dt.timedelta(minutes=1)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

_ID = r"[A-Za-z0-9._-]{1,64}"
_END = r"(?![A-Za-z0-9])"
# "#id word": the '#' starts the message or follows a space or punctuation (a greeting first).
_EXPLICIT = re.compile(rf"(?:^|(?<=[\s,.;:!?(\[]))#(?P<id>{_ID})[\s:,]+(?P<word>[A-Za-z]+){_END}")
# "id word" without '#': the word must be a command word, the id is checked against complaints.
_IMPLICIT = re.compile(
    rf"(?:^|(?<=[\s,.;:!?(\[]))(?P<id>[A-Za-z0-9][A-Za-z0-9._-]{{3,63}})[\s:,]+"
    rf"(?P<word>{'|'.join(COMMAND_WORDS)}){_END}",
    re.IGNORECASE,
)
# A reply that starts with the word; emoji or punctuation before it are fine.
_REPLY = re.compile(rf"^[\W_]*(?P<word>[A-Za-z]+){_END}")
# The note follows the word after any spaces or punctuation ("terima, segera kami cek").
_NOTE_START = re.compile(r"^[\s.,:;!?\-\u2013]*")


@dataclasses.dataclass(frozen=True)
class Command:
    """What a message asks: ``wadule_id`` as typed (None for a reply), the word, the note."""

    wadule_id: str | None
    word: str
    rest: str
    #: Written with ``#``: the sender clearly meant a command, so even an unknown id is answered.
    explicit: bool = True


@dataclasses.dataclass(frozen=True)
class Inbound:
    """One group message, whatever the provider."""

    source: str  # "waha" or "telegram"
    kind: str  # the channel kind of the group: whatsapp_group or telegram
    group: str  # the group id as the directory names it
    sender: Sender
    text: str
    #: The provider's id of this message: it is acted on once, however often it arrives.
    message_key: str
    #: ``Delivery.external_id`` values the quoted message may have, when this is a reply.
    quoted: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What :func:`handle` did: outbox rows to ring, whether events were recorded, and for the
    webhook's answer a status (``handled``/``ignored``) and reason."""

    outbox: tuple[int, ...] = ()
    changed: bool = False
    status: str = "ignored"
    reason: str | None = None


def parse(text: str) -> Command | None:
    """The ``#id word`` or ``id word`` command in a message, or None.

    Without ``#`` the id must hold a digit, so that "siap terima kasih" is not read as one;
    :func:`handle` then also requires the id to be an existing complaint's.
    """
    text = text or ""
    match = _EXPLICIT.search(text)
    if match:
        return _command(text, match, match["id"], explicit=True)
    for match in _IMPLICIT.finditer(text):
        if any(c.isdigit() for c in match["id"]):
            return _command(text, match, match["id"], explicit=False)
    return None


def parse_reply(text: str) -> Command | None:
    """The command of a reply to the bridge's message: its first word, when it is one."""
    text = text or ""
    match = _REPLY.match(text)
    if match is None or match["word"].lower() not in COMMAND_WORDS:
        return None
    return _command(text, match, None, explicit=False)


def _command(text: str, match: re.Match, wadule_id: str | None, *, explicit: bool) -> Command:
    rest = _NOTE_START.sub("", text[match.end() :], count=1).strip()
    return Command(wadule_id, match["word"].lower(), rest, explicit)


def find_complaint(db: Session, typed: str) -> Complaint | None:
    """The complaint whose id is ``typed`` in any case (``wdl-2026-000123``).

    Ids are stored as Wadule gave them. The unique index answers the id as typed, upper-cased
    and lower-cased; only an id in some other mix of cases falls back to comparing
    ``lower()`` on both sides, a scan that an unknown id (a typo) also costs.
    """
    for candidate in dict.fromkeys([typed, typed.rstrip("._-")]):
        if not candidate:
            continue
        found = db.scalars(
            select(Complaint)
            .where(Complaint.wadule_id.in_({candidate, candidate.upper(), candidate.lower()}))
            .order_by(Complaint.id)
        ).all()
        exact = [c for c in found if c.wadule_id == candidate]
        if exact or found:
            return (exact or found)[0]
        found = db.scalar(
            select(Complaint)
            .where(func.lower(Complaint.wadule_id) == candidate.lower())
            .order_by(Complaint.id)
            .limit(1)
        )
        if found is not None:
            return found
    return None


def quoted_complaint(db: Session, message: Inbound) -> Complaint | None:
    """The complaint of the bridge's message that ``message`` replies to, if it is one."""
    if not message.quoted:
        return None
    return db.scalar(
        select(Complaint)
        .join(Delivery, Delivery.complaint_id == Complaint.id)
        .where(
            Delivery.kind == message.kind,
            Delivery.target == message.group,
            Delivery.external_id.in_(message.quoted),
            # The complaint itself, or an SLA reminder/escalation about it (bridge.sla).
            Delivery.purpose.in_(
                [
                    DeliveryPurpose.FORWARD,
                    DeliveryPurpose.REOPEN,
                    DeliveryPurpose.REROUTE,
                    DeliveryPurpose.REMINDER,
                    DeliveryPurpose.ESCALATION,
                ]
            ),
        )
        .order_by(Delivery.id.desc())
        .limit(1)
    )


def handle(db: Session, message: Inbound, *, resolver: LidResolver | None = None) -> Outcome:
    """Apply a group command and queue the bridge's answer in the same group.

    The caller commits, then rings the outbox rows and (when ``changed``) the event pusher.
    """
    command = parse(message.text)
    reply = parse_reply(message.text) if message.quoted else None
    if command is None and reply is None:
        return Outcome(reason="not a command")
    channels = db.scalars(
        select(Channel)
        .join(Opd)
        .where(
            Channel.kind == message.kind,
            Channel.target == message.group,
            Channel.active.is_(True),
            Opd.active.is_(True),
        )
        .order_by(Opd.position, Channel.id)
    ).all()
    if not channels:
        return Outcome(reason="a group the directory does not know")
    complaint = find_complaint(db, command.wadule_id) if command else None
    if command is not None and not command.explicit and complaint is None:
        command = None  # "<something> selesai" where something is no complaint: chatter
    if command is None:
        complaint = quoted_complaint(db, message) if reply else None
        if complaint is None:
            return Outcome(reason="not a command")
        command = reply
    channel = _answering_channel(channels, complaint)
    opd = channel.opd
    allowed = not opd.responders or is_responder(opd.responders, message.sender, resolver)
    if not _first_time(db, message.source, message.message_key):
        return Outcome(reason="repeated message")
    tag = f"#{complaint.wadule_id}" if complaint else f"#{command.wadule_id}"
    if not allowed:
        if not _may_refuse(db, channel):
            return Outcome(reason="refused a moment ago in this group")
        answer = (_say("refused_sender", tag=tag, office=opd.name), False, [])
    elif complaint is None:
        answer = (_say("not_found", tag=tag), False, [])
    else:
        try:
            answer = _apply(db, command, complaint, channels, tag)
        except ConcurrentChange:
            # Another change (an assign, a command in another group) won the race; nothing of
            # this one was written.
            answer = (
                f"❌ {tag}: aduan baru saja berubah (dialihkan atau diperbarui) saat perintah ini"
                " diproses. Periksa statusnya lalu kirim ulang bila masih perlu.",
                False,
                [],
            )
    text, changed, outbox = answer
    row = Delivery(
        dedupe_key=f"reply:{message.source}:{message.message_key}"[:200],
        purpose=DeliveryPurpose.REPLY,
        complaint_id=None,
        channel=channel,
        kind=channel.kind,
        lane=lane_of(channel.kind),
        target=channel.target,
        text=text,
        status=DeliveryStatus.PENDING,
        next_attempt_at=utcnow(),
        published_at=utcnow(),
    )
    db.add(row)
    db.flush()
    queue.ring(db, [(row.id, row.lane)])
    return Outcome((row.id, *outbox), changed, "handled")


def _answering_channel(channels: list[Channel], complaint: Complaint | None) -> Channel:
    """The group's entry that decides: the complaint's OPD's, else triage's, else the first.
    (One group may serve several OPDs.)"""
    if complaint is not None:
        for channel in channels:
            if channel.opd_id == complaint.opd_id:
                return channel
    return next((c for c in channels if c.opd.is_triage), channels[0])


def _apply(db: Session, command: Command, complaint: Complaint, channels, tag: str):
    group_opd = _answering_channel(channels, complaint).opd
    triage = group_opd.is_triage
    if complaint.opd_id != group_opd.id and not triage:
        return _say("other_office", tag=tag, office=complaint.opd.name), False, []
    note = command.rest[:MAX_NOTE] or None
    actor = Actor("opd", group_opd.slug)
    if command.word in WORDS:
        new = WORDS[command.word]
        try:
            change_status(db, complaint, new, note=note, actor=actor)
        except IllegalTransition as exc:
            answer = _say(
                "illegal_transition",
                tag=tag,
                new_status=str(new),
                new_label=STATUS_ID[str(new)],
                current_status=str(exc.current),
                current_label=STATUS_ID.get(exc.current, exc.current),
            )
            return answer, False, []
        answer = _say(
            "status_recorded", tag=tag, new_status=str(new), new_label=STATUS_ID[str(new)]
        )
        return answer, True, []
    if command.word == "bukan":
        triage_opd = db.scalar(select(Opd).where(Opd.is_triage.is_(True), Opd.active.is_(True)))
        if triage_opd is None or complaint.opd_id == triage_opd.id:
            return _say("already_in_triage", tag=tag), False, []
        reroute(db, complaint, triage_opd, note=note or "bukan kewenangan OPD", actor=actor)
        answer = _say("returned_to_triage", tag=tag, office=group_opd.name, triage=triage_opd.name)
        return answer, True, _new_rows(db, complaint)
    if command.word == "alihkan":
        if not triage:
            return _say("reroute_only_from_triage", tag=tag), False, []
        slug, _, rest = command.rest.partition(" ")
        target = db.scalar(select(Opd).where(Opd.slug == slug.lower(), Opd.active.is_(True)))
        if target is None:
            choices = ", ".join(
                db.scalars(
                    select(Opd.slug)
                    .where(Opd.active.is_(True), Opd.is_triage.is_(False))
                    .order_by(Opd.position, Opd.slug)
                )
            )
            answer = _say(
                "unknown_office",
                tag=tag,
                wadule_id=complaint.wadule_id,
                slug=slug[:64],
                choices=choices,
            )
            return answer, False, []
        if target.id == complaint.opd_id:
            return _say("already_there", tag=tag, office=target.name), False, []
        reroute(db, complaint, target, note=rest.strip()[:MAX_NOTE] or None, actor=actor)
        return _say("rerouted", tag=tag, office=target.name), True, _new_rows(db, complaint)
    return _say("unknown_word", tag=tag, word=command.word[:20]), False, []


def _say(answer: str, **values) -> str:
    """The bridge's answer in the group, worded by the ``commands/`` templates."""
    return templating.current().render(f"commands/{answer}.txt", **values)


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


def _insert(db: Session):
    dialect = db.get_bind().dialect.name
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def _first_time(db: Session, source: str, key: str) -> bool:
    """Remember a message; False when it was handled before.

    On PostgreSQL a concurrent copy (``message`` and ``message.any`` at once) waits for the
    first one's transaction and then inserts nothing.
    """
    table = InboundEvent.__table__
    inserted = db.execute(
        _insert(db)(table)
        .values(source=source, event_id=key[:200], received_at=utcnow())
        .on_conflict_do_nothing()
        .returning(table.c.id)
    ).first()
    return inserted is not None


def _may_refuse(db: Session, channel: Channel) -> bool:
    """True at most once per :data:`REFUSAL_EVERY` per group (the time is taken here)."""
    key = f"refusal:{channel.id}"
    now = utcnow()
    db.execute(
        _insert(db)(BridgeState.__table__)
        .values(key=key, value={}, updated_at=_EPOCH)
        .on_conflict_do_nothing()
    )
    taken = db.execute(
        update(BridgeState)
        .where(BridgeState.key == key, BridgeState.updated_at <= now - REFUSAL_EVERY)
        .values(value={"refused_at": now.isoformat()}, updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    return taken == 1
