"""The operator console at ``/ops/``: server-rendered pages for Diskominfo's on-call operators.

Queue health, failing and needs-review deliveries with retry (one by one and in bulk), per-OPD
responsiveness, the weekly report, channel checks and the sandbox inbox (contract section 8), in
Indonesian unless ``BRIDGE_CONSOLE_LANGUAGE=en``. Plain HTML forms, no JavaScript, one small
stylesheet served by the app itself, so it works on a phone and without internet access.
"""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("console", __name__, url_prefix="/ops")


def init_app(app: Flask) -> None:
    """Register the console's blueprint on ``app``."""
    # Imported here: the views and actions attach their routes to ``bp`` when first imported.
    from bridge.console import actions, report, views  # noqa: F401

    app.register_blueprint(bp)
