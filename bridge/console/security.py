"""Console sessions and CSRF protection, on Flask's signed session cookie.

The cookie holds the operator's id and name, the account's session version, when they logged
in and a CSRF token. The operator row is read again on every request: a cookie whose version is
not the account's current one (bumped by logging out, disabling the account or resetting its
password) is refused, so a copied cookie dies with the session it came from.
"""

from __future__ import annotations

import hmac
import secrets
import time
from urllib.parse import urlsplit

from flask import abort, g, request, session

from bridge import db as database
from bridge.console.i18n import words
from bridge.models import Operator
from bridge.operators import end_sessions

#: A stolen or forgotten cookie stops working after this long; on-call shifts are shorter.
SESSION_MAX_AGE = 12 * 3600
CSRF_FIELD = "csrf_token"

#: Console responses: nothing cached (reporter data on shared laptops), no framing (the retry
#: buttons), and a policy that runs no script at all, whatever a complaint's text holds.
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
}


def csrf_token() -> str:
    """This session's CSRF token, created on first use."""
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def check_csrf() -> None:
    """Abort with 400 unless the form carries this session's CSRF token."""
    expected = session.get("csrf")
    given = request.form.get(CSRF_FIELD)
    if not expected or not given or not hmac.compare_digest(given.encode(), expected.encode()):
        abort(400, description=words()("error.csrf"))


def start_session(operator: Operator) -> None:
    """Log ``operator`` in: a fresh session (and CSRF token) replaces whatever was there."""
    session.clear()
    session["operator_id"] = operator.id
    session["operator"] = operator.username
    session["version"] = operator.session_version
    session["login_at"] = int(time.time())
    csrf_token()


def end_session(operator: Operator) -> None:
    """Log out. The account's session version moves on, so a copy of this cookie (or the
    account's sessions in other browsers) stops working too."""
    end_sessions(database.session(), operator.id)
    session.clear()


def current_operator() -> Operator | None:
    """The logged-in, still active operator, or None (an unusable session is cleared)."""
    if "operator" in g:
        return g.operator
    operator = None
    operator_id = session.get("operator_id")
    login_at = session.get("login_at")
    if isinstance(operator_id, int) and isinstance(login_at, int):
        fresh = 0 <= time.time() - login_at <= SESSION_MAX_AGE
        found = database.session().get(Operator, operator_id) if fresh else None
        # The name must match too: ids come back after a database is rebuilt.
        if (
            found is not None
            and found.active
            and found.username == session.get("operator")
            and found.session_version == session.get("version")
        ):
            operator = found
    if operator is None and "operator_id" in session:
        session.clear()
    g.operator = operator
    return operator


def local_target(value: str | None, default: str) -> str:
    """``value`` if it is a path inside the console, else ``default`` (no open redirects)."""
    if not value or "\\" in value or any(ord(c) < 32 for c in value):
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not parts.path.startswith("/ops/"):
        return default
    return value
