"""The OPD directory file (contract section 3) and its public representation."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from schemas.complaints import CHANNEL_KINDS, SLUG

ENV_NAME = validate.Regexp(r"^[A-Z_][A-Z0-9_]*\Z", error="Not an environment variable name.")


class ChannelEntrySchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(CHANNEL_KINDS))
    target = fields.String(required=True, validate=validate.Length(min=1, max=500))
    token_env = fields.String(validate=ENV_NAME)
    secret_env = fields.String(validate=ENV_NAME)


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
