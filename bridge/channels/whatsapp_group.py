"""WhatsApp group channel: posts the complaint to an OPD's group through WAHA or Fonnte.

``settings.whatsapp_provider`` picks the provider:

- **WAHA** (self-hosted WhatsApp HTTP API): ``POST {waha_url}/api/sendText`` with JSON
  ``{"session", "chatId", "text", "linkPreview"}`` and the ``X-Api-Key`` header. The answer's
  shape depends on the WAHA engine (WEBJS, NOWEB, GOWS) and may even be empty.
- **Fonnte** (hosted gateway): ``POST {fonnte_url}/send``, form-encoded ``target`` and
  ``message``, the bare token in ``Authorization``. Fonnte answers HTTP 200 even on failure and
  puts ``{"status": false, "reason": "..."}`` in the body.

A message with a picture (the weekly report's chart):

- WAHA: ``POST /api/sendImage`` with ``file: {mimetype, filename, data}`` (base64) and the text
  as ``caption`` (waha-docs content/docs/how-to/send-messages/index.md "Send Image"; every
  engine has it, .../send-messages/features.md). A text over :data:`CAPTION_LIMIT` goes as a
  second message after the picture, which has the text's first paragraph as its caption; the
  picture's success is checkpointed, so a retry sends only what is left. Before 2026.6.1,
  WAHA Core (not Plus) refuses media with 422 "... is available only in Plus version" (waha
  src/core/exceptions.ts ``AvailableInPlusVersion``, thrown by every engine's ``sendImage``;
  waha-docs content/blog/waha-2026-6/index.md: media free in Core from 2026.6.1): the text
  then goes with a link to the picture, served by the bridge (:mod:`bridge.attachments`).
- Fonnte: the text with the link. Fonnte could fetch the file from a ``url`` itself
  (docs.fonnte.com/api-send-message-by-url-get), but only from a public address and on
  packages that allow attachments; a refused fetch would hold the text back too.
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
import urllib.parse
from typing import Any, ClassVar

from bridge.channels.base import (
    ChannelAdapter,
    CheckContext,
    Finding,
    Findings,
    OutcomeUnknownError,
    OutgoingMessage,
    PermanentError,
    ProbeFailed,
    RetryableError,
    SendResult,
    ThrottledError,
    Verdict,
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
#: Longest text sent as a picture's caption; longer ones follow the picture as a message
#: (WhatsApp's documented caption limit, developers.facebook.com/documentation/
#: business-messaging/whatsapp/messages/image-messages: "Maximum 1024 characters").
CAPTION_LIMIT = 1024
#: WAHA Core's answer to media before 2026.6.1 (waha src/core/exceptions.ts).
PLUS_ONLY = "available only in Plus version"


class Adapter(ChannelAdapter):
    """Sends to a WhatsApp group id (``…@g.us``) via the configured provider."""

    kind: ClassVar[str] = "whatsapp_group"
    order: ClassVar[int] = 10
    #: Bursts from one number are what gets it banned: one message per 5 s to a group.
    rate_limit: ClassVar[tuple[int, float]] = (1, 5.0)
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
        if message.image is not None:
            return self._send_waha_image(message)
        return self._waha_text(message, message.text)

    def _waha_text(self, message: OutgoingMessage, text: str) -> SendResult:
        return self._waha_call(
            message,
            "sendText",
            {
                "session": self.settings.waha_session,
                "chatId": message.target,
                "text": text,
                # A preview makes WAHA fetch the Wadule page first: slower, and it may fail.
                "linkPreview": False,
            },
        )

    def _send_waha_image(self, message: OutgoingMessage) -> SendResult:
        fits = len(message.text) <= CAPTION_LIMIT
        if "image_sent" not in message.progress:
            try:
                result = self._waha_call(
                    message,
                    "sendImage",
                    {
                        "session": self.settings.waha_session,
                        "chatId": message.target,
                        "file": {
                            "mimetype": message.image_type or "image/png",
                            "filename": message.image_name or "image.png",
                            "data": base64.b64encode(message.image).decode("ascii"),
                        },
                        "caption": message.text if fits else first_paragraph(message.text),
                    },
                )
            except _PlusOnly:
                log.warning(
                    "waha: this WAHA sends no pictures (Core before 2026.6.1); delivery %s goes"
                    " as text with a link to the picture",
                    message.delivery_id,
                )
                return self._waha_text(message, with_link(message))
            if fits:
                return result
            # The picture is out: a retry of this row sends only the text.
            message.progress["image_sent"] = result.external_id or True
            message.checkpoint(dict(message.progress))
        return self._waha_text(message, message.text)

    def _waha_call(self, message: OutgoingMessage, method: str, body: dict) -> SendResult:
        headers = {"Accept": "application/json"}
        if self.settings.waha_api_key:
            headers["X-Api-Key"] = self.settings.waha_api_key
        response = self.post(
            f"{self.settings.waha_url.rstrip('/')}/api/{method}", json=body, headers=headers
        )
        status = response.status_code
        body = json_body(response)
        if 200 <= status < 300:
            external_id = waha_message_id(body)
            log.info("waha accepted delivery %s (message id %s)", message.delivery_id, external_id)
            return SendResult(external_id=external_id)
        detail = _waha_error_text(body)
        if status == 422 and PLUS_ONLY in detail:
            raise _PlusOnly(detail)
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
        text = message.text if message.image is None else with_link(message)
        response = self.post(
            f"{self.settings.fonnte_url.rstrip('/')}/send",
            data={"target": message.target, "message": text},
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

    # Channel check (contract section 9)

    def check(self, context: CheckContext) -> Finding:
        """WAHA: the session is WORKING and its number is in the group. Fonnte: the device is
        connected, its package and quota last, and the group is on its list."""
        if self.provider == "fonnte":
            return self._check_fonnte(context)
        return self._check_waha(context)

    def _check_waha(self, context: CheckContext) -> Finding:
        found = Findings()
        if not self.settings.waha_url:
            return found.unusable("WAHA is not configured: set BRIDGE_WAHA_URL")
        session = self.settings.waha_session
        found.details.update(provider="waha", session=session)
        base = self.settings.waha_url.rstrip("/")
        headers = {"Accept": "application/json"}
        if self.settings.waha_api_key:
            headers["X-Api-Key"] = self.settings.waha_api_key
        name = urllib.parse.quote(session, safe="")
        try:
            response = self.probe("GET", f"{base}/api/sessions/{name}", headers=headers)
        except ProbeFailed as failed:
            return found.unusable(
                f"WAHA does not answer ({failed.reason}): check BRIDGE_WAHA_URL and that WAHA runs"
            )
        body = json_body(response)
        status = response.status_code
        if status in (401, 403):
            return found.unusable("WAHA refused the API key: check BRIDGE_WAHA_API_KEY")
        if status == 404:
            return found.unusable(
                f"WAHA has no session {session!r}: start it in WAHA or fix BRIDGE_WAHA_SESSION"
            )
        if not 200 <= status < 300 or not isinstance(body, dict):
            detail = _waha_error_text(body)
            return found.unusable(
                f"WAHA answered {status} when asked about the session"
                + (f": {detail}" if detail else "")
            )
        state = str(body.get("status") or "").upper()
        found.details["status"] = state
        if state != "WORKING":
            if state == "STARTING":
                found.warn(f"the WhatsApp session {session!r} is starting; check again shortly")
                return found.result("")
            return found.unusable(_session_advice(session, state))
        me = body.get("me") if isinstance(body.get("me"), dict) else {}
        own = {jid for jid in (_jid(me.get(k)) for k in ("id", "jid", "lid")) if jid}
        number = _jid(me.get("id"))
        if not own:
            found.warn(
                "WAHA does not say which number the session uses, so its membership of the"
                " group cannot be confirmed"
            )
            return found.result("")
        found.details["number"] = number
        members, problem = self._waha_members(base, name, context.target, headers)
        if members is None:
            verdict, text = problem
            if verdict is Verdict.UNUSABLE:
                return found.unusable(text)
            found.warn(text)
            return found.result("")
        found.details["members"] = len(members)
        role = _role_of(own, members)
        if (
            role is None
            and not me.get("lid")
            and any(len(ids) == 1 and ids[0].endswith("@lid") for ids, _ in members)
        ):
            # Newer groups list members by LID only; WAHA can tell the session's own.
            lid = self._waha_own_lid(base, name, number, headers)
            if lid is None:
                found.warn(
                    "the group lists its members by LID and WAHA would not tell this number's"
                    " LID, so its membership cannot be confirmed"
                )
                return found.result("")
            role = _role_of({lid}, members)
        shown = (number or "").split("@")[0] or "the session's number"
        if role is None:
            return found.unusable(
                f"the session's number {shown} is not in the group: add it to the group"
            )
        found.details["role"] = role
        if role == "left":
            return found.unusable(
                f"the session's number {shown} has left the group: add it to the group again"
            )
        return found.result(
            f"session {session!r} is WORKING and its number {shown} is in the group ({role})"
        )

    def _waha_members(self, base: str, session: str, group: str, headers: dict[str, str]):
        """The group's members as ``(ids, role)`` pairs, or None and the problem's verdict."""
        path = f"{base}/api/{session}/groups/{urllib.parse.quote(group, safe='@')}/participants"
        try:
            response = self.probe("GET", f"{path}/v2", headers=headers)
            body = json_body(response)
            if response.status_code == 404 and _waha_error_text(body).startswith("Cannot GET"):
                # A WAHA from before the v2 route: the engine-shaped list instead.
                response = self.probe("GET", path, headers=headers)
                body = json_body(response)
        except ProbeFailed as failed:
            return None, (
                Verdict.WARNING,
                f"WAHA did not list the group's members ({failed.reason})",
            )
        status = response.status_code
        detail = _waha_error_text(body)
        if 200 <= status < 300 and isinstance(body, list):
            return [_member(m) for m in body if isinstance(m, dict)], None
        if status == 422:
            return None, (Verdict.UNUSABLE, "the WhatsApp session stopped working during the check")
        if status == 404 or (status >= 500 and "not found" in detail.lower()):
            return None, (
                Verdict.UNUSABLE,
                "WAHA cannot find the group: the session's number is not in it, or the group id"
                " in the directory is wrong",
            )
        return None, (
            Verdict.WARNING,
            f"WAHA could not list the group's members ({status}"
            + (f": {detail})" if detail else ")"),
        )

    def _waha_own_lid(
        self, base: str, session: str, number: str | None, headers: dict[str, str]
    ) -> str | None:
        if not number:
            return None
        try:
            response = self.probe(
                "GET",
                f"{base}/api/{session}/lids/pn/{urllib.parse.quote(number, safe='@')}",
                headers=headers,
            )
        except ProbeFailed:
            return None
        body = json_body(response)
        if 200 <= response.status_code < 300 and isinstance(body, dict):
            return _jid(body.get("lid"))
        return None

    def _check_fonnte(self, context: CheckContext) -> Finding:
        found = Findings()
        found.details["provider"] = "fonnte"
        if not self.settings.fonnte_token:
            return found.unusable("Fonnte is not configured: set BRIDGE_FONNTE_TOKEN")
        base = self.settings.fonnte_url.rstrip("/")
        headers = {"Authorization": self.settings.fonnte_token, "Accept": "application/json"}
        try:
            response = self.probe("POST", f"{base}/device", headers=headers)
        except ProbeFailed as failed:
            return found.unusable(f"Fonnte does not answer ({failed.reason})")
        status = response.status_code
        if status == 429 or status >= 500:
            found.warn(f"Fonnte answered {status}, so the device could not be checked; try later")
            return found.result("")
        if status in (401, 403):
            return found.unusable("Fonnte does not accept the token: check BRIDGE_FONNTE_TOKEN")
        body = json_body(response)
        fields = _lower_keys(body) if isinstance(body, dict) else {}
        if not 200 <= status < 300 or not _fonnte_true(fields.get("status")):
            reason = provider_detail(fields.get("reason") or fields.get("detail"))
            if "token" in reason.lower() or "device" in reason.lower():
                return found.unusable(
                    "Fonnte does not accept the token: check BRIDGE_FONNTE_TOKEN"
                    + (f" (Fonnte: {reason})" if reason else "")
                )
            return found.unusable(f"Fonnte refused the device check ({status}: {reason or '-'})")
        device = provider_detail(fields.get("device"), limit=20) or "of this token"
        state = provider_detail(fields.get("device_status"), limit=20).lower()
        found.details.update(
            device=device,
            device_status=state,
            package=provider_detail(fields.get("package"), limit=40),
            quota=provider_detail(fields.get("quota"), limit=20),
            expires=provider_detail(fields.get("expired"), limit=40),
        )
        if state == "disconnect":
            # Fonnte takes messages for a disconnected device and delivers them late or never.
            found.unusable(
                f"the Fonnte device {device} is disconnected: Fonnte still accepts messages but"
                " delivers them late or never; reconnect the phone (scan the QR code in"
                " Fonnte's dashboard)"
            )
        elif state != "connect":
            found.warn(f"Fonnte reports the device {device} as {state or 'in an unknown state'}")
        quota = _whole_number(fields.get("quota"))
        if quota is not None and quota <= 0:
            found.unusable("the Fonnte quota is used up: top it up")
        elif quota is not None and quota < LOW_QUOTA:
            found.warn(f"only {quota} messages left in the Fonnte quota: top it up soon")
        expires = fonnte_expiry(fields.get("expired"))
        today = dt.datetime.now(dt.UTC).date()
        if expires is not None and expires < today:
            found.unusable(f"the Fonnte package expired on {expires:%d %B %Y}: renew it")
        elif expires is not None and (expires - today).days <= EXPIRY_WARNING_DAYS:
            found.warn(f"the Fonnte package expires on {expires:%d %B %Y}: renew it")
        if state == "connect":
            self._check_fonnte_group(found, base, headers, context.target)
        return found.result(f"the Fonnte device {device} is connected and the group is on its list")

    def _check_fonnte_group(
        self, found: Findings, base: str, headers: dict[str, str], group: str
    ) -> None:
        # Only the list Fonnte last fetched: ``fetch-group`` may get the number banned if
        # called often (docs.fonnte.com/api-update-whatsapp-group-list), so it is left to people.
        refresh = "refresh the list in Fonnte (update group list) if the number joined recently"
        try:
            response = self.probe("POST", f"{base}/get-whatsapp-group", headers=headers)
        except ProbeFailed as failed:
            found.warn(f"Fonnte did not list the device's groups ({failed.reason})")
            return
        body = json_body(response)
        fields = _lower_keys(body) if isinstance(body, dict) else {}
        if not 200 <= response.status_code < 300:
            found.warn(f"Fonnte did not list the device's groups ({response.status_code})")
            return
        if not _fonnte_true(fields.get("status")):
            detail = provider_detail(fields.get("detail") or fields.get("reason"))
            found.warn(
                f"Fonnte has no group list for the device ({detail or 'no detail'}): {refresh}"
            )
            return
        groups = fields.get("data") if isinstance(fields.get("data"), list) else []
        ids = {str(g.get("id")) for g in groups if isinstance(g, dict)}
        if group not in ids:
            found.warn(
                "the group is not on the device's group list as Fonnte last fetched it: add the"
                f" number to the group, or {refresh}"
            )


class _PlusOnly(PermanentError):
    """WAHA Core before 2026.6.1 refused to send media (nothing was sent)."""


def first_paragraph(text: str) -> str:
    """The text up to its first blank line, within :data:`CAPTION_LIMIT` (a picture's caption
    when the whole text follows as a message)."""
    return text.split("\n\n", 1)[0][:CAPTION_LIMIT]


def with_link(message: OutgoingMessage) -> str:
    """The text followed by the picture's link, for a provider that cannot send the picture."""
    return f"{message.text}\n\nGrafik: {message.image_url}" if message.image_url else message.text


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


#: Below this many messages left, the check warns.
LOW_QUOTA = 100
#: A package, session or token ending within this many days is worth a warning.
EXPIRY_WARNING_DAYS = 7

_SESSION_ADVICE = {
    "SCAN_QR_CODE": "is waiting for its QR code to be scanned: link the phone again in WAHA's"
    " dashboard",
    "FAILED": "has failed: restart it in WAHA; if that does not help, log out and scan the QR"
    " code again",
    "STOPPED": "is stopped: start it in WAHA",
}


def _session_advice(session: str, state: str) -> str:
    advice = _SESSION_ADVICE.get(state, f"is {state or 'in an unknown state'}, not WORKING")
    return f"the WhatsApp session {session!r} {advice}"


def _jid(value: Any) -> str | None:
    """A WhatsApp id in one spelling: ``user@c.us`` or ``user@lid``, without a device suffix.

    WAHA writes the same number as ``…@c.us``, ``…@s.whatsapp.net`` or ``…:12@s.whatsapp.net``,
    and WEBJS as a Wid object (``{"_serialized": …}``).
    """
    if isinstance(value, dict):
        value = value.get("_serialized")
    if not isinstance(value, str) or "@" not in value:
        return None
    user, _, server = value.strip().lower().partition("@")
    user = user.split(":")[0]
    if server == "s.whatsapp.net":
        server = "c.us"
    return f"{user}@{server}" if user else None


def _member(item: dict) -> tuple[tuple[str, ...], str]:
    """A participant's ids (``id`` first, then ``pn``) and role, from the v2 list or an engine's
    v1 list (WEBJS ``isAdmin``/``isSuperAdmin``, NOWEB ``admin``)."""
    ids = tuple(jid for jid in (_jid(item.get("id")), _jid(item.get("pn"))) if jid)
    role = item.get("role")
    if not isinstance(role, str):
        if item.get("isSuperAdmin") or item.get("admin") == "superadmin":
            role = "superadmin"
        elif item.get("isAdmin") or item.get("admin") == "admin":
            role = "admin"
        else:
            role = "participant"
    return ids or ("",), role


def _role_of(own: set[str], members: list[tuple[tuple[str, ...], str]]) -> str | None:
    for ids, role in members:
        if own.intersection(ids):
            return role
    return None


def _fonnte_true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _whole_number(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def fonnte_expiry(value: Any) -> dt.date | None:
    """The day a Fonnte package ends: ``/device`` says ``"18 November 2029"``, ``/get-devices``
    a Unix timestamp. None when it is neither."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return dt.datetime.fromtimestamp(value, dt.UTC).date()
    if isinstance(value, str):
        try:
            return dt.datetime.strptime(" ".join(value.split()), "%d %B %Y").date()
        except ValueError:
            return None
    return None


__all__ = [
    "CAPTION_LIMIT",
    "Adapter",
    "classify_fonnte_reason",
    "first_paragraph",
    "fonnte_expiry",
    "fonnte_message_id",
    "waha_message_id",
    "with_link",
]
