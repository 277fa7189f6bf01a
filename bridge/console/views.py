"""The console's pages, its log-in and log-out, and what every page shares (hooks, frame)."""

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
from werkzeug.exceptions import HTTPException

from bridge import db as database
from bridge.channels import kinds, order_of
from bridge.checks import last_checked_at, last_results
from bridge.complaints import load_complaint
from bridge.console import bp, queries, throttle
from bridge.console.i18n import words
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
from bridge.models import utcnow
from bridge.operators import MAX_PASSWORD, check_login, record_login
from bridge.reports.grades import GRADE_BOUNDS
from bridge.statuses import ComplaintStatus, DeliveryStatus
from bridge.worktime import WorkingCalendar

log = logging.getLogger(__name__)

PAGE_SIZE = 100

FAILING = (DeliveryStatus.NEEDS_REVIEW, DeliveryStatus.DEAD)
LISTABLE = (DeliveryStatus.NEEDS_REVIEW, DeliveryStatus.DEAD, DeliveryStatus.RETRYING)

#: The menu: (endpoint, catalogue key).
NAV = (
    ("console.dashboard", "nav.dashboard"),
    ("console.delivery_list", "nav.deliveries"),
    ("console.opds", "nav.opds"),
    ("console.report", "nav.report"),
    ("console.checks", "nav.checks"),
    ("console.sandbox", "nav.sandbox"),
)


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
    t = words()
    return {
        "t": t,
        "lang": t.language,
        "nav": NAV,
        "csrf_token": csrf_token,
        "operator": g.get("operator"),
        "here": _here(),
        "web_link": _web_link,
        "can_redeliver": queries.can_redeliver,
        "complaint_statuses": [s.value for s in ComplaintStatus],
        "delivery_statuses": [s.value for s in DeliveryStatus],
    }


@bp.errorhandler(HTTPException)
def _error_page(error: HTTPException):
    # Without this the API's JSON error handler (registered app-wide) would answer.
    if error.code is None or error.code < 400:
        return error
    t = words()
    headers = [(name, value) for name, value in error.get_headers() if name == "Retry-After"]
    if error.code == 503:
        description = t("error.unavailable")
    elif error.description == type(error).description:
        # Werkzeug's own English sentence: the console's pages say what they mean themselves.
        description = t("error.generic")
    else:
        description = error.description
    key = f"error.{error.code}"
    title = t(key) if key in t.catalogue else t("error.other", code=error.code)
    return (
        render_template("console/error.html", error=error, title=title, description=description),
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
    t = words()
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
                "console/login.html", next=target, error=t("login.failed"), user=username
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
    flash(words()("logged_out"), "ok")
    return redirect(url_for("console.login"))


def _client_address() -> str:
    return throttle.address_key(request.remote_addr, request.headers.get("X-Forwarded-For"))


def _refusal_text(refusal: throttle.Refusal, now: dt.datetime) -> str:
    t = words()
    seconds = refusal.retry_after(now)
    if not refusal.locked:
        return t("login.backoff", seconds=seconds)
    key = "login.locked_account" if refusal.kind == throttle.ACCOUNT else "login.locked_address"
    return t(key, until=t.when(refusal.until), minutes=max(1, round(seconds / 60)))


# --- Pages --------------------------------------------------------------------------------


@bp.get("/")
def dashboard():
    """Queue health at a glance, and how many channels the last check found unusable."""
    now = utcnow()
    db = database.session()
    health = queue_health(db, now)
    unusable = sum(1 for result in last_results(db) if not result.usable)
    return render_template(
        "console/dashboard.html",
        health=health,
        kinds_seen=sorted(health.deliveries, key=lambda kind: (order_of(kind), kind)),
        now=now,
        broker=_broker_check(),
        unusable=unusable,
        sandbox=_settings().sandbox,
    )


@bp.get("/deliveries")
def delivery_list():
    """Deliveries that need a person (``needs_review`` and ``dead`` unless ``status`` says),
    of one channel kind and one OPD if asked, with retry one by one and in bulk."""
    db = database.session()
    wanted = delivery_filter(db, request.args)
    page = _page()
    rows = queries.failing_deliveries(
        db, wanted, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE
    )
    in_scope = queries.redeliverable_counts(db, wanted) if wanted.kind or wanted.opd else {}
    return render_template(
        "console/deliveries.html",
        rows=rows[:PAGE_SIZE],
        wanted=wanted,
        default=wanted.statuses == tuple(FAILING),
        filters=LISTABLE,
        kinds=kinds(),
        opds=queries.active_opds(db),
        in_scope=in_scope,
        page=page,
        more=len(rows) > PAGE_SIZE,
    )


def delivery_filter(db, values) -> queries.DeliveryFilter:
    """The list's filter from a query string or form; 400 naming a bad value."""
    t = words()
    statuses = tuple(values.getlist("status")) or tuple(s.value for s in FAILING)
    if any(s not in LISTABLE for s in statuses):
        abort(400, description=t("error.bad_status", allowed=", ".join(LISTABLE)))
    kind = values.get("kind") or None
    if kind is not None and kind not in kinds():
        abort(400, description=t("error.bad_kind", kind=kind))
    opd = values.get("opd") or None
    if opd is not None and opd not in {slug for slug, _name in queries.active_opds(db)}:
        abort(400, description=t("error.bad_opd", opd=opd))
    return queries.DeliveryFilter(tuple(dict.fromkeys(statuses)), kind, opd)


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
        abort(404, description=words()("error.no_complaint", wadule_id=wadule_id))
    return render_template(
        "console/complaint.html",
        complaint=found,
        wadule_url=complaint_link(_settings(), found.wadule_id),
    )


@bp.get("/opds")
def opds():
    """Per-OPD responsiveness."""
    now = utcnow()
    calendar = WorkingCalendar.from_settings(_settings())
    lines = queries.responsiveness(database.session(), now, calendar, days=30)
    return render_template("console/opds.html", lines=lines, days=30, grades=GRADE_BOUNDS)


@bp.get("/checks")
def checks():
    """Each channel's last check, and a button that queues a new one."""
    db = database.session()
    lines = queries.channel_checks(db)
    counts = {"ok": 0, "warning": 0, "unusable": 0, "unchecked": 0}
    for line in lines:
        counts[line.result.verdict.value if line.result else "unchecked"] += 1
    return render_template(
        "console/checks.html",
        lines=lines,
        counts=counts,
        last=last_checked_at(db),
        now=utcnow(),
    )


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
        abort(400, description=words()("error.bad_page"))
    return page


def _broker_check() -> dict:
    # /readyz's own check, so the console and the readiness probe agree on what "ok" means.
    from bridge.health import check_broker

    return check_broker()


def _web_link(url: object) -> str | None:
    """``url`` if it is safe in an ``href`` (http or https only; no ``javascript:``)."""
    if not isinstance(url, str):
        return None
    return url if urlsplit(url).scheme in ("http", "https") else None
