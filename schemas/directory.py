"""The OPD directory file (contract section 3) and its public representation."""

from __future__ import annotations

import re

import phonenumbers
from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from schemas.complaints import CHANNEL_KINDS, SLUG
from schemas.fields import OutputSchema

ENV_NAME = validate.Regexp(r"^[A-Z_][A-Z0-9_]*\Z", error="Not an environment variable name.")
X_AUTH_MODES = ("oauth1", "oauth2")
#: An ``x`` channel without ``auth`` uses OAuth 1.0a: the recommended mode, whose user tokens
#: never expire. A directory written for the old bearer user token (an OAuth 2.0 access token,
#: dead after two hours) has no ``secret_env`` and is refused with a message saying so.
DEFAULT_X_AUTH = "oauth1"


#: Responders' phone numbers without a country code are Indonesian (``0812…``).
PHONE_REGION = "ID"
TELEGRAM_ADMINS = "tg:admins"
_LID = re.compile(r"^(\d{5,25})(?::\d{1,3})?@lid\Z")
_PHONE_JID = re.compile(r"^(\d{5,20})(?::\d{1,3})?@(?:c\.us|s\.whatsapp\.net)\Z")
_TELEGRAM_USER = re.compile(r"^tg:(\d{1,20})\Z")


def normalize_responder(entry: str | int) -> str:
    """One ``responders`` entry in the form senders are compared in; ValueError names the entry.

    - a phone number in any usual spelling (``0812-3456-7890``, ``+62 812 3456 7890``,
      ``6281234567890``, also ``…@c.us``) becomes its E.164 digits: ``6281234567890``;
    - a WhatsApp LID becomes ``<digits>@lid`` (a ``:device`` suffix is dropped);
    - ``tg:<user id>`` stays, ``tg:admins`` (the group's anonymous admins) stays.
    """
    if isinstance(entry, bool) or not isinstance(entry, str | int):
        raise ValueError(f"{entry!r} is not text")
    text = str(entry).strip()[:80]
    lowered = text.lower()
    if lowered == TELEGRAM_ADMINS:
        return TELEGRAM_ADMINS
    if lowered.startswith("tg:"):
        match = _TELEGRAM_USER.match(lowered)
        if match is None:
            raise ValueError(f'"{text}": a Telegram responder is tg:<numeric user id> or tg:admins')
        return f"tg:{int(match[1])}"
    if lowered.endswith("@lid"):
        match = _LID.match(lowered)
        if match is None:
            raise ValueError(f'"{text}": a WhatsApp LID is digits followed by @lid')
        return f"{match[1]}@lid"
    match = _PHONE_JID.match(lowered)
    try:
        number = phonenumbers.parse("+" + match[1] if match else text, PHONE_REGION)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise ValueError(
            f'"{text}" is not a phone number (e.g. 0812-3456-7890 or +62 812 3456 7890), '
            "a WhatsApp LID (…@lid), tg:<user id> or tg:admins"
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)[1:]


class Responder(fields.String):
    """A ``responders`` entry, loaded in its normal form (see :func:`normalize_responder`)."""

    def _deserialize(self, value, attr, data, **kwargs):
        # YAML reads an unquoted 6281234567890 as a number; it is still a phone number.
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return normalize_responder(text)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


class ChannelEntrySchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(CHANNEL_KINDS))
    target = fields.String(required=True, validate=validate.Length(min=1, max=500))
    token_env = fields.String(validate=ENV_NAME)
    secret_env = fields.String(validate=ENV_NAME)
    #: X only: ``oauth1`` (token_env/secret_env hold the access token and its secret) or
    #: ``oauth2`` (token_env holds a refresh token); absent means ``oauth1``.
    auth = fields.String(validate=validate.OneOf(X_AUTH_MODES))

    @validates_schema
    def _check_auth(self, data, **kwargs):
        if data["kind"] != "x":
            if "auth" in data:
                raise ValidationError("only x channels take auth", "auth")
            return
        auth = data.get("auth", DEFAULT_X_AUTH)
        if not data.get("token_env"):
            what = "access token" if auth == "oauth1" else "refresh token"
            raise ValidationError(f"x channels need token_env (the {what})", "token_env")
        if auth == "oauth1" and not data.get("secret_env"):
            raise ValidationError(
                "x channels use auth: oauth1 unless they say otherwise, and oauth1 needs"
                " secret_env (the access token secret); for an OAuth 2.0 refresh token in"
                " token_env write auth: oauth2",
                "secret_env",
            )
        if auth == "oauth2" and data.get("secret_env"):
            raise ValidationError(
                "auth: oauth2 takes no secret_env: token_env holds the refresh token and the"
                " client secret is BRIDGE_X_CLIENT_SECRET",
                "secret_env",
            )

    @post_load
    def _default_auth(self, data, **kwargs):
        if data["kind"] == "x":
            data.setdefault("auth", DEFAULT_X_AUTH)
        return data


#: Seconds in one of each duration unit; ``d`` is a working day, whose length depends on the day
#: (``bridge.worktime``), so it has none here.
DURATION_UNITS: dict[str, int | None] = {"s": 1, "m": 60, "h": 3600, "d": None}
DURATION_ERROR = "Not a duration: use 30s, 45m, 4h or 2d."
#: The longest SLA accepted, as a count of the unit read nominally (a day as 24 h): a year.
_MAX_NOMINAL_SECONDS = 365 * 86400
_DURATION = re.compile(r"([0-9]{1,9})([smhd])")


def parse_duration(text: str) -> tuple[int, str]:
    """``"4h"`` -> ``(4, "h")``: a positive whole amount of s, m, h or d, at most a year.

    Raises ValueError with a message fit for the person who wrote the directory.
    """
    match = _DURATION.fullmatch(text.strip()) if isinstance(text, str) else None
    if not match:
        raise ValueError(DURATION_ERROR)
    amount, unit = int(match.group(1)), match.group(2)
    if amount == 0:
        raise ValueError("Must be longer than zero.")
    if amount * (DURATION_UNITS[unit] or 86400) > _MAX_NOMINAL_SECONDS:
        raise ValueError("Too long: at most a year (365d).")
    return amount, unit


class Duration(fields.Field):
    """A duration string (``30s``, ``45m``, ``4h``, ``2d``), loaded as its canonical spelling."""

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            amount, unit = parse_duration(value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None
        return f"{amount}{unit}"


class SlaSchema(Schema):
    """An OPD's SLA in working time (contract section 10)."""

    answer = Duration(load_default="1d")
    resolve = Duration(load_default="6d")


class OpdEntrySchema(Schema):
    slug = fields.String(required=True, validate=SLUG)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    categories = fields.List(
        fields.String(validate=validate.Length(min=1, max=100)), load_default=list
    )
    #: Who may change a complaint's status from the OPD's groups; empty: anyone in the group.
    responders = fields.List(Responder(), load_default=list)
    channels = fields.List(fields.Nested(ChannelEntrySchema), load_default=list)
    sla = fields.Nested(SlaSchema, load_default=lambda: SlaSchema().load({}))


class DirectorySchema(Schema):
    """The YAML directory: ``triage`` must name one of the listed OPDs."""

    triage = fields.String(required=True, validate=SLUG)
    leadership = fields.String(validate=SLUG, allow_none=True)
    opds = fields.List(
        fields.Nested(OpdEntrySchema), required=True, validate=validate.Length(min=1)
    )

    @validates_schema
    def _check_references(self, data, **kwargs):
        slugs = [opd["slug"] for opd in data["opds"]]
        duplicates = sorted({s for s in slugs if slugs.count(s) > 1})
        if duplicates:
            raise ValidationError(f"duplicate slugs: {', '.join(duplicates)}", "opds")
        if data["triage"] not in slugs:
            raise ValidationError("must name an OPD listed in opds", "triage")
        if data.get("leadership") and data["leadership"] not in slugs:
            raise ValidationError("must name an OPD listed in opds", "leadership")


class ChannelSchema(OutputSchema):
    kind = fields.String()
    target = fields.String()
    active = fields.Boolean()


class OpdSchema(OutputSchema):
    """An OPD as ``GET /opds`` shows it: no secrets, no responders' numbers."""

    slug = fields.String()
    name = fields.String()
    categories = fields.List(fields.String())
    active = fields.Boolean()
    is_triage = fields.Boolean()
    is_leadership = fields.Boolean()
    channels = fields.List(fields.Nested(ChannelSchema))


class OpdListSchema(OutputSchema):
    items = fields.List(fields.Nested(OpdSchema))
