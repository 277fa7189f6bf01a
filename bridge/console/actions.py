"""What an operator can do from the console: retry deliveries (one or many), queue a check.

Every action is a POST with the session's CSRF token (checked in ``views._require_login``)
that answers with a redirect and a flash message saying what happened.
"""

from __future__ import annotations

import logging
import re

from flask import abort, current_app, flash, g, redirect, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from bridge import db as database
from bridge import outbox
from bridge.console import bp, queries
from bridge.console.i18n import words
from bridge.console.security import local_target
from bridge.console.views import FAILING, delivery_filter
from bridge.models import Delivery
from bridge.queue import CHECK_TASK, HOUSEKEEPING_QUEUE
from bridge.statuses import CARRYING_COMPLAINT, DeliveryStatus
from bridge.workflow import Actor

log = logging.getLogger(__name__)

#: Rows one "retry selected" may name (a page shows at most 100).
MAX_SELECTED = 500
#: Rows one "retry all in this filter" sends again; the rest stay listed for the next press.
MAX_IN_SCOPE = 5000
_ID = re.compile(r"[1-9][0-9]{0,17}")


@bp.post("/deliveries/<int:delivery_id>/retry")
def retry(delivery_id: int):
    """Send a dead or needs-review delivery again through ``redeliver``.

    ``redeliver`` takes every such row of the complaint's current round with the same channel
    kind. A needs-review row may already have been posted, so resending one needs the
    operator's tick that they checked.
    """
    t = words()
    db = database.session()
    back = local_target(request.form.get("next"), url_for("console.delivery_list"))
    row = db.scalar(
        select(Delivery).where(Delivery.id == delivery_id).options(selectinload(Delivery.complaint))
    )
    if row is None or row.complaint is None:
        abort(404, description=t("error.no_delivery", id=delivery_id))
    complaint = row.complaint
    names = {"kind": t.kind(row.kind), "wadule_id": complaint.wadule_id}
    if row.purpose not in CARRYING_COMPLAINT:
        flash(t("retry.notice"), "warning")
        return redirect(back)
    if row.round != complaint.round:
        flash(t("retry.earlier_round", **names), "warning")
        return redirect(back)
    if row.status not in FAILING:
        # Someone else retried it meanwhile, or a worker got to it: nothing to do.
        flash(t("retry.not_failing", status=t.status(row.status), **names), "warning")
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
        flash(t("retry.needs_review", **names), "error")
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
    flash(t("retry.done", count=len(ids), **names), "ok")
    return redirect(back)


@bp.post("/deliveries/retry")
def retry_bulk():
    """Send several deliveries again in one go: the ticked ones (``scope=selected``, the ids
    in ``ids``), or every one the list's filter holds (``scope=all``, which needs a channel
    kind or an OPD: what was fixed is a token of one of them).

    Each row goes on its own (:func:`bridge.outbox.redeliver_rows`). Needs-review rows go only
    with the ``checked`` tick, which says the operator looked at their targets; without it
    they stay, and the answer says how many.
    """
    t = words()
    db = database.session()
    back = local_target(request.form.get("next"), url_for("console.delivery_list"))
    scope = request.form.get("scope")
    if scope == "all":
        wanted = delivery_filter(db, request.form)
        if not (wanted.kind or wanted.opd):
            abort(400, description=t("error.bad_scope"))
        ids = queries.redeliverable_ids(db, wanted)[:MAX_IN_SCOPE]
    elif scope == "selected":
        raw = request.form.getlist("ids")
        if not all(_ID.fullmatch(value) for value in raw):
            abort(400, description=t("error.bad_ids"))
        if len(raw) > MAX_SELECTED:
            abort(400, description=t("error.too_many_ids", limit=MAX_SELECTED))
        ids = [int(value) for value in raw]
        if not ids:
            flash(t("bulk.none_selected"), "warning")
            return redirect(back)
    else:
        abort(400, description=t("error.bad_ids"))
    done = outbox.redeliver_rows(
        db,
        ids,
        actor=Actor("operator", g.operator.username),
        confirmed_review=request.form.get("checked") == "yes",
    )
    log.info(
        "console: operator %s requeued deliveries %s (%s; %d needs review left, %d skipped)",
        g.operator.username,
        list(done.requeued),
        scope,
        len(done.unconfirmed),
        len(done.skipped),
    )
    flash(t("bulk.done", count=len(done.requeued)), "ok")
    if done.unconfirmed:
        flash(t("bulk.unconfirmed", count=len(done.unconfirmed)), "error")
    if done.skipped:
        flash(t("bulk.skipped", count=len(done.skipped)), "warning")
    return redirect(back)


@bp.post("/checks/run")
def run_checks():
    """Queue a check of every channel for a worker (checks call providers and may take a
    while, so never inside the request)."""
    t = words()
    celery_app = current_app.extensions["celery"]
    try:
        celery_app.send_task(CHECK_TASK, queue=HOUSEKEEPING_QUEUE, retry=False)
    except Exception as exc:  # any broker failure: say so, the operator can use the CLI
        log.warning("console: channel check not queued (%s)", type(exc).__name__)
        flash(t("checks.not_queued"), "error")
    else:
        log.info("console: operator %s queued a channel check", g.operator.username)
        flash(t("checks.queued"), "ok")
    return redirect(url_for("console.checks"))
