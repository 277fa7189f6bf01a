"""``/api/v1/docs``: the OpenAPI document as a page for people (Swagger UI).

Everything the page loads comes from the bridge itself: Swagger UI's files from the
``flask-swagger-ui`` package (Swagger UI 5, which reads OpenAPI 3.1), and a small start-up
script of ours. No inline script or style, no CDN: the page works without internet access and
under a Content-Security-Policy that allows nothing but this origin.
"""

from __future__ import annotations

from pathlib import Path

import flask_swagger_ui
from flask import Blueprint, abort, render_template, send_from_directory

from bridge import pages

bp = Blueprint("docs", __name__)

#: Swagger UI's distribution as the package ships it, with its licence (Apache-2.0).
SWAGGER_UI_DIST = Path(flask_swagger_ui.__file__).resolve().parent / "dist"
#: The files the page uses; nothing else in the folder is served.
ASSETS = {"swagger-ui.css", "swagger-ui-bundle.js", "favicon-32x32.png", "LICENSE", "VERSION"}


@bp.get("/docs")
def docs_page():
    """The interactive API reference."""
    version = (SWAGGER_UI_DIST / "VERSION").read_text().strip()
    return pages.secured(render_template("docs.html", swagger_ui_version=version))


@bp.get("/docs/assets/<name>")
def asset(name: str):
    """One of Swagger UI's files, cached for a day (they change only with the package)."""
    if name not in ASSETS:
        abort(404)
    response = send_from_directory(SWAGGER_UI_DIST, name, max_age=86400)
    if name in ("LICENSE", "VERSION"):
        response.mimetype = "text/plain"
    return pages.secured(response)
