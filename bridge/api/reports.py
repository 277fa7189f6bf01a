"""``/api/v1/reports/weekly``: the weekly OPD report (contract sections 4 and 10) as JSON."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView
from flask_smorest import abort

from bridge import db as database
from bridge.api import Blueprint, examples
from bridge.auth import require
from bridge.reports import WeekNotStarted, build_weekly_report
from bridge.statuses import Role
from bridge.worktime import parse_iso_week
from schemas.reports import WeeklyReportQueryArgsSchema, WeeklyReportSchema

blp = Blueprint("reports", __name__, url_prefix="/api/v1/reports", description="Reports")


@blp.route("/weekly")
class WeeklyReport(MethodView):
    @require(Role.WADULE, Role.OPERATOR)
    @blp.arguments(WeeklyReportQueryArgsSchema, location="query")
    @blp.response(200, WeeklyReportSchema, example=examples.WEEKLY_REPORT)
    @blp.errors(401, 403, 422, 503)
    def get(self, args):
        """The weekly report of ``week`` (the current week so far when absent): per active OPD,
        ranked with those needing attention first. Figures are defined in CONTRACT.md section
        10 and bridge/reports/weekly.py."""
        try:
            week = parse_iso_week(args["week"]) if args["week"] else None
        except ValueError as exc:
            abort(422, message=str(exc), errors={"week": [str(exc)]})
        settings = current_app.config["BRIDGE_SETTINGS"]
        try:
            return build_weekly_report(database.session(), settings, week)
        except WeekNotStarted as exc:
            abort(
                422,
                message=f"{exc}: ask for this week or an earlier one",
                errors={"week": [str(exc)]},
            )
