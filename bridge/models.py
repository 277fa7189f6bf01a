"""SQLAlchemy models. The same schema runs on PostgreSQL (production) and SQLite (embedded).

Delivery rows are the outbox: one row per (complaint, channel, round) is written in the same
transaction as the complaint, and workers claim them from here. The broker only rings the bell.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from bridge.statuses import ComplaintStatus, DeliveryPurpose, DeliveryStatus, Lane, PushStatus

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


JSONType = JSON().with_variant(JSONB(), "postgresql")
# SQLite only gives AUTOINCREMENT semantics to INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def str_enum(cls, length: int) -> Enum:
    """A ``str`` enum stored as its value in a plain VARCHAR (no database enum type, no CHECK:
    adding a member needs no migration); rows load as enum members."""
    return Enum(
        cls,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dt.datetime: UTCDateTime, dict[str, Any]: JSONType}


class Opd(Base):
    """A regional office (OPD) from the directory. Never deleted, only deactivated."""

    __tablename__ = "opds"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    categories: Mapped[list[str]] = mapped_column(JSONType, default=list)
    responders: Mapped[list[str]] = mapped_column(JSONType, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_triage: Mapped[bool] = mapped_column(Boolean, default=False)
    is_leadership: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Order in the directory file: category routing takes the first OPD that matches.
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    #: ``{"answer": "1d", "resolve": "6d"}`` as the directory gives it; None: the defaults.
    sla: Mapped[dict[str, Any] | None] = mapped_column(JSONType)

    channels: Mapped[list[Channel]] = relationship(
        back_populates="opd", order_by="Channel.position", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"Opd({self.slug!r})"


class Channel(Base):
    """One of an OPD's channels. ``token_env``/``secret_env`` name variables, never hold secrets."""

    __tablename__ = "channels"
    __table_args__ = (UniqueConstraint("opd_id", "kind", "target"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    opd_id: Mapped[int] = mapped_column(ForeignKey("opds.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(String(500))
    token_env: Mapped[str | None] = mapped_column(String(100))
    secret_env: Mapped[str | None] = mapped_column(String(100))
    #: How an ``x`` channel authenticates: ``oauth1`` or ``oauth2`` (None: other kinds).
    auth: Mapped[str | None] = mapped_column(String(16))
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    opd: Mapped[Opd] = relationship(back_populates="channels")

    def __repr__(self) -> str:
        return f"Channel({self.kind!r}, {self.target!r})"


class Complaint(Base):
    """A complaint mirrored from Wadule. ``content_hash`` tells an identical replay from a clash."""

    __tablename__ = "complaints"
    __table_args__ = (
        # The SLA ladder's look-up of what is due (bridge.sla; migration 0009).
        Index(
            "ix_complaints_next_sla_at",
            "next_sla_at",
            postgresql_where=text("next_sla_at IS NOT NULL"),
            sqlite_where=text("next_sla_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    wadule_id: Mapped[str] = mapped_column(String(64), unique=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    opd_id: Mapped[int] = mapped_column(ForeignKey("opds.id"), index=True)
    routed_by: Mapped[str] = mapped_column(String(16))
    route_note: Mapped[str | None] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(32), default=ComplaintStatus.RECEIVED)
    round: Mapped[int] = mapped_column(Integer, default=1)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(String(100))
    requested_opd: Mapped[str | None] = mapped_column(String(100))
    location: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    reporter: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    confidential: Mapped[bool] = mapped_column(Boolean, default=False)
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    submitted_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    #: When the SLA ladder (:mod:`bridge.sla`) should look at the complaint next; None: no
    #: clock runs. Set to the clock's start where one starts (ingest, re-route, reopen).
    next_sla_at: Mapped[dt.datetime | None]

    opd: Mapped[Opd] = relationship()
    deliveries: Mapped[list[Delivery]] = relationship(
        back_populates="complaint", order_by="Delivery.id", cascade="all, delete-orphan"
    )
    history: Mapped[list[StatusChange]] = relationship(
        back_populates="complaint", order_by="StatusChange.id", cascade="all, delete-orphan"
    )

    #: Set by code that knows the OPD's slug already (ingest), to spare a lazy load on output.
    known_opd_slug = None

    @property
    def opd_slug(self) -> str:
        return self.known_opd_slug or self.opd.slug

    @property
    def forwarding(self) -> list[Delivery]:
        """The deliveries that carry the complaint itself (not the bridge's replies)."""
        return [d for d in self.deliveries if DeliveryPurpose(d.purpose).carries_complaint]

    def __repr__(self) -> str:
        # Reporter data and text never appear in a repr (it ends up in logs and tracebacks).
        return f"Complaint({self.wadule_id!r}, status={self.status!r})"


class Delivery(Base):
    """An outbox row: one message for one channel.

    ``purpose`` says why it exists (:class:`~bridge.statuses.DeliveryPurpose`); ``dedupe_key``
    makes each of them unique.
    """

    __tablename__ = "deliveries"
    __table_args__ = (
        Index("ix_deliveries_due", "status", "next_attempt_at"),
        # The order workers of a lane take due rows in (see bridge.outbox.claim; migrations
        # 0002, 0003).
        Index(
            "ix_deliveries_claimable",
            "lane",
            "next_attempt_at",
            "id",
            postgresql_where=text("status IN ('pending', 'retrying')"),
            sqlite_where=text("status IN ('pending', 'retrying')"),
        ),
        # One target's rows go out in order: the claim looks for older unfinished rows of the
        # same target (bridge.outbox.claim).
        Index(
            "ix_deliveries_open_target",
            "target",
            "kind",
            "id",
            postgresql_where=text("status IN ('pending', 'retrying', 'sending')"),
            sqlite_where=text("status IN ('pending', 'retrying', 'sending')"),
        ),
        # Receipts and replies in groups name a message by the provider's id (migration 0007).
        Index("ix_deliveries_external_id", "external_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    purpose: Mapped[DeliveryPurpose] = mapped_column(
        str_enum(DeliveryPurpose, 16), default=DeliveryPurpose.FORWARD
    )
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id"), index=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"), index=True)
    round: Mapped[int] = mapped_column(Integer, default=1)
    note: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(32))
    #: The queue it travels in, from its kind (stored so the claim's index can serve a lane).
    lane: Mapped[Lane] = mapped_column(str_enum(Lane, 16), default=Lane.PRIVATE)
    target: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(32), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: ``attempts`` when a person last asked for redelivery: the retry schedule restarts there.
    retry_base: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[dt.datetime | None]
    #: Set when a worker claims the row; results are recorded only under the same token.
    claim_token: Mapped[str | None] = mapped_column(String(32))
    published_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    external_id: Mapped[str | None] = mapped_column(String(200))
    #: Provider-side progress for multi-step publishing (e.g. an Instagram container id).
    progress: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    #: A file sent with the text (the weekly report's chart): every attempt sends these bytes.
    attachment_id: Mapped[int | None] = mapped_column(ForeignKey("attachments.id"))
    sent_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    complaint: Mapped[Complaint | None] = relationship(back_populates="deliveries")
    channel: Mapped[Channel] = relationship()

    def __repr__(self) -> str:
        return f"Delivery({self.id}, {self.kind}, status={self.status!r})"


class StatusChange(Base):
    """One entry of a complaint's history."""

    __tablename__ = "status_history"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), index=True)
    status: Mapped[str] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    actor_kind: Mapped[str] = mapped_column(String(32))
    actor_name: Mapped[str] = mapped_column(String(100))
    #: Indexed: the weekly report reads the entries since a week began (migration 0009).
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)

    complaint: Mapped[Complaint] = relationship(back_populates="history")


class ApiKey(Base):
    """An API key, stored as the SHA-256 of the key (keys are 256-bit random, so no KDF needed)."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    opd_id: Mapped[int | None] = mapped_column(ForeignKey("opds.id"))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[dt.datetime | None]

    opd: Mapped[Opd | None] = relationship()

    def __repr__(self) -> str:
        return f"ApiKey({self.name!r}, role={self.role!r}, prefix={self.prefix!r})"


class Operator(Base):
    """A console account; the password is hashed with Werkzeug's scrypt."""

    __tablename__ = "operators"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    #: Held in the session cookie; logging out, disabling the account or resetting its
    #: password bumps it, so every cookie issued before stops working at once.
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    last_login_at: Mapped[dt.datetime | None]

    def __repr__(self) -> str:
        return f"Operator({self.username!r})"


class SandboxMessage(Base):
    """What a channel would have sent, kept instead of calling a provider (``BRIDGE_SANDBOX=1``)."""

    __tablename__ = "sandbox_messages"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    delivery_id: Mapped[int | None] = mapped_column(ForeignKey("deliveries.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(String(500))
    text: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class RateLimitSlot(Base):
    """Recent send times per (kind, target): the shared limiter's state, one row per key.

    ``sent`` holds epoch seconds; a send in flight holds a placeholder in the future until the
    provider has answered, so the next send to that target waits for the answer.
    """

    __tablename__ = "rate_limit_slots"

    key: Mapped[str] = mapped_column(String(600), primary_key=True)
    sent: Mapped[list[float]] = mapped_column(JSON, default=list)


class Event(Base):
    """One change Wadule hears about: readable through ``GET /events`` and pushed to Wadule.

    ``seq`` comes from :class:`Counter` under a row lock held until commit, so events become
    visible in ``seq`` order and a poller asking ``after=N`` never misses one.
    """

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_push_due", "push_status", "next_push_at"),)

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id"), index=True)
    type: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSONType)
    occurred_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    push_status: Mapped[PushStatus] = mapped_column(
        str_enum(PushStatus, 16), default=PushStatus.PENDING
    )
    push_attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_push_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    push_lease_until: Mapped[dt.datetime | None]
    last_push_error: Mapped[str | None] = mapped_column(String(500))
    pushed_at: Mapped[dt.datetime | None]


class Counter(Base):
    """Named counters (the global event ``seq``)."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class InboundEvent(Base):
    """Provider webhook ids already handled, so a repeated one is ignored."""

    __tablename__ = "inbound_events"
    __table_args__ = (UniqueConstraint("source", "event_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    event_id: Mapped[str] = mapped_column(String(200))
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class BridgeState(Base):
    """Small pieces of operational state, e.g. callbacks stopped by a ``410 Gone``."""

    __tablename__ = "bridge_state"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(JSONType)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class XToken(Base):
    """OAuth 2.0 tokens of an X account, one row per ``token_env`` that holds its refresh token.

    X rotates the refresh token on every use and each one works once, so the current one lives
    here, not in the environment. ``seed_hash`` is the SHA-256 of the environment's value this
    chain started from: a different value there means the operator put in a new refresh token,
    which then wins. Rows are locked while a refresh is under way (see ``bridge.channels.x``).
    """

    __tablename__ = "x_tokens"

    token_env: Mapped[str] = mapped_column(String(100), primary_key=True)
    seed_hash: Mapped[str] = mapped_column(String(64))
    refresh_token: Mapped[str] = mapped_column(Text)
    access_token: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[dt.datetime | None]
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        # Tokens stay out of logs and tracebacks.
        return f"XToken({self.token_env!r}, expires_at={self.expires_at})"


class ChannelCheck(Base):
    """The last channel check of a channel (contract section 9): its verdict, why, and when.

    One row per channel, replaced by each check; ``/readyz``, the console and the weekly report
    read "usable per the last channel check" from here.
    """

    __tablename__ = "channel_checks"

    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"), primary_key=True)
    #: ``ok``, ``warning`` or ``unusable``.
    verdict: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    #: What the provider said, safe to show (never a secret or a group member's number).
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    checked_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    channel: Mapped[Channel] = relationship()

    def __repr__(self) -> str:
        return f"ChannelCheck({self.channel_id}, {self.verdict!r})"


class WahaLid(Base):
    """What WAHA said a WhatsApp LID (``…@lid``) stands for: a phone number, or nothing yet.

    Group members often appear only by LID; a command from one is matched against the
    responders' phone numbers through this cache (see :mod:`bridge.senders`).
    """

    __tablename__ = "waha_lids"

    lid: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: E.164 digits, or None when WAHA did not know (asked again after a while).
    phone: Mapped[str | None] = mapped_column(String(32))
    resolved_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class LoginThrottle(Base):
    """Failed console log-ins per account (``kind`` ``account``) or client address (``address``).

    ``failures`` counts within the window that began at ``window_start``; ``retry_at`` is the
    back-off after a few failures, ``locked_until`` the temporary lock after many.
    """

    __tablename__ = "login_throttles"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_start: Mapped[dt.datetime] = mapped_column(default=utcnow)
    retry_at: Mapped[dt.datetime | None]
    locked_until: Mapped[dt.datetime | None]
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)


class SlaStep(Base):
    """A step of the SLA ladder that was taken (contract section 10): one row per complaint,
    clock (``answer`` or ``resolve``), stage (1 reminder, 2 triage, 3 leadership) and clock
    start, so each step happens once across restarts and a clock that starts again (re-route,
    reopen) climbs a fresh ladder. See :mod:`bridge.sla`."""

    __tablename__ = "sla_steps"
    __table_args__ = (UniqueConstraint("complaint_id", "clock", "stage", "clock_start"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"))
    clock: Mapped[str] = mapped_column(String(16))
    stage: Mapped[int] = mapped_column(Integer)
    clock_start: Mapped[dt.datetime]
    #: The real deadline (the step may have gone out later, at the next working hour).
    due_at: Mapped[dt.datetime]
    sent_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    #: The OPD slugs whose groups were told (empty: nobody to tell, e.g. no leadership).
    recipients: Mapped[list[str]] = mapped_column(JSONType, default=list)

    def __repr__(self) -> str:
        return f"SlaStep({self.complaint_id}, {self.clock!r}, {self.stage})"


class Attachment(Base):
    """A file the bridge sends along with a notice (the weekly report's chart).

    Stored once, so every attempt and every channel sends the same bytes, and served at a
    stable, unguessable URL (``token``) for providers that take a link instead of the file.
    """

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    content_type: Mapped[str] = mapped_column(String(100))
    filename: Mapped[str] = mapped_column(String(200))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"Attachment({self.id}, {self.filename!r}, {len(self.data or b'')} bytes)"
