"""``/``: a small page that says what this is and links the API reference, the console and the
health checks (a JSON answer for clients that ask for JSON)."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template, request, url_for

from bridge import __version__, pages

bp = Blueprint("home", __name__)


def links() -> dict[str, str]:
    """Where a newcomer goes from here."""
    return {
        "docs": url_for("docs.docs_page"),
        "openapi": url_for("api-docs.openapi_json"),
        "console": url_for("console.dashboard"),
        "healthz": url_for("health.healthz"),
        "readyz": url_for("health.readyz"),
        "metrics": url_for("health.metrics"),
    }


@bp.get("/")
def index():
    """The home page."""
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    if best == "application/json":
        return jsonify(name="wadule-bridge", version=__version__, links=links())
    return pages.secured(render_template("home.html", version=__version__, links=links()))
