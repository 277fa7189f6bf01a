"""Instagram channel: publishes the complaint's card (a JPEG) with the public summary as caption.

Instagram's content publishing takes three steps against the Graph API, each with the Instagram
user token as ``Authorization: Bearer``:

1. ``POST /{ig-user-id}/media`` with ``image_url`` (the card, served by :mod:`bridge.public` at
   a stable URL that Meta fetches) and ``caption`` → a container id;
2. ``GET /{container-id}?fields=status_code,status`` until ``FINISHED`` (``IN_PROGRESS`` is
   polled a bounded number of times; ``ERROR``/``EXPIRED`` mean the container was never
   published and a new one is needed);
3. ``POST /{ig-user-id}/media_publish`` with ``creation_id`` → the media id.

No step is repeated after a crash if it already succeeded: the container id is checkpointed
right after step 1, and a later attempt goes straight to step 2. Nobody waits for Meta to
process the image: a container still ``IN_PROGRESS`` raises :class:`NotYetError`, the row keeps
its progress and comes back at its ``next_attempt_at`` (after :data:`CHECK_AFTER` seconds, then
longer), so no worker sleeps and no attempt is spent on waiting. "Publish requested" is
checkpointed before step 3; a timeout there leaves the row in ``needs_review``. When a person
redelivers it, the container's own status decides: ``PUBLISHED`` means the post is there (the
row is marked sent, nothing posted again); ``FINISHED`` means it never went out, and it is
published now. Meta publishes a container at most once, so this cannot post twice.

The daily publishing quota (``content_publishing_limit``; 50 posts per rolling 24 hours at the
time of writing) is checked before a new publish, and error 9/2207042 ("maximum number of posts
reached") is handled the same way: throttled for :data:`QUOTA_WAIT`.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from bridge.channels.base import (
    CheckContext,
    Finding,
    Findings,
    NotYetError,
    OutcomeUnknownError,
    OutgoingMessage,
    PermanentError,
    RetryableError,
    SendResult,
    ThrottledError,
    json_body,
    provider_detail,
)
from bridge.channels.facebook_page import (
    PERMISSION_CODES,
    THROTTLE_CODES,
    TRANSIENT_CODES,
    GraphAdapter,
    Usage,
    graph_error,
    save_progress,
)

log = logging.getLogger(__name__)

#: Publishing quota is a rolling 24 hours; the oldest post's slot frees at an unknown time, so
#: look again in an hour.
QUOTA_WAIT = 3600.0
QUOTA_CODE, QUOTA_SUBCODE = 9, 2207042
#: "Media not ready for publishing": step 2 said FINISHED too early; worth a short wait.
NOT_READY_SUBCODES = frozenset({2207027})
#: Meta could not fetch or read the card (BRIDGE_PUBLIC_URL unreachable, wrong content type).
MEDIA_FETCH_CODES = frozenset({9004, 36000, 36001, 36003})
PROCESSING_WAIT = 60.0
#: Seconds before each look at a container still ``IN_PROGRESS``. Meta recommends looking "once
#: per minute, for no more than 5 minutes" (Content Publishing guide, "Troubleshooting":
#: https://developers.facebook.com/docs/instagram-platform/content-publishing); an image card is
#: usually ready within seconds, so the first looks come sooner.
CHECK_AFTER = (5.0, 10.0, 20.0, 40.0, 60.0, 60.0, 60.0, 60.0)


class Adapter(GraphAdapter):
    """Publishes a card image to an Instagram professional account (its IG user id)."""

    kind: ClassVar[str] = "instagram"
    order: ClassVar[int] = 50
    #: Instagram allows 50 API-published posts a day per account; one per 5 minutes is plenty.
    rate_limit: ClassVar[tuple[int, float]] = (1, 300.0)
    #: Instagram's caption limit, in characters.
    max_length: ClassVar[int] = 2200
    #: Posts to keep free in the quota (0: use it all).
    quota_reserve: ClassVar[int] = 0
    #: Content publishing needs both (Instagram Graph API, content publishing guide).
    required_scopes: ClassVar[tuple[str, ...]] = ("instagram_basic", "instagram_content_publish")
    object_fields: ClassVar[str] = "id,username"
    object_label: ClassVar[str] = "Instagram account"

    def send(self, message: OutgoingMessage) -> SendResult:
        self.require_token(message)
        image_url = message.payload.get("image_url")
        if not isinstance(image_url, str) or not image_url:
            raise PermanentError("instagram: no card image URL was rendered")
        if self.measure(message.text) > self.max_length:
            raise PermanentError("instagram: caption longer than 2200 characters")
        usage = Usage()
        progress = message.progress
        if progress.get("media_id"):
            # Published and checkpointed, but the outcome was never recorded (a crash).
            return SendResult(external_id=str(progress["media_id"]))

        container_id = progress.get("container_id")
        if progress.get("publish_requested") and container_id:
            status, _ = self._container_status(message, container_id, usage)
            if status == "PUBLISHED":
                return self._published_earlier(message, container_id, usage)
            if status in ("EXPIRED", "ERROR"):
                # Never published, and now it cannot be: a new container is needed.
                save_progress(message, container_id=None, publish_requested=False)
                container_id = None
            elif status not in ("FINISHED", "IN_PROGRESS"):
                raise OutcomeUnknownError(
                    f"instagram: earlier publish of container {container_id} unclear"
                    f" (status {status or 'unknown'}); check the account"
                )
            # FINISHED/IN_PROGRESS: the earlier publish did not happen; it is safe to publish.
        self._check_quota(message, usage)

        for _ in range(2):  # an expired container is replaced once per attempt
            if not container_id:
                container_id = self._create_container(message, image_url, usage)
                save_progress(message, container_id=container_id, publish_requested=False, checks=0)
            status = self._ready(message, container_id, usage)
            if status == "FINISHED":
                break
            if status == "PUBLISHED":
                return self._published_earlier(message, container_id, usage)
            # EXPIRED (not published within 24 h): start again with a new container.
            save_progress(message, container_id=None, publish_requested=False)
            container_id = None
        else:
            raise RetryableError("instagram: containers keep expiring", retry_after=PROCESSING_WAIT)

        save_progress(message, publish_requested=True)
        media_id = self._publish(message, container_id, usage)
        save_progress(message, media_id=media_id)
        log.info("instagram published delivery %s (media %s)", message.delivery_id, media_id)
        return SendResult(external_id=media_id, slow_down=usage.slow_down())

    # Channel check (contract section 9; the token checks are GraphAdapter.check)

    def check_publishing(
        self, found: Findings, context: CheckContext, headers: dict[str, str]
    ) -> Finding | None:
        """Read the publishing quota: it needs the publishing permission, and a used-up quota
        means no post for hours."""
        response = self.probe(
            "GET",
            self.graph(context.target, "content_publishing_limit"),
            params={"fields": "quota_usage,config"},
            headers=headers,
        )
        body = json_body(response)
        if not 200 <= response.status_code < 300:
            error = graph_error(response)
            if error is not None and (error.code in PERMISSION_CODES or error.code == 100):
                return found.unusable(
                    f"the token may not publish to the account ({error.describe()})"
                )
            found.warn(f"Meta did not show the publishing quota ({response.status_code})")
            return None
        entries = body.get("data") if isinstance(body, dict) else None
        entry = entries[0] if isinstance(entries, list) and entries else {}
        used = entry.get("quota_usage") if isinstance(entry, dict) else None
        config = entry.get("config") if isinstance(entry, dict) else None
        total = config.get("quota_total") if isinstance(config, dict) else None
        if _is_int(used) and _is_int(total):
            found.details["quota"] = f"{used}/{total} in 24 hours"
            if used >= total:
                found.warn(
                    f"the publishing quota is used up ({used}/{total} in 24 hours): new posts"
                    " wait until it frees"
                )
        return None

    def unseen_by_token(self) -> str:
        # The quota read above already needs the publishing permission.
        return "its expiry is"

    # Steps

    def _check_quota(self, message: OutgoingMessage, usage: Usage) -> None:
        response = self.get(
            self.graph(message.target, "content_publishing_limit"),
            params={"fields": "quota_usage,config"},
            headers=self.auth(message),
        )
        usage.read(response.headers)
        if not 200 <= response.status_code < 300:
            raise self.fail(response, usage)
        body = json_body(response)
        entries = body.get("data") if isinstance(body, dict) else None
        entry = entries[0] if isinstance(entries, list) and entries else None
        if not isinstance(entry, dict):
            return  # no figures: media_publish enforces the limit (error 9/2207042) anyway
        used = entry.get("quota_usage")
        config = entry.get("config") if isinstance(entry.get("config"), dict) else {}
        total = config.get("quota_total")
        if _is_int(used) and _is_int(total) and used >= total - self.quota_reserve:
            raise ThrottledError(
                f"instagram: publishing quota used up ({used}/{total} in 24 hours)",
                retry_after=QUOTA_WAIT,
            )

    def _create_container(self, message: OutgoingMessage, image_url: str, usage: Usage) -> str:
        try:
            response = self.post(
                self.graph(message.target, "media"),
                data={"image_url": image_url, "caption": message.text},
                headers=self.auth(message),
            )
        except OutcomeUnknownError as exc:
            # A container posts nothing; one lost to a timeout simply expires unpublished.
            raise RetryableError(f"{exc.reason} (creating the container)") from None
        usage.read(response.headers)
        body = json_body(response)
        if 200 <= response.status_code < 300:
            container_id = body.get("id") if isinstance(body, dict) else None
            if isinstance(container_id, str | int) and str(container_id):
                return str(container_id)
            raise RetryableError("instagram: container created without an id")
        error = graph_error(response)
        if error is not None and error.code in MEDIA_FETCH_CODES:
            raise RetryableError(
                f"instagram: Meta could not fetch the card image ({error.describe()});"
                " check that BRIDGE_PUBLIC_URL is reachable from the internet",
                retry_after=PROCESSING_WAIT,
            )
        raise self.fail(response, usage)

    def _published_earlier(
        self, message: OutgoingMessage, container_id: str, usage: Usage
    ) -> SendResult:
        # Only this delivery publishes this container, so the post is ours; Meta does not
        # tell the media id from the container, so the row is sent without one.
        log.info(
            "delivery %s: container %s was published by an earlier attempt",
            message.delivery_id,
            container_id,
        )
        return SendResult(external_id=None, slow_down=usage.slow_down())

    def _container_status(
        self, message: OutgoingMessage, container_id: str, usage: Usage
    ) -> tuple[str | None, str | None]:
        response = self.get(
            self.graph(container_id),
            params={"fields": "status_code,status"},
            headers=self.auth(message),
        )
        usage.read(response.headers)
        if not 200 <= response.status_code < 300:
            raise self.fail(response, usage)
        body = json_body(response)
        body = body if isinstance(body, dict) else {}
        status, detail = body.get("status_code"), body.get("status")
        return (
            status if isinstance(status, str) else None,
            provider_detail(detail) if detail else None,
        )

    def _ready(self, message: OutgoingMessage, container_id: str, usage: Usage) -> str:
        """FINISHED, EXPIRED or PUBLISHED (returned); still processing raises NotYetError with
        when to look again; ERROR, or no end after :data:`CHECK_AFTER`'s looks, raises
        RetryableError (which spends an attempt)."""
        status, detail = self._container_status(message, container_id, usage)
        if status in ("FINISHED", "EXPIRED", "PUBLISHED"):
            return status
        if status == "ERROR":
            save_progress(message, container_id=None, publish_requested=False, checks=0)
            raise RetryableError(
                f"instagram: Meta could not process the card ({detail or 'no detail'}); a new"
                " container is made next time",
                retry_after=PROCESSING_WAIT,
            )
        checks = int(message.progress.get("checks") or 0)
        if checks >= len(CHECK_AFTER):
            # Looked long enough in this attempt; the container stays (it keeps 24 hours).
            save_progress(message, checks=0)
            raise RetryableError(
                f"instagram: container still {status or 'not ready'} after {checks} looks",
                retry_after=PROCESSING_WAIT,
            )
        save_progress(message, checks=checks + 1)
        raise NotYetError(
            f"instagram: container {status or 'not ready'}; looking again",
            check_after=CHECK_AFTER[checks],
        )

    def _publish(self, message: OutgoingMessage, container_id: str, usage: Usage) -> str | None:
        # Timeouts here raise OutcomeUnknownError: the row goes to needs_review.
        response = self.post(
            self.graph(message.target, "media_publish"),
            data={"creation_id": container_id},
            headers=self.auth(message),
        )
        usage.read(response.headers)
        body = json_body(response)
        if 200 <= response.status_code < 300:
            media_id = body.get("id") if isinstance(body, dict) else None
            return str(media_id)[:200] if isinstance(media_id, str | int) else None
        error = graph_error(response)
        if error is not None:
            definite = None
            if error.code == QUOTA_CODE and error.subcode == QUOTA_SUBCODE:
                definite = ThrottledError(
                    f"instagram: publishing quota reached: {error.describe()}",
                    retry_after=QUOTA_WAIT,
                )
            elif error.subcode in NOT_READY_SUBCODES:
                definite = RetryableError(
                    f"instagram: media not ready: {error.describe()}",
                    retry_after=PROCESSING_WAIT,
                )
            elif error.code in THROTTLE_CODES or not (
                error.status >= 500 or error.code in TRANSIENT_CODES or error.is_transient
            ):
                definite = self.fail(response, usage)
            if definite is not None:
                # Meta refused the publish: nothing went out, the container is still usable.
                save_progress(message, publish_requested=False)
                raise definite
        # 5xx or an unexplained answer: it may have published. The next attempt (a retry, or a
        # person's redelivery) reads the container's status before publishing again.
        raise self.fail(response, usage)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


__all__ = ["QUOTA_WAIT", "Adapter"]
