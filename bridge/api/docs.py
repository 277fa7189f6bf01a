"""``/api/v1/docs``: the OpenAPI document rendered as a page for people, with no CDN needed."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

bp = Blueprint("docs", __name__)


@bp.get("/docs")
def docs_page():
    spec = current_app.extensions["flask-smorest"]["apis"][""]["ext_obj"].spec.to_dict()
    operations = []
    for path, item in spec.get("paths", {}).items():
        for method, op in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                operations.append((path, method.upper(), op))
    return render_template(
        "docs.html",
        spec=spec,
        operations=operations,
        schemas=spec.get("components", {}).get("schemas", {}),
    )
