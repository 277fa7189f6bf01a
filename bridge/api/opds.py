"""``/api/v1/opds``: the directory without secrets."""

from __future__ import annotations

from flask.views import MethodView
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from bridge import db as database
from bridge.api import Blueprint, examples
from bridge.auth import require
from bridge.models import Opd
from bridge.statuses import Role
from schemas.directory import OpdListSchema

blp = Blueprint("opds", __name__, url_prefix="/api/v1/opds", description="The OPD directory")


@blp.route("")
class Opds(MethodView):
    @require(Role.WADULE, Role.OPD, Role.OPERATOR)
    @blp.response(200, OpdListSchema, example=examples.OPD_LIST)
    @blp.errors(401, 503)
    def get(self):
        """Every OPD in directory order, with its channels' kinds and targets."""
        opds = (
            database.session()
            .scalars(
                select(Opd)
                .options(selectinload(Opd.channels))
                .order_by(Opd.active.desc(), Opd.position)
            )
            .all()
        )
        return {"items": opds}
