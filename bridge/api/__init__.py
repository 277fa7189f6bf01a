"""The HTTP API under ``/api/v1``: flask-smorest blueprints, errors in the contract's shape."""

from __future__ import annotations

import json
import logging

from flask import Flask, current_app, jsonify, request
from flask_smorest import Api as SmorestApi
from flask_smorest import Blueprint as SmorestBlueprint
from flask_smorest import abort
from flask_smorest.utils import resolve_schema_instance
from marshmallow import missing
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.exceptions import HTTPException, InternalServerError, UnsupportedMediaType

from bridge.db import DatabaseUnavailable, is_unavailable
from bridge.errors import describe
from schemas.errors import ErrorSchema

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
MAX_BODY = 1024 * 1024


class Api(SmorestApi):
    """flask-smorest's Api with errors as ``{"code", "message", "errors"?}``."""

    ERROR_SCHEMA = ErrorSchema
    # Each operation lists the errors it can answer (Blueprint.errors); no catch-all.
    DEFAULT_ERROR_RESPONSE_NAME = None

    def _register_responses(self):
        super()._register_responses()
        from bridge.api.openapi import register_error_responses

        register_error_responses(self.spec)

    def handle_http_exception(self, error: HTTPException):
        # Unhandled exceptions were logged by handle_unexpected before they became a 500.
        payload: dict = {"code": error.code, "message": _message(error)}
        data = getattr(error, "data", None) or {}
        errors = data.get("errors") or data.get("messages")
        if errors:
            payload["errors"] = _flatten(errors)
            if error.code == 422 and "message" not in data:
                payload["message"] = "invalid fields: " + ", ".join(sorted(payload["errors"]))
        headers = dict(data.get("headers") or {})
        if error.code == 401:
            headers.setdefault("WWW-Authenticate", 'Bearer realm="wadule-bridge"')
        retry_after = getattr(error, "retry_after", None)
        if retry_after is not None:
            headers.setdefault("Retry-After", str(retry_after))
        response = jsonify(payload)
        response.status_code = error.code
        response.headers.update(headers)
        return response


def _message(error: HTTPException) -> str:
    data = getattr(error, "data", None) or {}
    if "message" in data:
        return str(data["message"])
    if isinstance(error, DatabaseUnavailable):
        return error.description
    if error.code == 500:
        return "internal error"
    return {
        400: "malformed JSON body",
        404: "not found",
        405: "method not allowed",
        413: "request body larger than 1 MiB",
        415: "the body must be JSON (Content-Type: application/json)",
    }.get(error.code, error.name.lower())


def handle_unexpected(error: Exception):
    """Every exception no view handled, on every route (API, console, webhooks, health).

    Flask would log it with its message, and a database driver's message can hold a
    statement's values, reporter data among them ("Failing row contains (...)"). Logged here
    by type and code location only, then answered by the route's own error page: 503 with
    ``Retry-After`` when the database is unavailable, else 500.
    """
    if is_unavailable(error):
        log.warning(
            "database unavailable (%s) in %s %s", type(error).__name__, request.method, request.path
        )
        return current_app.handle_http_exception(DatabaseUnavailable())
    app = current_app
    propagate = app.config["PROPAGATE_EXCEPTIONS"]
    if propagate is None:
        propagate = app.testing or app.debug
    if propagate:
        raise error  # Flask hands it to the test client or the debugger, and logs nothing
    log.error("unhandled exception in %s %s: %s", request.method, request.path, describe(error))
    return app.handle_http_exception(InternalServerError(original_exception=error))


def _flatten(errors):
    # webargs nests by location ({"json": {...}}); callers want the fields themselves.
    if isinstance(errors, dict) and len(errors) == 1:
        ((location, inner),) = errors.items()
        if location in ("json", "query", "querystring", "view_args", "form") and isinstance(
            inner, dict | list
        ):
            return inner if isinstance(inner, dict) else {"_body": inner}
    return errors


class JsonBodyParser(FlaskParser):
    """webargs' Flask parser, strict about bodies: 415 unless JSON, 400 when malformed.

    The body is parsed once, here. Python's parser raises RecursionError on deeply nested
    input, which would otherwise escape as a 500.
    """

    def _raw_load_json(self, req):
        body = req.get_data(cache=True)
        if not body:
            return missing  # an optional body may be left out (e.g. redeliver)
        if not is_json_request(req):
            raise UnsupportedMediaType()
        try:
            return json.loads(body.decode("utf-8"))
        except (ValueError, RecursionError):
            abort(400, message="malformed JSON body")


class Blueprint(SmorestBlueprint):
    """flask-smorest's Blueprint with :class:`JsonBodyParser`."""

    ARGUMENTS_PARSER = JsonBodyParser()

    def errors(self, *codes: int):
        """Document the error responses a view can answer (bodies as ``ErrorSchema``)."""
        from bridge.api.openapi import error_response_name

        def decorator(func):
            for code in codes:
                func = self.alt_response(code, response=error_response_name(code))(func)
            return func

        return decorator

    def arguments(self, schema, **kwargs):
        # Given a class, webargs builds the schema and its nested schemas again for every
        # request; one instance serves them all (a schema keeps no state between loads).
        return super().arguments(resolve_schema_instance(schema), **kwargs)


def init_app(app: Flask) -> Api:
    if app.config.get("MAX_CONTENT_LENGTH") is None:
        app.config["MAX_CONTENT_LENGTH"] = MAX_BODY
    from bridge import __version__
    from bridge.api import openapi

    app.config.update(
        API_TITLE="Wadule Bridge",
        API_VERSION=__version__,
        OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX=API_PREFIX,
        OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={
            "info": {
                "description": openapi.INTRODUCTION,
                "license": {"name": "MIT", "identifier": "MIT"},
            },
            "servers": [{"url": "/", "description": "this bridge"}],
            "security": [{"bearerAuth": []}],
            "components": {
                "securitySchemes": {
                    "bearerAuth": {
                        "type": "http",
                        "scheme": "bearer",
                        "description": "An API key from `wadule-bridge api-key create`.",
                    }
                }
            },
        },
    )
    app.url_map.converters["wadule_id"] = openapi.WaduleIdConverter
    api = Api(app)
    api.register_converter(openapi.WaduleIdConverter, openapi.wadule_id_parameter)
    app.register_error_handler(Exception, handle_unexpected)
    from bridge.api import complaints, docs, events, opds, reports, sandbox

    for blueprint in (complaints.blp, events.blp, opds.blp, reports.blp, sandbox.blp):
        api.register_blueprint(blueprint)
    openapi.complete(api)
    app.register_blueprint(docs.bp, url_prefix=API_PREFIX)
    return api
