"""The Telegram channel check against a fake Bot API."""

from __future__ import annotations

import pytest

from bridge.channels.base import CheckContext, Verdict
from bridge.channels.telegram import Adapter
from bridge.settings import Settings
from tests.fakes.server import free_port
from tests.fakes.telegram import DEFAULT_TOKEN, FakeTelegram

CHAT = "-1001000000000001"
BOT_ID = int(DEFAULT_TOKEN.split(":")[0])


def adapter_for(url: str, token: str | None = DEFAULT_TOKEN) -> Adapter:
    return Adapter(Settings(sandbox=False, telegram_api_url=url, telegram_bot_token=token))


def context(target: str = CHAT) -> CheckContext:
    return CheckContext(kind="telegram", target=target, opd_slug="distan", channel_id=7)


def assert_no_token(finding) -> None:
    text = finding.reason + repr(finding.details)
    assert DEFAULT_TOKEN not in text and DEFAULT_TOKEN.split(":")[1] not in text


def test_admin_bot_reads_the_group_and_is_ok(fake_telegram: FakeTelegram):
    fake_telegram.make_admin(CHAT)
    finding = adapter_for(fake_telegram.url).check(context())

    assert finding.verdict is Verdict.OK, finding.reason
    assert finding.reason == (
        "@wadule_bridge_bot is in the chat as an administrator and reads its messages"
    )
    assert finding.details == {
        "bot": "@wadule_bridge_bot",
        "can_read_all_group_messages": False,
        "chat_type": "supergroup",
        "member_status": "administrator",
    }
    calls = [(r.path.rsplit("/", 1)[1], r.json) for r in fake_telegram.requests]
    assert calls == [
        ("getMe", {}),
        ("getChat", {"chat_id": -1001000000000001}),
        ("getChatMember", {"chat_id": -1001000000000001, "user_id": BOT_ID}),
    ]
    assert fake_telegram.messages == []


def test_member_bot_with_privacy_off_is_ok(fake_telegram: FakeTelegram):
    fake_telegram.privacy_mode = False
    finding = adapter_for(fake_telegram.url).check(context())
    assert finding.verdict is Verdict.OK
    assert finding.reason == "@wadule_bridge_bot is in the chat as a member and reads its messages"
    assert finding.details["can_read_all_group_messages"] is True


def test_privacy_mode_without_admin_rights_is_a_warning_that_says_so(fake_telegram):
    # Forwarding works, but '#WDL-… terima' never reaches the bot: only replies to it do.
    finding = adapter_for(fake_telegram.url).check(context())
    assert finding.verdict is Verdict.WARNING
    assert finding.reason == (
        "@wadule_bridge_bot cannot read the group's messages: privacy mode is on and it is not"
        " an admin, so '#WDL-… terima' messages never reach the bridge (only replies to the"
        " bridge's own messages do); turn privacy off in @BotFather (/setprivacy, Disable) and"
        " add the bot to the group again, or make it an admin"
    )


def test_kicked_bot_is_unusable(fake_telegram: FakeTelegram):
    fake_telegram.kick(CHAT)
    finding = adapter_for(fake_telegram.url).check(context())
    assert finding.verdict is Verdict.UNUSABLE
    assert finding.reason == (
        "@wadule_bridge_bot cannot use the chat (Forbidden: bot was kicked from the supergroup"
        " chat): add it to the group again"
    )


def test_unknown_chat_is_unusable():
    with FakeTelegram(known_chats=["-1009"]) as telegram:
        finding = adapter_for(telegram.url).check(context())
    assert finding.verdict is Verdict.UNUSABLE
    assert finding.reason == (
        "Telegram knows no such chat for @wadule_bridge_bot: add the bot to the group, or fix"
        " the chat id in the directory"
    )


def test_bad_token_is_unusable_and_never_shown(fake_telegram: FakeTelegram):
    fake_telegram.token = "999:another"
    finding = adapter_for(fake_telegram.url).check(context())
    assert finding.verdict is Verdict.UNUSABLE
    assert finding.reason == (
        "Telegram does not accept the bot token: check BRIDGE_TELEGRAM_BOT_TOKEN"
    )
    assert_no_token(finding)


def test_restricted_bot_is_unusable(fake_telegram: FakeTelegram):
    fake_telegram.restrict(CHAT)
    finding = adapter_for(fake_telegram.url).check(context())
    assert finding.verdict is Verdict.UNUSABLE
    assert finding.reason == (
        "@wadule_bridge_bot may not send messages in the chat: lift the restriction"
    )


def test_migrated_group_is_checked_at_its_new_id_with_a_warning(fake_telegram):
    fake_telegram.migrate(CHAT, "-1002000000000002")
    fake_telegram.make_admin("-1002000000000002")
    finding = adapter_for(fake_telegram.url).check(context())
    assert finding.verdict is Verdict.WARNING
    assert finding.reason.startswith("the group became a supergroup with id -1002000000000002")
    assert fake_telegram.requests[-1].json["chat_id"] == -1002000000000002


@pytest.mark.parametrize(
    ("rights", "verdict"),
    [({"can_post_messages": True}, Verdict.OK), ({"can_post_messages": False}, Verdict.UNUSABLE)],
)
def test_channel_needs_an_admin_that_may_post(fake_telegram, rights, verdict):
    fake_telegram.chat_types["@dpupr_info"] = "channel"
    fake_telegram.make_admin("@dpupr_info", **rights)
    finding = adapter_for(fake_telegram.url).check(context("@dpupr_info"))
    assert finding.verdict is verdict, finding.reason
    assert fake_telegram.requests[1].json == {"chat_id": "@dpupr_info"}


def test_flood_wait_is_a_warning(fake_telegram: FakeTelegram):
    fake_telegram.fail_next(
        1,
        status=429,
        body={
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 5",
            "parameters": {"retry_after": 5},
        },
    )
    finding = adapter_for(fake_telegram.url).check(context())
    assert finding.verdict is Verdict.WARNING
    assert finding.reason == "Telegram answered 429 to getMe, so it could not be checked"


def test_unreachable_api_is_unusable_without_leaking_the_token_url():
    finding = adapter_for(f"http://127.0.0.1:{free_port()}").check(context())
    assert finding.verdict is Verdict.UNUSABLE
    assert finding.reason == "Telegram does not answer (the connection was refused)"
    assert_no_token(finding)


def test_not_configured_is_unusable():
    finding = adapter_for("https://api.telegram.org", token=None).check(context())
    assert finding.verdict is Verdict.UNUSABLE
    assert finding.reason == "Telegram is not configured: set BRIDGE_TELEGRAM_BOT_TOKEN"
