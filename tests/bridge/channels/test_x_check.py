"""The X channel check against a fake X API v2."""

from __future__ import annotations

import pytest

from bridge.channels.base import CheckContext, Verdict
from bridge.channels.x import Adapter
from bridge.settings import Settings
from tests.fakes.server import free_port
from tests.fakes.x_api import X_TOKEN, FakeX


@pytest.fixture
def x_api():
    with FakeX() as fake:
        yield fake


def adapter_for(url: str) -> Adapter:
    return Adapter(Settings(sandbox=False, x_api_url=url))


def context(target: str = "dpupr_pacitan", token: str | None = X_TOKEN) -> CheckContext:
    return CheckContext(
        kind="x", target=target, token=token, token_env="X_TOKEN_DPUPR", opd_slug="dpupr"
    )


def test_credentials_of_the_named_account_are_ok(x_api):
    finding = adapter_for(x_api.url).check(context())
    assert finding.verdict is Verdict.OK
    assert finding.reason == "the credentials act for @dpupr_pacitan"
    assert finding.details == {"username": "@dpupr_pacitan", "account_id": "1500000000000000101"}
    request = x_api.last
    assert (request.method, request.path) == ("GET", "/2/users/me")
    assert request.headers["Authorization"] == f"Bearer {X_TOKEN}"
    assert x_api.tweets == []


def test_target_is_compared_without_at_sign_or_case(x_api):
    assert adapter_for(x_api.url).check(context("@DPUPR_Pacitan")).verdict is Verdict.OK


def test_credentials_of_another_account_are_unusable(x_api):
    finding = adapter_for(x_api.url).check(context("wisata_pacitan"))
    assert finding.verdict is Verdict.UNUSABLE
    assert finding.reason == (
        "the credentials act for @dpupr_pacitan, not @wisata_pacitan: use @wisata_pacitan's own"
        " tokens, or fix the target in the directory"
    )


def test_rejected_credentials_are_unusable(x_api):
    finding = adapter_for(x_api.url).check(context(token="revoked-token"))
    assert finding.verdict is Verdict.UNUSABLE
    assert (
        finding.reason == "X rejects the credentials: make new ones and put them in X_TOKEN_DPUPR"
    )
    assert "revoked-token" not in finding.reason


def test_forbidden_app_is_unusable_with_x_s_words(x_api):
    x_api.fail_next(
        1,
        status=403,
        body={
            "title": "Client Forbidden",
            "type": "https://api.twitter.com/2/problems/client-forbidden",
            "detail": "This request must be made using an approved developer account that is"
            " enrolled in the requested endpoint.",
            "reason": "client-not-enrolled",
        },
    )
    finding = adapter_for(x_api.url).check(context())
    assert finding.verdict is Verdict.UNUSABLE
    assert finding.reason.startswith("X refuses the credentials (This request must be made")


@pytest.mark.parametrize("status", [429, 503])
def test_rate_limit_or_outage_is_a_warning(x_api, status):
    x_api.fail_next(1, status=status, body={"title": "x", "detail": "x"})
    finding = adapter_for(x_api.url).check(context())
    assert finding.verdict is Verdict.WARNING
    assert finding.reason == f"X answered {status}, so the credentials could not be checked"


def test_unreachable_api_is_unusable():
    finding = adapter_for(f"http://127.0.0.1:{free_port()}").check(context())
    assert finding.verdict is Verdict.UNUSABLE
    assert finding.reason == "X does not answer (the connection was refused)"


def test_no_token_is_unusable(x_api):
    finding = adapter_for(x_api.url).check(context(token=None))
    assert finding.verdict is Verdict.UNUSABLE
    assert x_api.requests == []
