"""The X channel check against a fake X API v2."""

from __future__ import annotations

import pytest

from bridge.channels.base import CheckContext, Verdict
from bridge.channels.x import Adapter
from bridge.settings import Settings
from tests.fakes.server import free_port
from tests.fakes.x_api import (
    X_CLIENT_ID,
    X_CONSUMER_KEY,
    X_CONSUMER_SECRET,
    X_REFRESH_TOKEN,
    X_SECRET,
    X_TOKEN,
    FakeX,
)


@pytest.fixture
def x_api():
    with FakeX() as fake:
        yield fake


def adapter_for(url: str) -> Adapter:
    return Adapter(
        Settings(
            sandbox=False,
            x_api_url=url,
            x_consumer_key=X_CONSUMER_KEY,
            x_consumer_secret=X_CONSUMER_SECRET,
            x_client_id=X_CLIENT_ID,
        )
    )


def context(
    target: str = "dpupr_pacitan",
    token: str | None = X_TOKEN,
    secret: str | None = X_SECRET,
    auth: str = "oauth1",
) -> CheckContext:
    return CheckContext(
        kind="x",
        target=target,
        token=token,
        secret=secret,
        auth=auth,
        token_env="X_TOKEN_DPUPR",
        secret_env="X_SECRET_DPUPR" if auth == "oauth1" else None,
        opd_slug="dpupr",
    )


def test_credentials_of_the_named_account_are_ok(x_api):
    finding = adapter_for(x_api.url).check(context())
    assert finding.verdict is Verdict.OK
    assert finding.reason == "the credentials act for @dpupr_pacitan"
    assert finding.details == {"username": "@dpupr_pacitan", "account_id": "1500000000000000101"}
    request = x_api.last
    assert (request.method, request.path) == ("GET", "/2/users/me")
    # Signed as a post would be (OAuth 1.0a; the fake verifies the signature).
    assert request.headers["Authorization"].startswith("OAuth ")
    assert x_api.tweets == []


def test_oauth2_credentials_are_checked_with_a_refreshed_token(app, x_api):
    with app.app_context():
        finding = adapter_for(x_api.url).check(
            context(token=X_REFRESH_TOKEN, secret=None, auth="oauth2")
        )
    assert finding.verdict is Verdict.OK
    # The refresh token was spent once and its successor kept, as a post would do.
    assert [spent for spent, _issued in x_api.rotations] == [X_REFRESH_TOKEN]
    assert x_api.last.headers["Authorization"].startswith("Bearer x-access-")


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
    assert "revoked-token" not in finding.reason
    finding = adapter_for(x_api.url).check(context(secret="wrong-secret"))
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
