"""The WhatsApp group channel check against fake WAHA and Fonnte servers."""

from __future__ import annotations

import datetime as dt

import pytest

from bridge.channels.base import CheckContext, Verdict
from bridge.channels.whatsapp_group import Adapter, fonnte_expiry
from bridge.settings import Settings
from tests.fakes.fonnte import DEFAULT_TOKEN, FakeFonnte
from tests.fakes.server import free_port
from tests.fakes.waha import DEFAULT_API_KEY, FakeWaha

GROUP = "120363000000000101@g.us"
CONTEXT = CheckContext(kind="whatsapp_group", target=GROUP, opd_slug="dpupr", channel_id=1)
OTHERS = [
    {"id": "6281200000101@c.us", "role": "admin"},
    {"id": "6281200000102@c.us", "role": "participant"},
]


def waha_adapter(url: str | None, api_key: str | None = DEFAULT_API_KEY) -> Adapter:
    return Adapter(
        Settings(sandbox=False, whatsapp_provider="waha", waha_url=url, waha_api_key=api_key)
    )


def fonnte_adapter(url: str, token: str | None = DEFAULT_TOKEN) -> Adapter:
    return Adapter(
        Settings(sandbox=False, whatsapp_provider="fonnte", fonnte_url=url, fonnte_token=token)
    )


# WAHA


def test_waha_working_session_in_the_group_is_ok(fake_waha: FakeWaha):
    fake_waha.add_group(GROUP, OTHERS)
    finding = waha_adapter(fake_waha.url).check(CONTEXT)

    assert finding.verdict is Verdict.OK
    assert finding.reason == (
        "session 'default' is WORKING and its number 6281200000000 is in the group (participant)"
    )
    assert finding.details == {
        "provider": "waha",
        "session": "default",
        "status": "WORKING",
        "number": "6281200000000@c.us",
        "members": 3,
        "role": "participant",
    }
    paths = [(r.method, r.path, r.headers.get("X-Api-Key")) for r in fake_waha.requests]
    assert paths == [
        ("GET", "/api/sessions/default", DEFAULT_API_KEY),
        ("GET", f"/api/default/groups/{GROUP}/participants/v2", DEFAULT_API_KEY),
    ]
    # Nothing was sent to the group.
    assert fake_waha.messages == []


def test_member_numbers_never_reach_the_finding(fake_waha: FakeWaha):
    fake_waha.add_group(GROUP, OTHERS)
    finding = waha_adapter(fake_waha.url).check(CONTEXT)
    text = finding.reason + repr(finding.details)
    assert "6281200000101" not in text and "6281200000102" not in text


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (
            "SCAN_QR_CODE",
            "the WhatsApp session 'default' is waiting for its QR code to be scanned: link the"
            " phone again in WAHA's dashboard",
        ),
        (
            "FAILED",
            "the WhatsApp session 'default' has failed: restart it in WAHA; if that does not"
            " help, log out and scan the QR code again",
        ),
        ("STOPPED", "the WhatsApp session 'default' is stopped: start it in WAHA"),
    ],
)
def test_waha_session_not_working_is_unusable(fake_waha: FakeWaha, status, reason):
    fake_waha.add_group(GROUP, OTHERS)
    fake_waha.set_session_status(status)
    finding = waha_adapter(fake_waha.url).check(CONTEXT)
    assert finding.verdict is Verdict.UNUSABLE
    assert finding.reason == reason
    assert finding.details["status"] == status
    # The group is not asked about: WAHA refuses every group call until the session works.
    assert len(fake_waha.requests) == 1


def test_waha_starting_session_is_a_warning(fake_waha: FakeWaha):
    fake_waha.set_session_status("STARTING")
    finding = waha_adapter(fake_waha.url).check(CONTEXT)
    assert finding.verdict is Verdict.WARNING
    assert "starting" in finding.reason


def test_number_not_in_the_group_is_unusable(fake_waha: FakeWaha):
    fake_waha.add_group(GROUP, OTHERS, with_me=False)
    finding = waha_adapter(fake_waha.url).check(CONTEXT)
    assert finding.verdict is Verdict.UNUSABLE
    assert finding.reason == (
        "the session's number 6281200000000 is not in the group: add it to the group"
    )


def test_number_that_left_the_group_is_unusable(fake_waha: FakeWaha):
    fake_waha.add_group(GROUP, [*OTHERS, {"id": fake_waha.me, "role": "left"}], with_me=False)
    finding = waha_adapter(fake_waha.url).check(CONTEXT)
    assert finding.verdict is Verdict.UNUSABLE
    assert "has left the group" in finding.reason


def test_group_waha_cannot_find_is_unusable(fake_waha: FakeWaha):
    # WAHA answers 500 with the engine's "Group with id ... not found".
    finding = waha_adapter(fake_waha.url).check(CONTEXT)
    assert finding.verdict is Verdict.UNUSABLE
    assert finding.reason.startswith("WAHA cannot find the group")
    assert fake_waha.requests[-1].outcome == 500


def test_own_number_listed_by_lid_is_found(fake_waha: FakeWaha):
    # Newer WAHA: the session reports its LID and the group lists members by LID.
    fake_waha.me_lid = "139884413590000@lid"
    members = [{"id": "139884413591234@lid", "role": "admin"}]
    fake_waha.add_group(GROUP, [*members, {"id": fake_waha.me_lid, "role": "admin"}], with_me=False)
    finding = waha_adapter(fake_waha.url).check(CONTEXT)
    assert finding.verdict is Verdict.OK, finding.reason
    assert finding.details["role"] == "admin"


def test_own_lid_is_asked_for_when_the_session_does_not_say(fake_waha: FakeWaha):
    lid = "139884413590000@lid"
    fake_waha.lids[lid] = fake_waha.me
    fake_waha.add_group(GROUP, [{"id": lid, "role": "participant"}], with_me=False)
    finding = waha_adapter(fake_waha.url).check(CONTEXT)
    assert finding.verdict is Verdict.OK, finding.reason
    assert fake_waha.requests[-1].path == f"/api/default/lids/pn/{fake_waha.me}"


def test_lid_only_group_without_a_known_lid_is_a_warning(fake_waha: FakeWaha):
    fake_waha.add_group(GROUP, [{"id": "139884413591234@lid", "role": "admin"}], with_me=False)
    finding = waha_adapter(fake_waha.url).check(CONTEXT)
    assert finding.verdict is Verdict.WARNING
    assert "cannot be confirmed" in finding.reason


def test_member_shown_with_its_phone_number_matches(fake_waha: FakeWaha):
    members = [{"id": "139884413590000@lid", "pn": fake_waha.me, "role": "superadmin"}]
    fake_waha.add_group(GROUP, members, with_me=False)
    finding = waha_adapter(fake_waha.url).check(CONTEXT)
    assert finding.verdict is Verdict.OK and finding.details["role"] == "superadmin"


@pytest.mark.parametrize("engine", ["WEBJS", "NOWEB"])
def test_waha_without_the_v2_route_reads_the_engine_list(engine):
    with FakeWaha(engine=engine) as waha:
        waha.participants_v2 = False
        waha.add_group(GROUP, OTHERS)
        finding = waha_adapter(waha.url).check(CONTEXT)
        paths = [r.path for r in waha.requests]
    assert finding.verdict is Verdict.OK, finding.reason
    assert paths[-2:] == [
        f"/api/default/groups/{GROUP}/participants/v2",
        f"/api/default/groups/{GROUP}/participants",
    ]


def test_wrong_api_key_is_unusable(fake_waha: FakeWaha):
    finding = waha_adapter(fake_waha.url, api_key="wrong").check(CONTEXT)
    assert finding.verdict is Verdict.UNUSABLE
    assert finding.reason == "WAHA refused the API key: check BRIDGE_WAHA_API_KEY"


def test_unknown_session_is_unusable(fake_waha: FakeWaha):
    fake_waha.sessions = {"other": "WORKING"}
    finding = waha_adapter(fake_waha.url).check(CONTEXT)
    assert finding.verdict is Verdict.UNUSABLE
    assert "no session 'default'" in finding.reason


def test_waha_down_is_unusable():
    finding = waha_adapter(f"http://127.0.0.1:{free_port()}").check(CONTEXT)
    assert finding.verdict is Verdict.UNUSABLE
    assert finding.reason == (
        "WAHA does not answer (the connection was refused): check BRIDGE_WAHA_URL and that WAHA"
        " runs"
    )


def test_waha_not_configured_is_unusable():
    finding = waha_adapter(None).check(CONTEXT)
    assert finding.verdict is Verdict.UNUSABLE
    assert finding.reason == "WAHA is not configured: set BRIDGE_WAHA_URL"


def test_waha_that_hangs_is_given_up_on_quickly(fake_waha: FakeWaha):
    fake_waha.hang_next(1, seconds=5)
    adapter = waha_adapter(fake_waha.url)
    adapter.check_timeout = (1.0, 0.3)
    finding = adapter.check(CONTEXT)
    assert finding.verdict is Verdict.UNUSABLE
    assert "no answer within 0.3 s" in finding.reason


# Fonnte


def test_fonnte_connected_device_with_the_group_is_ok(fake_fonnte: FakeFonnte):
    fake_fonnte.groups = [{"id": GROUP, "name": "DPUPR"}, {"id": "1203@g.us", "name": "x"}]
    finding = fonnte_adapter(fake_fonnte.url).check(CONTEXT)

    assert finding.verdict is Verdict.OK, finding.reason
    assert (
        finding.reason
        == "the Fonnte device 6282227097005 is connected and the group is on its list"
    )
    assert finding.details == {
        "provider": "fonnte",
        "device": "6282227097005",
        "device_status": "connect",
        "package": "Reguler",
        "quota": "1000",
        "expires": "18 November 2029",
    }
    sent = [(r.method, r.path, r.headers.get("Authorization")) for r in fake_fonnte.requests]
    assert sent == [
        ("POST", "/device", DEFAULT_TOKEN),
        ("POST", "/get-whatsapp-group", DEFAULT_TOKEN),
    ]
    # The group list is only read: fetch-group (which may get the number banned) never runs.
    assert fake_fonnte.messages == []


def test_fonnte_disconnected_device_is_unusable_and_shows_its_state(fake_fonnte: FakeFonnte):
    fake_fonnte.groups = [{"id": GROUP, "name": "DPUPR"}]
    fake_fonnte.device_connected = False
    finding = fonnte_adapter(fake_fonnte.url).check(CONTEXT)
    assert finding.verdict is Verdict.UNUSABLE
    assert finding.reason.startswith(
        "the Fonnte device 6282227097005 is disconnected: Fonnte still accepts messages but"
        " delivers them late or never"
    )
    assert finding.details["device_status"] == "disconnect"


def test_fonnte_group_missing_from_the_list_is_a_warning(fake_fonnte: FakeFonnte):
    fake_fonnte.groups = [{"id": "120363000000000999@g.us", "name": "other"}]
    finding = fonnte_adapter(fake_fonnte.url).check(CONTEXT)
    assert finding.verdict is Verdict.WARNING
    assert finding.reason.startswith(
        "the group is not on the device's group list as Fonnte last fetched it"
    )


def test_fonnte_without_a_group_list_is_a_warning(fake_fonnte: FakeFonnte):
    finding = fonnte_adapter(fake_fonnte.url).check(CONTEXT)
    assert finding.verdict is Verdict.WARNING
    assert "you have no whatsapp group yet" in finding.reason


def test_fonnte_wrong_token_is_unusable(fake_fonnte: FakeFonnte):
    finding = fonnte_adapter(fake_fonnte.url, token="wrong-token").check(CONTEXT)
    assert finding.verdict is Verdict.UNUSABLE
    assert finding.reason == (
        "Fonnte does not accept the token: check BRIDGE_FONNTE_TOKEN (Fonnte: token invalid)"
    )
    assert "wrong-token" not in finding.reason


def test_fonnte_quota_used_up_is_unusable_and_low_quota_a_warning():
    with FakeFonnte(quota=0) as fonnte:
        fonnte.groups = [{"id": GROUP, "name": "DPUPR"}]
        empty = fonnte_adapter(fonnte.url).check(CONTEXT)
        fonnte.quota = 12
        low = fonnte_adapter(fonnte.url).check(CONTEXT)
    assert empty.verdict is Verdict.UNUSABLE
    assert empty.reason == "the Fonnte quota is used up: top it up"
    assert low.verdict is Verdict.WARNING
    assert low.reason == "only 12 messages left in the Fonnte quota: top it up soon"


def test_fonnte_package_expired_or_ending_soon(fake_fonnte: FakeFonnte):
    fake_fonnte.groups = [{"id": GROUP, "name": "DPUPR"}]
    today = dt.datetime.now(dt.UTC).date()
    fake_fonnte.expired = f"{today - dt.timedelta(days=1):%d %B %Y}"
    expired = fonnte_adapter(fake_fonnte.url).check(CONTEXT)
    fake_fonnte.expired = f"{today + dt.timedelta(days=3):%d %B %Y}"
    soon = fonnte_adapter(fake_fonnte.url).check(CONTEXT)
    assert expired.verdict is Verdict.UNUSABLE
    assert expired.reason.startswith("the Fonnte package expired on")
    assert soon.verdict is Verdict.WARNING
    assert soon.reason.startswith("the Fonnte package expires on")


def test_fonnte_expiry_spellings():
    assert fonnte_expiry("18 November 2029") == dt.date(2029, 11, 18)
    assert fonnte_expiry("1707782400") == dt.date(2024, 2, 13)
    assert fonnte_expiry(1707782400) == dt.date(2024, 2, 13)
    assert fonnte_expiry("soon") is None and fonnte_expiry(None) is None


def test_fonnte_not_configured_is_unusable():
    finding = fonnte_adapter("https://api.fonnte.com", token=None).check(CONTEXT)
    assert finding.verdict is Verdict.UNUSABLE
    assert finding.reason == "Fonnte is not configured: set BRIDGE_FONNTE_TOKEN"


def test_fonnte_server_trouble_is_a_warning(fake_fonnte: FakeFonnte):
    fake_fonnte.fail_next(1, status=503, body="<html>maintenance</html>")
    finding = fonnte_adapter(fake_fonnte.url).check(CONTEXT)
    assert finding.verdict is Verdict.WARNING
    assert "503" in finding.reason
