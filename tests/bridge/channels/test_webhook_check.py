"""The webhook channel check against a signature-checking receiver."""

from __future__ import annotations

import datetime as dt

import pytest

from bridge.channels.base import CheckContext, Verdict
from bridge.channels.webhook import PING_TYPE, Adapter
from bridge.settings import Settings
from tests.fakes.server import free_port
from tests.fakes.webhook_receiver import DEFAULT_SECRET, FakeWebhookReceiver


def adapter_for(allow_private: bool = True) -> Adapter:
    return Adapter(Settings(sandbox=False, allow_private_webhooks=allow_private))


def context(target: str, secret: str | None = DEFAULT_SECRET) -> CheckContext:
    return CheckContext(
        kind="webhook",
        target=target,
        secret=secret,
        secret_env="HOOK_SECRET_DPUPR",
        opd_slug="dpupr",
        channel_id=3,
    )


def test_receiver_that_verifies_the_signed_ping_is_ok(webhook_receiver: FakeWebhookReceiver):
    finding = adapter_for().check(context(webhook_receiver.url_for()))
    assert finding.verdict is Verdict.OK
    assert finding.reason == "the endpoint accepted a signed ping (200)"
    assert finding.details == {"status": 200}
    (ping,) = webhook_receiver.deliveries
    assert ping.verified, ping.error
    assert ping.webhook_id.startswith("ping_") and len(ping.webhook_id) == 21
    assert ping.payload["type"] == PING_TYPE == "bridge.ping"
    assert ping.payload["data"] == {"opd": "dpupr", "target": webhook_receiver.url_for()}
    sent_at = dt.datetime.fromisoformat(ping.payload["timestamp"])
    assert abs((dt.datetime.now(dt.UTC) - sent_at).total_seconds()) < 5


def test_each_ping_has_its_own_webhook_id(webhook_receiver: FakeWebhookReceiver):
    adapter_for().check(context(webhook_receiver.url_for()))
    adapter_for().check(context(webhook_receiver.url_for()))
    first, second = webhook_receiver.webhook_ids()
    assert first != second


def test_receiver_with_another_secret_is_unusable(webhook_receiver: FakeWebhookReceiver):
    other = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo="
    finding = adapter_for().check(context(webhook_receiver.url_for(), secret=other))
    assert finding.verdict is Verdict.UNUSABLE
    assert finding.reason == (
        "the endpoint rejects our signature (401): the secret in HOOK_SECRET_DPUPR differs from"
        " the receiver's"
    )


@pytest.mark.parametrize("status", [404, 405, 410])
def test_wrong_url_is_unusable(webhook_receiver, status):
    webhook_receiver.fail_next(1, status=status)
    finding = adapter_for().check(context(webhook_receiver.url_for()))
    assert finding.verdict is Verdict.UNUSABLE
    assert finding.reason == f"the endpoint refuses POSTs here ({status}): check the URL"


@pytest.mark.parametrize("status", [500, 502, 408])
def test_server_errors_are_unusable(webhook_receiver, status):
    webhook_receiver.fail_next(1, status=status)
    finding = adapter_for().check(context(webhook_receiver.url_for()))
    assert finding.verdict is Verdict.UNUSABLE
    assert finding.reason == f"the endpoint answers with an error ({status})"


def test_redirect_is_unusable(webhook_receiver):
    webhook_receiver.fail_next(1, status=301, headers={"Location": "https://example.org/"})
    finding = adapter_for().check(context(webhook_receiver.url_for()))
    assert finding.verdict is Verdict.UNUSABLE
    assert "redirects (301)" in finding.reason


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (422, "the endpoint answered 422 to a ping; it may take complaint events only"),
        (400, "the endpoint answered 400 to a ping; it may take complaint events only"),
        (429, "the endpoint answers, but asks us to slow down (429)"),
    ],
)
def test_other_client_errors_answer_with_a_warning(webhook_receiver, status, reason):
    webhook_receiver.fail_next(1, status=status)
    finding = adapter_for().check(context(webhook_receiver.url_for()))
    assert finding.verdict is Verdict.WARNING
    assert finding.reason == reason


def test_refused_connection_is_unusable():
    finding = adapter_for().check(context(f"http://127.0.0.1:{free_port()}/hook"))
    assert finding.verdict is Verdict.UNUSABLE
    assert finding.reason == "the endpoint does not answer (connection refused)"


def test_private_target_is_refused_before_any_request(webhook_receiver):
    finding = adapter_for(allow_private=False).check(context(webhook_receiver.url_for()))
    assert finding.verdict is Verdict.UNUSABLE
    assert finding.reason == "target resolves to non-public address 127.0.0.1"
    assert webhook_receiver.requests == []


def test_unresolvable_host_is_unusable():
    finding = adapter_for(allow_private=False).check(context("https://nonexistent.invalid/hook"))
    assert finding.verdict is Verdict.UNUSABLE
    assert finding.reason == "the target's host name does not resolve"


@pytest.mark.parametrize(
    ("secret", "reason"),
    [
        (None, "webhook secret not configured (HOOK_SECRET_DPUPR)"),
        ("whsec_not base64!", "secret is not whsec_ base64 (HOOK_SECRET_DPUPR)"),
    ],
)
def test_missing_or_bad_secret_is_unusable(webhook_receiver, secret, reason):
    finding = adapter_for().check(context(webhook_receiver.url_for(), secret=secret))
    assert finding.verdict is Verdict.UNUSABLE
    assert finding.reason == reason
    assert webhook_receiver.requests == []
