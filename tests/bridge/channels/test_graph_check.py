"""The Facebook Page and Instagram channel checks against a fake Graph API."""

from __future__ import annotations

import time

import pytest

from bridge.channels.base import CheckContext, Verdict
from bridge.channels.facebook_page import Adapter as FacebookAdapter
from bridge.channels.instagram import Adapter as InstagramAdapter
from bridge.settings import Settings
from tests.fakes.graph import FB_TOKEN, IG_TOKEN, FakeGraph

PAGE = "100000000000101"
IG_USER = "17841400000000101"
DAY = 86400
FB_SCOPES = ["pages_manage_posts", "pages_read_engagement", "pages_show_list"]
IG_SCOPES = ["instagram_basic", "instagram_content_publish", "pages_show_list"]


@pytest.fixture
def graph():
    with FakeGraph() as fake:
        fake.pages[PAGE] = "DPUPR Kabupaten Pacitan"
        fake.ig_users[IG_USER] = "dpupr.pacitan"
        yield fake


def facebook(url: str) -> FacebookAdapter:
    return FacebookAdapter(Settings(sandbox=False, graph_url=url))


def instagram(url: str) -> InstagramAdapter:
    return InstagramAdapter(Settings(sandbox=False, graph_url=url))


def page_context(token: str | None = FB_TOKEN) -> CheckContext:
    return CheckContext(
        kind="facebook_page", target=PAGE, token=token, token_env="FB_TOKEN_DPUPR", opd_slug="dpupr"
    )


def ig_context(token: str | None = IG_TOKEN) -> CheckContext:
    return CheckContext(
        kind="instagram", target=IG_USER, token=token, token_env="IG_TOKEN_DPUPR", opd_slug="dpupr"
    )


def test_page_token_that_meta_describes_is_ok(graph):
    graph.allow_debug(FB_TOKEN, scopes=FB_SCOPES, profile_id=PAGE)
    finding = facebook(graph.url).check(page_context())

    assert finding.verdict is Verdict.OK, finding.reason
    assert finding.reason == (
        "the token reaches Page DPUPR Kabupaten Pacitan, does not expire soon and may publish"
    )
    details = dict(finding.details)
    assert details.pop("data_access_expires_at")  # an ISO date, 60 days ahead
    assert details == {
        "token_type": "PAGE",
        "expires_at": "never",
        "scopes": FB_SCOPES,
        "name": "DPUPR Kabupaten Pacitan",
    }
    first, second = graph.requests
    assert (first.method, first.path, first.query) == (
        "GET",
        "/v24.0/debug_token",
        {"input_token": [FB_TOKEN]},
    )
    assert first.headers["Authorization"] == f"Bearer {FB_TOKEN}"
    assert (second.path, second.query) == (f"/v24.0/{PAGE}", {"fields": ["id,name"]})
    assert graph.posts == []


def test_page_token_meta_will_not_describe_is_a_warning_naming_the_limit(graph):
    # Meta answers debug_token only for an app token or an app developer's token.
    finding = facebook(graph.url).check(page_context())
    assert finding.verdict is Verdict.WARNING
    assert finding.reason == (
        "Meta would not let the token inspect itself (debug_token needs an app token), so its"
        " expiry and publishing permission are unknown; see Meta's Access Token Debugger"
    )
    assert finding.details["token_inspection"].startswith("refused: #100")


def test_expired_token_is_unusable(graph):
    graph.expire_token(FB_TOKEN)
    finding = facebook(graph.url).check(page_context())
    assert finding.verdict is Verdict.UNUSABLE
    assert finding.reason.startswith(
        "Meta rejects the token (#190/463 Error validating access token: Session has expired"
    )
    assert finding.reason.endswith("make a new token and put it in FB_TOKEN_DPUPR")
    assert FB_TOKEN not in finding.reason


def test_token_expired_by_debug_token_dates_is_unusable(graph):
    graph.allow_debug(FB_TOKEN, scopes=FB_SCOPES, expires_at=int(time.time()) - DAY)
    finding = facebook(graph.url).check(page_context())
    assert finding.verdict is Verdict.UNUSABLE
    assert finding.reason.startswith("the token expired on ")


def test_token_expiring_within_a_week_is_a_warning(graph):
    graph.allow_debug(FB_TOKEN, scopes=FB_SCOPES, expires_at=int(time.time()) + 3 * DAY)
    finding = facebook(graph.url).check(page_context())
    assert finding.verdict is Verdict.WARNING
    assert finding.reason.startswith("the token expires on ")
    assert finding.reason.endswith("make a new token and put it in FB_TOKEN_DPUPR")


def test_data_access_ending_soon_is_a_warning(graph):
    graph.allow_debug(FB_TOKEN, scopes=FB_SCOPES, data_access_expires_at=int(time.time()) + 2 * DAY)
    finding = facebook(graph.url).check(page_context())
    assert finding.verdict is Verdict.WARNING
    assert finding.reason.startswith("Meta's data access for it ends on ")
    assert "a Page admin must log in to the app again" in finding.reason


def test_missing_publishing_permission_is_unusable(graph):
    graph.allow_debug(FB_TOKEN, scopes=["pages_read_engagement", "pages_show_list"])
    finding = facebook(graph.url).check(page_context())
    assert finding.verdict is Verdict.UNUSABLE
    assert finding.reason == (
        "the token lacks the pages_manage_posts permission: grant it, then make a new token and"
        " put it in FB_TOKEN_DPUPR"
    )


def test_missing_feed_permission_is_a_warning(graph):
    graph.allow_debug(FB_TOKEN, scopes=["pages_manage_posts"])
    finding = facebook(graph.url).check(page_context())
    assert finding.verdict is Verdict.WARNING
    assert finding.reason == (
        "the token lacks the pages_read_engagement permission the bridge also uses"
    )


def test_permission_granted_for_other_pages_only_is_unusable(graph):
    graph.allow_debug(
        FB_TOKEN,
        scopes=FB_SCOPES,
        granular_scopes=[{"scope": "pages_manage_posts", "target_ids": ["100000000000999"]}],
    )
    finding = facebook(graph.url).check(page_context())
    assert finding.verdict is Verdict.UNUSABLE
    assert "covers other objects, not Page 100000000000101" in finding.reason


def test_token_of_another_page_is_unusable(graph):
    graph.allow_debug(FB_TOKEN, scopes=FB_SCOPES, profile_id="100000000000999")
    finding = facebook(graph.url).check(page_context())
    assert finding.verdict is Verdict.UNUSABLE
    assert finding.reason == "the token belongs to Page 100000000000999, not 100000000000101"


def test_token_that_cannot_see_the_page_is_unusable(graph):
    graph.tokens[FB_TOKEN] = {"100000000000999"}
    finding = facebook(graph.url).check(page_context())
    assert finding.verdict is Verdict.UNUSABLE
    assert finding.reason.startswith(
        "the token cannot reach Page 100000000000101: it is for another Page, lacks a"
        " permission, or the id is wrong (#100/33"
    )


def test_throttled_meta_is_a_warning(graph):
    graph.allow_debug(FB_TOKEN, scopes=FB_SCOPES)
    graph.throttle_next(4, times=2)
    finding = facebook(graph.url).check(page_context())
    assert finding.verdict is Verdict.WARNING
    assert finding.reason.startswith("Meta is busy (#4")


# Instagram


def test_instagram_token_that_may_publish_is_ok(graph):
    graph.allow_debug(IG_TOKEN, scopes=IG_SCOPES)
    finding = instagram(graph.url).check(ig_context())
    assert finding.verdict is Verdict.OK, finding.reason
    assert finding.reason == (
        "the token reaches Instagram account dpupr.pacitan, does not expire soon and may publish"
    )
    assert finding.details["quota"] == "0/50 in 24 hours"
    assert [r.path for r in graph.requests] == [
        "/v24.0/debug_token",
        f"/v24.0/{IG_USER}",
        f"/v24.0/{IG_USER}/content_publishing_limit",
    ]
    assert graph.containers == {} and graph.media == []


def test_instagram_without_publish_permission_is_unusable(graph):
    graph.allow_debug(IG_TOKEN, scopes=["instagram_basic", "pages_show_list"])
    finding = instagram(graph.url).check(ig_context())
    assert finding.verdict is Verdict.UNUSABLE
    assert finding.reason.startswith("the token lacks the instagram_content_publish permission")


def test_instagram_used_up_quota_is_a_warning(graph):
    graph.allow_debug(IG_TOKEN, scopes=IG_SCOPES)
    graph.fill_quota(IG_USER)
    finding = instagram(graph.url).check(ig_context())
    assert finding.verdict is Verdict.WARNING
    assert finding.reason.startswith("the publishing quota is used up (50/50 in 24 hours)")


def test_instagram_token_meta_will_not_describe_says_expiry_is_unknown(graph):
    finding = instagram(graph.url).check(ig_context())
    assert finding.verdict is Verdict.WARNING
    assert "so its expiry is unknown" in finding.reason


def test_no_token_is_unusable(graph):
    finding = facebook(graph.url).check(page_context(token=None))
    assert finding.verdict is Verdict.UNUSABLE
    assert graph.requests == []
