"""The OPD directory file (contract section 3) and its public representation."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from schemas.complaints import CHANNEL_KINDS, SLUG

ENV_NAME = validate.Regexp(r"^[A-Z_][A-Z0-9_]*\Z", error="Not an environment variable name.")
X_AUTH_MODES = ("oauth1", "oauth2")
#: An ``x`` channel without ``auth`` uses OAuth 1.0a: the recommended mode, whose user tokens
#: never expire. A directory written for the old bearer user token (an OAuth 2.0 access token,
#: dead after two hours) has no ``secret_env`` and is refused with a message saying so.
DEFAULT_X_AUTH = "oauth1"


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


class OpdEntrySchema(Schema):
    slug = fields.String(required=True, validate=SLUG)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    categories = fields.List(
        fields.String(validate=validate.Length(min=1, max=100)), load_default=list
    )
    responders = fields.List(
        fields.String(validate=validate.Regexp(r"^\d{6,20}\Z", error="Digits only, e.g. 628...")),
        load_default=list,
    )
    channels = fields.List(fields.Nested(ChannelEntrySchema), load_default=list)


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


class ChannelSchema(Schema):
    kind = fields.String()
    target = fields.String()
    active = fields.Boolean()


class OpdSchema(Schema):
    """An OPD as ``GET /opds`` shows it: no secrets, no responders' numbers."""

    slug = fields.String()
    name = fields.String()
    categories = fields.List(fields.String())
    active = fields.Boolean()
    is_triage = fields.Boolean()
    is_leadership = fields.Boolean()
    channels = fields.List(fields.Nested(ChannelSchema))


class OpdListSchema(Schema):
    items = fields.List(fields.Nested(OpdSchema))
