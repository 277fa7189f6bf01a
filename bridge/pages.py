"""Headers for the bridge's pages for people outside the console: the home page and the API
reference. The policy allows this origin only: scripts and styles from files the bridge serves
(no inline code), the document and "try it out" calls to the bridge itself, no framing."""

from __future__ import annotations

from flask import Response

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; form-action 'none'; frame-ancestors 'none'; "
    "base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def secured(response) -> Response:
    """``response`` (a Response or a rendered page) with the pages' security headers; asked
    again on each visit unless it says how long it keeps (Swagger UI's files)."""
    if not isinstance(response, Response):
        response = Response(response, mimetype="text/html")
    response.headers.update(HEADERS)
    if "Cache-Control" not in response.headers:
        response.headers["Cache-Control"] = "no-cache"
    return response
