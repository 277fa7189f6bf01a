"""The console's pages and its two actions (log in/out, retry a delivery)."""

from __future__ import annotations

import datetime as dt
import logging
from urllib.parse import urlsplit

from flask import (
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.exceptions import HTTPException

from bridge import db as database
from bridge import outbox
from bridge.complaints import load_complaint
from bridge.console import bp, queries, texts, throttle
from bridge.console.security import (
    SECURITY_HEADERS,
    check_csrf,
    csrf_token,
    current_operator,
    end_session,
    local_target,
    start_session,
)
from bridge.health import queue_health
from bridge.messages import complaint_link
from bridge.models import Delivery, utcnow
from bridge.operators import MAX_PASSWORD, check_login, record_login
from bridge.statuses import DeliveryStatus
from bridge.workflow import Actor

log = logging.getLogger(__name__)

PAGE_SIZE = 100

FAILING = (DeliveryStatus.NEEDS_REVIEW, DeliveryStatus.DEAD)
LISTABLE = (DeliveryStatus.NEEDS_REVIEW, DeliveryStatus.DEAD, DeliveryStatus.RETRYING)
#: The operators are in Pacitan (WIB, UTC+7, no daylight saving time).
WIB = dt.timezone(dt.timedelta(hours=7), "WIB")
#: Shown where a time or a figure does not exist (yet).
MISSING = "\N{EN DASH}"


# --- Request hooks ------------------------------------------------------------------------


@bp.before_request
def _require_login():
    """Every page but the login form needs a session; every POST needs the CSRF token."""
    if request.endpoint != "console.login" and current_operator() is None:
        return redirect(url_for("console.login", next=_here()))
    if request.method == "POST":
        check_csrf()
    return None


@bp.after_request
def _security_headers(response):
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


@bp.context_processor
def _template_helpers():
    return {
        "csrf_token": csrf_token,
        "operator": g.get("operator"),
        "here": _here(),
        "when": _when,
        "ago": _ago,
        "hours": _hours,
        "web_link": _web_link,
    }


@bp.errorhandler(HTTPException)
def _error_page(error: HTTPException):
    # Without this the API's JSON error handler (registered app-wide) would answer.
    if error.code is None or error.code < 400:
        return error
    headers = [(name, value) for name, value in error.get_headers() if name == "Retry-After"]
    description = texts.UNAVAILABLE if error.code == 503 else error.description
    return (
        render_template("console/error.html", error=error, description=description),
        error.code,
        headers,
    )


# --- Log in and out -----------------------------------------------------------------------


@bp.route("/login", methods=["GET", "POST"])
def login():
    """The login form; a success goes on to the page that asked for it.

    Attempts are throttled per account and per address (:mod:`bridge.console.throttle`): a
    refused one is answered at once with 429 and ``Retry-After``, its password unchecked.
    """
    target = local_target(request.values.get("next"), url_for("console.dashboard"))
    if current_operator() is not None:
        return redirect(target)
    if request.method == "GET":
        return render_template("console/login.html", next=target, error=None)

    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    db = database.session()
    keys = {throttle.ADDRESS: _client_address()}
    if username:
        keys[throttle.ACCOUNT] = throttle.account_key(username)
    now = throttle.clock()
    refusal = throttle.reserve(db, keys, now)
    if refusal is not None:
        log.warning(
            "console: log-in refused (%s %s) from %s",
            refusal.kind,
            "locked" if refusal.locked else "backing off",
            keys[throttle.ADDRESS],
        )
        seconds = refusal.retry_after(now)
        page = render_template(
            "console/login.html", next=target, error=_refusal_text(refusal, now), user=username
        )
        return page, 429, {"Retry-After": str(seconds)}
    operator = None
    if username and password and len(password) <= MAX_PASSWORD:
        operator = check_login(db, username, password)
    if operator is None:
        # The password is never logged; the username may be one typed into the wrong field.
        log.warning("console: failed log-in from %s", keys[throttle.ADDRESS])
        return (
            render_template(
                "console/login.html", next=target, error=texts.LOGIN_FAILED, user=username
            ),
            401,
        )
    throttle.succeeded(db, keys, now)
    record_login(db, operator)
    start_session(operator)
    log.info("console: operator %s logged in from %s", operator.username, keys[throttle.ADDRESS])
    return redirect(target)


@bp.post("/logout")
def logout():
    """End the session (a POST with the CSRF token, so no other site can log anyone out)."""
    log.info("console: operator %s logged out", g.operator.username)
    end_session(g.operator)
    flash(texts.LOGGED_OUT, "ok")
    return redirect(url_for("console.login"))


def _client_address() -> str:
    return throttle.address_key(request.remote_addr, request.headers.get("X-Forwarded-For"))


def _refusal_text(refusal: throttle.Refusal, now: dt.datetime) -> str:
    seconds = refusal.retry_after(now)
    if not refusal.locked:
        return texts.BACKOFF.format(seconds=seconds)
    template = texts.LOCKED_ACCOUNT if refusal.kind == throttle.ACCOUNT else texts.LOCKED_ADDRESS
    return template.format(until=_when(refusal.until), minutes=max(1, round(seconds / 60)))


# --- Pages --------------------------------------------------------------------------------


@bp.get("/")
def dashboard():
    """Queue health at a glance."""
    now = utcnow()
    health = queue_health(database.session(), now)
    return render_template(
        "console/dashboard.html",
        health=health,
        now=now,
        broker=_broker_check(),
        sandbox=_settings().sandbox,
    )


@bp.get("/deliveries")
def delivery_list():
    """Deliveries that need a person (``needs_review`` and ``dead`` unless ``status`` says)."""
    statuses = request.args.getlist("status") or [s.value for s in FAILING]
    if any(s not in LISTABLE for s in statuses):
        abort(400, description="status must be one of: " + ", ".join(LISTABLE))
    page = _page()
    rows = queries.failing_deliveries(
        database.session(), statuses, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE
    )
    return render_template(
        "console/deliveries.html",
        rows=rows[:PAGE_SIZE],
        statuses=statuses,
        filters=LISTABLE,
        page=page,
        more=len(rows) > PAGE_SIZE,
    )


@bp.post("/deliveries/<int:delivery_id>/retry")
def retry(delivery_id: int):
    """Send a dead or needs-review delivery again through ``redeliver``.

    ``redeliver`` takes every such row of the complaint's current round with the same channel
    kind. A needs-review row may already have been posted, so resending one needs the
    operator's tick that they checked.
    """
    db = database.session()
    back = local_target(request.form.get("next"), url_for("console.delivery_list"))
    row = db.scalar(
        select(Delivery).where(Delivery.id == delivery_id).options(selectinload(Delivery.complaint))
    )
    if row is None:
        abort(404, description=f"There is no delivery {delivery_id}.")
    complaint = row.complaint
    if row.round != complaint.round:
        flash(
            f"Nothing to retry: this {row.kind} delivery of {complaint.wadule_id} belongs to "
            "an earlier routing round.",
            "warning",
        )
        return redirect(back)
    if row.status not in FAILING:
        # Someone else retried it meanwhile, or a worker got to it: nothing to do.
        flash(
            f"Nothing to retry: the {row.kind} delivery of {complaint.wadule_id} is "
            f"{row.status} now.",
            "warning",
        )
        return redirect(back)
    in_review = db.scalar(
        select(Delivery.id).where(
            Delivery.complaint_id == complaint.id,
            Delivery.round == complaint.round,
            Delivery.kind == row.kind,
            Delivery.status == DeliveryStatus.NEEDS_REVIEW,
        )
    )
    if in_review is not None and request.form.get("checked") != "yes":
        flash(
            f"Not resent: a {row.kind} delivery of {complaint.wadule_id} needs review. Check "
            "that the target did not get it, then tick the box next to Resend.",
            "error",
        )
        return redirect(back)
    ids = outbox.redeliver(
        db, complaint, channel=row.kind, actor=Actor("operator", g.operator.username)
    )
    log.info(
        "console: operator %s requeued deliveries %s of %s",
        g.operator.username,
        ids,
        complaint.wadule_id,
    )
    noun = "delivery" if len(ids) == 1 else "deliveries"
    flash(f"Requeued {len(ids)} {row.kind} {noun} of {complaint.wadule_id}.", "ok")
    return redirect(back)


@bp.get("/complaints")
def find_complaint():
    """The "go to complaint" box: straight to the complaint's page."""
    wadule_id = request.args.get("wadule_id", "").strip()
    if not wadule_id:
        return redirect(url_for("console.dashboard"))
    return redirect(url_for("console.complaint", wadule_id=wadule_id))


@bp.get("/complaints/<wadule_id>")
def complaint(wadule_id: str):
    """Everything about one complaint, reporter contact details included."""
    db = database.session()
    found = load_complaint(db, wadule_id)
    if found is None:
        abort(404, description=f"There is no complaint {wadule_id}.")
    return render_template(
        "console/complaint.html",
        complaint=found,
        wadule_url=complaint_link(_settings(), found.wadule_id),
    )


@bp.get("/opds")
def opds():
    """Per-OPD responsiveness."""
    now = utcnow()
    lines = queries.responsiveness(database.session(), now, days=30)
    return render_template("console/opds.html", lines=lines, days=30, grades=queries.GRADES)


@bp.get("/sandbox")
def sandbox():
    """The sandbox inbox: what each channel would have received, newest first."""
    page = _page()
    messages = queries.sandbox_messages(
        database.session(), limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE
    )
    return render_template(
        "console/sandbox.html",
        messages=messages[:PAGE_SIZE],
        page=page,
        more=len(messages) > PAGE_SIZE,
        sandbox=_settings().sandbox,
    )


# --- Helpers ------------------------------------------------------------------------------


def _settings():
    return current_app.config["BRIDGE_SETTINGS"]


def _here() -> str:
    query = request.query_string.decode("latin-1")
    return f"{request.path}?{query}" if query else request.path


def _page() -> int:
    page = request.args.get("page", 1, type=int)
    if page < 1 or page > 100_000:
        abort(400, description="page must be a positive number.")
    return page


def _broker_check() -> dict:
    # /readyz's own check, so the console and the readiness probe agree on what "ok" means.
    from bridge.health import check_broker

    return check_broker()


def _when(value: dt.datetime | None) -> str:
    if value is None:
        return MISSING
    return value.astimezone(WIB).strftime("%Y-%m-%d %H:%M WIB")


def _ago(value: dt.datetime | None, now: dt.datetime | None = None) -> str:
    if value is None:
        return MISSING
    seconds = int(((now or utcnow()) - value).total_seconds())
    if seconds < 0:
        return "in the future"
    if seconds < 90:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 90:
        return f"{minutes} min"
    hours_, minutes = divmod(minutes, 60)
    if hours_ < 48:
        return f"{hours_} h {minutes} min"
    return f"{hours_ // 24} d {hours_ % 24} h"


def _hours(value: float | None) -> str:
    return MISSING if value is None else f"{value:.1f} h"


def _web_link(url: object) -> str | None:
    """``url`` if it is safe in an ``href`` (http or https only; no ``javascript:``)."""
    if not isinstance(url, str):
        return None
    return url if urlsplit(url).scheme in ("http", "https") else None
