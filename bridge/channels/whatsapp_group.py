"""WhatsApp group channel: posts the complaint to an OPD's group through WAHA or Fonnte.

``settings.whatsapp_provider`` picks the provider:

- **WAHA** (self-hosted WhatsApp HTTP API): ``POST {waha_url}/api/sendText`` with JSON
  ``{"session", "chatId", "text", "linkPreview"}`` and the ``X-Api-Key`` header. The answer's
  shape depends on the WAHA engine (WEBJS, NOWEB, GOWS) and may even be empty.
- **Fonnte** (hosted gateway): ``POST {fonnte_url}/send``, form-encoded ``target`` and
  ``message``, the bare token in ``Authorization``. Fonnte answers HTTP 200 even on failure and
  puts ``{"status": false, "reason": "..."}`` in the body.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from bridge.channels.base import (
    ChannelAdapter,
    OutcomeUnknownError,
    OutgoingMessage,
    PermanentError,
    RetryableError,
    SendResult,
    ThrottledError,
    json_body,
    provider_detail,
    retry_after_seconds,
)

log = logging.getLogger(__name__)

NOT_CONFIGURED = "provider not configured"

#: WAHA session states in which nothing can be sent until the session is up or an operator acts
#: (scan the QR code, confirm a passkey, restart the session). Worth retrying, but not soon.
#: The passkey states (WAHA 2026.7.1, GOWS) are steps of pairing, not failures: waha-docs
#: content/docs/how-to/sessions/index.md "PASSKEY_REQUIRED", "PASSKEY_CONFIRMATION_REQUIRED".
WAHA_SESSION_NOT_READY = (
    "STARTING",
    "SCAN_QR_CODE",
    "PASSKEY_REQUIRED",
    "PASSKEY_CONFIRMATION_REQUIRED",
    "FAILED",
    "STOPPED",
)
SESSION_WAIT = 60.0
#: A disconnected Fonnte device needs its phone back online or a QR scan.
DEVICE_WAIT = 300.0
#: An empty Fonnte quota needs someone to top it up.
QUOTA_WAIT = 3600.0


class Adapter(ChannelAdapter):
    """Sends to a WhatsApp group id (``…@g.us``) via the configured provider."""

    kind: ClassVar[str] = "whatsapp_group"
    public: ClassVar[bool] = False
    # WhatsApp takes about 65k characters; the rendered complaint is far shorter.
    max_length: ClassVar[int] = 65536

    @property
    def provider(self) -> str:
        return self.settings.whatsapp_provider

    def missing_configuration(self, message: OutgoingMessage | None = None) -> str | None:
        if self.provider == "fonnte":
            return None if self.settings.fonnte_token else NOT_CONFIGURED
        return None if self.settings.waha_url else NOT_CONFIGURED

    def send(self, message: OutgoingMessage) -> SendResult:
        missing = self.missing_configuration(message)
        if missing:
            raise PermanentError(missing)
        if self.provider == "fonnte":
            return self._send_fonnte(message)
        return self._send_waha(message)

    # WAHA

    def _send_waha(self, message: OutgoingMessage) -> SendResult:
        headers = {"Accept": "application/json"}
        if self.settings.waha_api_key:
            headers["X-Api-Key"] = self.settings.waha_api_key
        response = self.post(
            f"{self.settings.waha_url.rstrip('/')}/api/sendText",
            json={
                "session": self.settings.waha_session,
                "chatId": message.target,
                "text": message.text,
                # A preview makes WAHA fetch the Wadule page first: slower, and it may fail.
                "linkPreview": False,
            },
            headers=headers,
        )
        status = response.status_code
        body = json_body(response)
        if 200 <= status < 300:
            external_id = waha_message_id(body)
            log.info("waha accepted delivery %s (message id %s)", message.delivery_id, external_id)
            return SendResult(external_id=external_id)
        detail = _waha_error_text(body)
        if status in (401, 403):
            raise PermanentError("waha: bad api key")
        if status == 404:
            raise PermanentError(f"waha: not found: {detail}" if detail else "waha: not found")
        if status == 422 and _waha_session_state(body) in WAHA_SESSION_NOT_READY:
            raise RetryableError(
                f"waha: session {self.settings.waha_session!r} is "
                f"{_waha_session_state(body)}, not WORKING",
                retry_after=SESSION_WAIT,
            )
        if status == 429:
            raise ThrottledError(
                "waha: too many requests",
                retry_after=retry_after_seconds(response.headers.get("Retry-After")),
            )
        if status >= 500:
            raise RetryableError(
                f"waha: server error {status}" + (f": {detail}" if detail else ""),
                retry_after=retry_after_seconds(response.headers.get("Retry-After")),
            )
        if 300 <= status < 400:
            raise PermanentError(f"waha: unexpected redirect {status}; check BRIDGE_WAHA_URL")
        raise PermanentError(f"waha: refused {status}" + (f": {detail}" if detail else ""))

    # Fonnte

    def _send_fonnte(self, message: OutgoingMessage) -> SendResult:
        response = self.post(
            f"{self.settings.fonnte_url.rstrip('/')}/send",
            data={"target": message.target, "message": message.text},
            headers={"Authorization": self.settings.fonnte_token, "Accept": "application/json"},
        )
        status = response.status_code
        body = json_body(response)
        if status == 429:
            raise ThrottledError(
                "fonnte: too many requests",
                retry_after=retry_after_seconds(response.headers.get("Retry-After")),
            )
        if status >= 500:
            raise RetryableError(f"fonnte: server error {status}")
        if status in (401, 403):
            raise PermanentError("fonnte: invalid token")
        if not 200 <= status < 300:
            raise PermanentError(f"fonnte: refused {status}")
        fields = _lower_keys(body) if isinstance(body, dict) else {}
        ok = fields.get("status")
        if ok is True or (isinstance(ok, str) and ok.lower() == "true"):
            external_id = fonnte_message_id(fields.get("id"))
            log.info(
                "fonnte accepted delivery %s (message id %s)", message.delivery_id, external_id
            )
            return SendResult(external_id=external_id)
        if ok is False or (isinstance(ok, str) and ok.lower() == "false"):
            raise classify_fonnte_reason(
                provider_detail(fields.get("reason") or fields.get("detail"))
            )
        # A 2xx without Fonnte's verdict (a proxy page, an empty body): the request got there
        # and may have been queued, so a person decides rather than a blind second post.
        raise OutcomeUnknownError(f"fonnte: unexpected answer ({status}, no status field)")


def waha_message_id(body: Any) -> str | None:
    """The message id in a WAHA sendText answer, whatever the engine; None when absent.

    WEBJS answers a message whose ``id`` is ``{"_serialized": ...}`` (or a plain string), NOWEB
    ``{"key": {"id": ...}}``, GOWS an ``id`` string; some versions answer nothing at all.
    """
    if not isinstance(body, dict):
        return None
    for candidate in (
        body.get("id"),
        _get(body, "key", "id"),
        _get(body, "_data", "id"),
        _get(body, "_data", "key", "id"),
        body.get("ID"),
        _get(body, "_data", "Info", "ID"),
        _get(body, "message", "id"),
    ):
        value = _id_value(candidate)
        if value:
            return value
    return None


def fonnte_message_id(ids: Any) -> str | None:
    """Fonnte's ``id`` is a list with one id per target; we send to one target."""
    if isinstance(ids, list):
        ids = next((i for i in ids if isinstance(i, str | int) and str(i)), None)
    if isinstance(ids, str | int) and not isinstance(ids, bool) and str(ids):
        return str(ids)[:200]
    return None


def classify_fonnte_reason(reason: str) -> RetryableError | PermanentError:
    """Turn Fonnte's ``reason`` (HTTP 200, ``status: false``) into a typed error."""
    text = reason.lower()
    if "invalid device" in text:
        # Fonnte's word for a token that names no device.
        return PermanentError("fonnte: invalid token")
    if "token" in text or "credential" in text or "unauthori" in text:
        return PermanentError("fonnte: invalid token")
    if "disconnect" in text or "not connected" in text or "device" in text:
        return RetryableError("fonnte: device disconnected", retry_after=DEVICE_WAIT)
    if "target" in text or "number" in text:
        return PermanentError("fonnte: invalid target")
    if "quota" in text or "balance" in text or "package" in text or "expired" in text:
        return RetryableError("fonnte: quota exhausted", retry_after=QUOTA_WAIT)
    if "limit" in text or "too many" in text or "wait" in text or "try again" in text:
        return ThrottledError(f"fonnte: rate limited ({reason})", retry_after=60.0)
    if "invalid" in text or "not supported" in text:
        return PermanentError(f"fonnte: refused: {reason}")
    # Fonnte said it did not queue the message, so trying again cannot post it twice.
    return RetryableError(f"fonnte: refused: {reason}" if reason else "fonnte: refused")


def _waha_error_text(body: Any) -> str:
    if isinstance(body, dict):
        for key in ("message", "error", "exception"):
            value = body.get(key)
            if isinstance(value, dict):
                value = value.get("message")
            if isinstance(value, list):
                value = "; ".join(str(v) for v in value)
            if value:
                return provider_detail(value)
    return ""


def _waha_session_state(body: Any) -> str | None:
    if not isinstance(body, dict):
        return None
    state = body.get("status")
    if isinstance(state, str) and state.upper() in WAHA_SESSION_NOT_READY:
        return state.upper()
    # Older versions only say it in words.
    text = " ".join(str(body.get(k, "")) for k in ("error", "message")).upper()
    if "SESSION STATUS IS NOT AS EXPECTED" in text:
        # Longest first: no state's name may be mistaken for a part of another's.
        named = sorted(WAHA_SESSION_NOT_READY, key=len, reverse=True)
        return next((s for s in named if s in text), "STARTING")
    return None


def _get(mapping: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(mapping, dict):
            return None
        mapping = mapping.get(key)
    return mapping


def _id_value(candidate: Any) -> str | None:
    if isinstance(candidate, dict):
        candidate = candidate.get("_serialized") or candidate.get("id")
    if isinstance(candidate, str) and candidate:
        return candidate[:200]
    return None


def _lower_keys(body: dict) -> dict[str, Any]:
    # Fonnte has been seen answering "Status" as well as "status".
    return {str(k).lower(): v for k, v in body.items()}


__all__ = ["Adapter", "classify_fonnte_reason", "fonnte_message_id", "waha_message_id"]
