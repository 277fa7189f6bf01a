"""Wadule Bridge: the Flask app factory."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from flask import Flask

from bridge import instance
from bridge.settings import Settings

__version__ = "0.1.0"


def create_app(test_config: Mapping | None = None, *, settings: Settings | None = None) -> Flask:
    """Build the app. Settings come from ``BRIDGE_*`` variables unless ``settings`` is given."""
    app = Flask(__name__, instance_relative_config=False)
    settings = settings or Settings.from_env()
    app.config["BRIDGE_SETTINGS"] = settings
    # Sandbox and dev mode may run without BRIDGE_SECRET_KEY: the secret is then generated once
    # and kept in instance/secret_key (0600), never a constant anyone could sign cookies with.
    app.config["SECRET_KEY"] = settings.secret_key or instance.secret_key()
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    # Behind TLS (a https public URL) the console's cookie never travels in clear text.
    app.config["SESSION_COOKIE_SECURE"] = settings.public_url.startswith("https://")
    if test_config:
        app.config.update(test_config)

    from bridge import (
        api,
        attachments,
        console,
        db,
        health,
        home,
        inbound,
        logs,
        metrics,
        queue,
        templating,
    )
    from bridge.public import views as public_views

    templating.init_app(app)
    db.init_app(app)
    queue.init_app(app)
    queue.celery_init_app(app)
    api.init_app(app)
    app.register_blueprint(home.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(inbound.bp)
    app.register_blueprint(public_views.bp)
    app.register_blueprint(attachments.bp)
    console.init_app(app)
    metrics.init_app(app)
    logs.init_app(app)  # outermost: the request id covers everything the request logs
    logging.getLogger("bridge").setLevel(logging.INFO)
    return app
